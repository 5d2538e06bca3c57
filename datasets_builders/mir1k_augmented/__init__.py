"""The mir1k_augmented dataset (TFDS builder in mir1k_augmented_dataset_builder.py)."""
