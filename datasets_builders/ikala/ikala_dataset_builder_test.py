"""Builds ikala from its dummy_data/ (written by make_dummy_data.py)."""

from datasets_builders import testing
from datasets_builders.ikala import ikala_dataset_builder


class IkalaTest(testing.BuilderTestCase):
  DATASET_CLASS = ikala_dataset_builder.Builder
  SPLITS = {'train': 2, 'test': 1}  # 10161_chorus, 10164_verse | 54242_verse
