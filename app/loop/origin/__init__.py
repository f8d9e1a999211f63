"""Where each side of the canary came from: the commits the images were built from, and the suspects."""
