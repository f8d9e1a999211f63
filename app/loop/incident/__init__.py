"""The incident itself: its stages, its stored state, who works on it, which repository it belongs
to (mapping, consent, per-repository config) and the agent scorecard over incidents."""
