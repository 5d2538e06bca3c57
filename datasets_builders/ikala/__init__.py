"""The ikala dataset (TFDS builder in ikala_dataset_builder.py)."""
