"""Benchmarks of the reference gateway: `python -m bench` (see __main__)."""
