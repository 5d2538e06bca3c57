"""Builds adc2004 from its dummy_data/ (written by make_dummy_data.py)."""

from datasets_builders import testing
from datasets_builders.adc2004 import adc2004_dataset_builder


class Adc2004Test(testing.BuilderTestCase):
  DATASET_CLASS = adc2004_dataset_builder.Builder
  SPLITS = {'test': 2, 'instrumental': 1}  # daisy1, pop1 | jazz1
