"""Builds synthetic_melody from its 'tiny' config (generated, no dummy data)."""

from datasets_builders import testing
from datasets_builders.synthetic_melody import synthetic_melody_dataset_builder


class SyntheticMelodyTest(testing.BuilderTestCase):
  DATASET_CLASS = synthetic_melody_dataset_builder.Builder
  SPLITS = {'train': 4, 'validation': 2, 'test': 2}
  BUILDER_CONFIG_NAMES_TO_TEST = ['tiny']
