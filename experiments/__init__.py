"""Experiments: one-off comparisons on validation data, run from the
repository root as ``python -m experiments.<name>``."""
