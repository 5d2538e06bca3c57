"""MIREX05: the 13 public clips of the MIREX 2005 melody training set.

Files: train01.wav ... train13MIDI.wav (train13's audio carries a MIDI suffix)
with references train01REF.txt ... train13REF.txt (time, Hz) at a 10 ms hop.
Splits: ``test`` = train01-train09, the clips singing-melody papers report on
(the paper authors also used them to pick their epoch), and ``other`` =
train10-train13. TFDS reserves the split name ``all``: reading split 'all'
gives all 13 clips. Audio is resampled to 16 kHz with 'polyphase'.
"""

import functools
import re

import tensorflow_datasets as tfds

from datasets_builders import common
from datasets_builders import manual_pairs
from jaxmelody.frontend import pitch

TEST = tuple(f'train{i:02d}' for i in range(1, 10))
FULL_SIZE = 13
HOMEPAGE = 'http://labrosa.ee.columbia.edu/projects/melody/'  # ADC2004's


def track_id(stem: str) -> str:
  """'train13MIDI' -> 'train13': the id the reference file is named after."""
  match = re.fullmatch(r'(train\d+)(MIDI)?', stem)
  return match.group(1) if match else stem


class Builder(common.MelodyBuilder):
  """MIREX05 clips with CFP features and targets."""

  EXTRA_SOURCES = (manual_pairs.__file__,)
  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'First release.'}
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  Get the MIREX05 melody training set (13 clips, LabROSA,
  http://labrosa.ee.columbia.edu/projects/melody/) and put its files directly
  in the mirex05 manual folder: <manual_root>/mirex05/train01.wav ...
  train12.wav, train13MIDI.wav and train01REF.txt ... train13REF.txt (see
  config.data.manual_root).
  """

  def _info(self) -> tfds.core.DatasetInfo:
    return common.info(self, homepage=HOMEPAGE)

  def _split_generators(self, dl_manager):
    pairs = manual_pairs.labelled_pairs(self, dl_manager, 'REF.txt', FULL_SIZE,
                                        audio_glob='train*.wav',
                                        audio_id=track_id)
    return manual_pairs.test_and_rest(self, pairs, TEST.__contains__, 'other')

  def _generate_examples(self, pairs):
    return self.examples(pairs.items(), functools.partial(
        common.encode_pair, read_labels=pitch.read_ref))
