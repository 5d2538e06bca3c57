"""The mir1k dataset (TFDS builder in mir1k_dataset_builder.py)."""
