"""Schedule rules for the dev server: spec evaluation, overlap policies, jitter and fire planning."""
