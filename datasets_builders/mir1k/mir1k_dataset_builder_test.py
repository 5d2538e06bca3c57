"""Builds mir1k from its dummy_data/ (written by make_dummy_data.py)."""

from datasets_builders import testing
from datasets_builders.mir1k import mir1k_dataset_builder


class Mir1kTest(testing.BuilderTestCase):
  DATASET_CLASS = mir1k_dataset_builder.Builder
  # abjones, amy | bobon | leon, yifen
  SPLITS = {'validation': 2, 'fit': 1, 'test': 2}
