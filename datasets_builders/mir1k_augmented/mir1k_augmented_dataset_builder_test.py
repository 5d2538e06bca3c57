"""Builds mir1k_augmented from mir1k's dummy_data (the folder it reads)."""

import pathlib

from datasets_builders import testing
from datasets_builders.mir1k_augmented import mir1k_augmented_dataset_builder as ab


class Mir1kAugmentedTest(testing.BuilderTestCase):
  DATASET_CLASS = ab.Builder
  BUILDER_CONFIG_NAMES_TO_TEST = ['tiny']
  EXAMPLE_DIR = str(pathlib.Path(ab.__file__).parents[1] / 'mir1k'
                    / 'dummy_data')
  # 2 copies of abjones_1_01, amy_2_03 | of bobon_1_01 | 2 accompaniments
  SPLITS = {'validation': 4, 'fit': 2, 'no_melody': 2}
  UNVOICED_SPLITS = ('no_melody',)
