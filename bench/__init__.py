"""Benchmarks that start real processes and print their figures: `python -m bench`."""
