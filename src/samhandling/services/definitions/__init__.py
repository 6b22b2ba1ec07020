"""The write rule that keeps the shipped definitions (`definitions/`) read-only."""
