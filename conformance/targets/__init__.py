"""Deployments the suite can run against: `reference` (default) and `kubernetes`."""
