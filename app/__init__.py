"""Fixloop: closes the loop between a failed Argo Rollouts canary and its reviewed fix."""

__version__ = "0.1.0"
