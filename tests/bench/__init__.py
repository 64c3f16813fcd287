"""Benchmarks of azjobs (not part of the test suite): ``python -m tests.bench``."""
