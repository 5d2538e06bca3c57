"""The robustness dataset (TFDS builder in robustness_dataset_builder.py)."""
