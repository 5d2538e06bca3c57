"""The mirex05 dataset (TFDS builder in mirex05_dataset_builder.py)."""
