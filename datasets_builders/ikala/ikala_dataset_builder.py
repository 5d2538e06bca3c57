"""iKala: 252 30 s karaoke excerpts, music left, voice right, 44.1 kHz.

The mixture is the channel mean (as MIR-1K). PitchLabel/<clip>.pv holds one
semitone value per 32 ms (0 = unvoiced); line i is timed at 0.032 i + 0.016 s,
the centre of its 32 ms hop, the convention of mirdata's iKala loader (the
iKala readme gives the 32 ms resolution but no frame offset). Splits:
``test`` = the 52 clips of the paper authors' published iKala results,
``train`` = the other 200. Audio is resampled to 16 kHz with 'polyphase'.
"""

import functools

import tensorflow_datasets as tfds

from datasets_builders import common
from datasets_builders import manual_pairs
from jaxmelody.frontend import pitch

LABEL_HOP_S = 0.032
LABEL_OFFSET_S = 0.016
FULL_TRAIN, FULL_TEST = 200, 52
# The clips of the authors' test_result_of_IK_test.csv.
TEST = tuple('''
    54242_verse 54243_chorus 54243_verse 54245_chorus 54245_verse
    54246_chorus 54246_verse 54247_verse 54249_chorus 54249_verse
    54251_verse 61647_chorus 61647_verse 61670_verse 61671_chorus
    61671_verse 61673_verse 61674_verse 61676_chorus 61677_chorus
    66556_chorus 66556_verse 66557_chorus 66558_verse 66559_chorus
    66559_verse 66560_verse 66561_chorus 66563_chorus 66563_verse
    66564_verse 66565_verse 66566_verse 71706_verse 71710_chorus 71710_verse
    71711_chorus 71711_verse 71712_verse 71716_chorus 71719_chorus
    71719_verse 71720_chorus 71720_verse 71723_verse 71726_chorus
    80612_verse 80614_verse 80616_verse 90586_chorus 90586_verse 90587_verse
'''.split())


class Builder(common.MelodyBuilder):
  """iKala mixtures with CFP features and targets."""

  EXTRA_SOURCES = (manual_pairs.__file__,)
  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'First release.'}
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  iKala (http://mac.citi.sinica.edu.tw/ikala/) is no longer distributed; if
  you have it, put its Wavfile/ and PitchLabel/ folders in the ikala manual
  folder: <manual_root>/ikala/Wavfile/<clip>.wav and
  <manual_root>/ikala/PitchLabel/<clip>.pv, 252 clips each (see
  config.data.manual_root).
  """

  def _info(self) -> tfds.core.DatasetInfo:
    return common.info(self, homepage='http://mac.citi.sinica.edu.tw/ikala/')

  def _split_generators(self, dl_manager):
    pairs = manual_pairs.labelled_pairs(
        self, dl_manager, '.pv', FULL_TRAIN + FULL_TEST,
        audio_dir='Wavfile', label_dir='PitchLabel')
    return manual_pairs.test_and_rest(self, pairs, TEST.__contains__, 'train')

  def _generate_examples(self, pairs):
    read_labels = functools.partial(pitch.read_pv, hop_s=LABEL_HOP_S,
                                    offset_s=LABEL_OFFSET_S)
    return self.examples(pairs.items(), functools.partial(
        common.encode_pair, read_labels=read_labels))
