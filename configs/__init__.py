"""Experiment configs: each module defines only get_config()."""
