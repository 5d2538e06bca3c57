"""The adc2004 dataset (TFDS builder in adc2004_dataset_builder.py)."""
