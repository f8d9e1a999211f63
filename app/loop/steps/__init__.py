"""The steps of the loop: a failure, its analysis, the hand-off, the fix's pull request, its
deployment and redeploy, the verdict, the soak, timeouts and reopening."""
