"""Benchmarks: timings and measurements, run from the repository root as
``python -m benchmarks.<name>``; ``report`` holds what they share."""
