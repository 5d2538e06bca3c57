"""The synthetic_melody dataset (TFDS builder in synthetic_melody_dataset_builder.py)."""
