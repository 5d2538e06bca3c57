"""ADC2004: the ISMIR 2004 melody contest set, 20 clips at 44.1 kHz.

Splits: ``test`` = the 12 vocal clips singing-melody papers report on
(daisy1-4, opera_fem2, opera_fem4, opera_male3, opera_male5, pop1-4) and
``instrumental`` = the other 8 (jazz1-4, midi1-4). Audio is resampled to
16 kHz with librosa's 'polyphase' (scipy resample_poly): the authors'
published scores depend on it. References are <name>REF.txt (time, Hz).
"""

import functools

import tensorflow_datasets as tfds

from datasets_builders import common
from datasets_builders import manual_pairs
from datasets_builders import splits
from jaxmelody.frontend import pitch

VOCAL = splits.ADC2004_VOCAL
FULL_SIZE = 20
HOMEPAGE = 'http://labrosa.ee.columbia.edu/projects/melody/'


class Builder(common.MelodyBuilder):
  """ADC2004 clips with CFP features and targets."""

  EXTRA_SOURCES = (manual_pairs.__file__,)
  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'First release.'}
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  Download adc2004_full_set.zip (LabROSA,
  http://labrosa.ee.columbia.edu/projects/melody/), unzip it, and put the 20
  <name>.wav files and their <name>REF.txt references directly in the adc2004
  manual folder: <manual_root>/adc2004/daisy1.wav,
  <manual_root>/adc2004/daisy1REF.txt, ... (see config.data.manual_root).
  """

  def _info(self) -> tfds.core.DatasetInfo:
    return common.info(self, homepage=HOMEPAGE)

  def _split_generators(self, dl_manager):
    pairs = manual_pairs.labelled_pairs(self, dl_manager, 'REF.txt', FULL_SIZE,
                                        audio_glob='*.wav')
    return manual_pairs.test_and_rest(self, pairs, lambda i: i in VOCAL,
                                      'instrumental')

  def _generate_examples(self, pairs):
    read_labels = pitch.read_ref
    return self.examples(pairs.items(), functools.partial(
        common.encode_pair, read_labels=read_labels))
