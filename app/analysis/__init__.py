"""Pure analysis: evidence in, verdict out. Never imports github/, rollouts/ or store/."""
