"""Builds mirex05 from its dummy_data/ (written by make_dummy_data.py)."""

from datasets_builders import testing
from datasets_builders.mirex05 import mirex05_dataset_builder


class Mirex05Test(testing.BuilderTestCase):
  DATASET_CLASS = mirex05_dataset_builder.Builder
  SPLITS = {'test': 1, 'other': 1}  # train01 | train13 (train13MIDI.wav)
