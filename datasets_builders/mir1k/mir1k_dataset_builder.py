"""MIR-1K: 1000 karaoke clips with semitone pitch labels every 20 ms.

Splits (lists in ``datasets_builders/splits.py``): ``test`` = every clip of
the paper authors' test singers leon, yifen, stool, titon and tammy (260);
the authors' ``train`` (the other 740) is written as two disjoint splits,
``validation`` (the singers abjones and amy, held out for validation during
training) and ``fit`` (the other train singers), each in track-id order.
``train`` is the split expression ``validation+fit`` (the 740 clips,
validation singers first; ``jaxmelody.data.datasets.get_source`` accepts
``train`` for it). The singer is the file-name prefix before the first '_'.

A partial corpus builds the splits it has clips for: a folder of the train
singers alone (as carried to a training machine) gives a ``train`` split and
no ``test`` split, rather than an empty one.

The .pv labels come from 40 ms windows at a 20 ms hop without padding, so
line i is centred at 0.02 i + 0.02 s. Config ``centered`` (default) times
them there; config ``msfcn`` at 0.02 i + 0.01 s, the convention the authors'
published MIR-1K scores were computed with.
"""

import dataclasses
import functools

import tensorflow_datasets as tfds

from datasets_builders import common
from datasets_builders import splits
from jaxmelody.frontend import pitch

TEST_SINGERS = splits.MIR1K_TEST_SINGERS
VALIDATION_SINGERS = splits.MIR1K_VALIDATION_SINGERS
# The written splits, in the order ``train`` = validation+fit concatenates
# them.
SPLITS = ('validation', 'fit', 'test')
# Splits made of written splits.
UNIONS = {'train': ('validation', 'fit')}
FULL_TRAIN, FULL_TEST = 740, 260
LABEL_HOP_S = 0.02


@dataclasses.dataclass(eq=False)
class Mir1kConfig(tfds.core.BuilderConfig):
  """Label time convention: .pv line i is at ``0.02 i + label_offset_s``."""
  label_offset_s: float = 0.02


singer = splits.mir1k_singer


class Builder(common.MelodyBuilder):
  """MIR-1K mixtures (mono by channel mean) with CFP features and targets."""

  VERSION = tfds.core.Version('2.0.0')
  RELEASE_NOTES = {'1.0.0': 'First release.',
                   '2.0.0': 'train written as validation (abjones, amy) and '
                   'fit (the other train singers).'}
  BUILDER_CONFIGS = [
      Mir1kConfig(name='centered', label_offset_s=0.02,
                  description='.pv line i at 0.02 i + 0.02 s, the centre of '
                  'its 40 ms window (physically correct; default).'),
      Mir1kConfig(name='msfcn', label_offset_s=0.01,
                  description='.pv line i at 0.02 i + 0.01 s, the paper '
                  "authors' convention (reproduces their MIR-1K scores)."),
  ]
  DEFAULT_CONFIG_NAME = 'centered'
  UNIONS = UNIONS  # read by jaxmelody.data.datasets.get_source
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  Download MIR-1K (http://mirlab.org/dataset/public/MIR-1K.zip, research use
  only), unzip it, and put its Wavfile/ and PitchLabel/ folders in the mir1k
  manual folder (<manual_root>/mir1k/, see config.data.manual_root):
  <manual_root>/mir1k/Wavfile/<clip>.wav (or .flac, or .ogg/.opus as written
  by scripts/pack_for_device.py) and <manual_root>/mir1k/PitchLabel/<clip>.pv,
  1000 clips each. Stereo files are mixed to mono by the channel mean.
  """

  def _info(self) -> tfds.core.DatasetInfo:
    return common.info(self, homepage='http://mirlab.org/dataset/public/')

  def _split_generators(self, dl_manager):
    root = common.manual_dir(dl_manager, self.name,
                             self.MANUAL_DOWNLOAD_INSTRUCTIONS)
    pairs = common.pair_files(self.name, root / 'Wavfile', root / 'PitchLabel',
                              '.pv', self.MANUAL_DOWNLOAD_INSTRUCTIONS)
    common.warn_if_partial(self.name, len(pairs), FULL_TRAIN + FULL_TEST)
    ids = {split: [i for i in pairs if splits.mir1k_split(i) == split]
           for split in SPLITS}
    # Only splits with clips: TFDS cannot write a split of zero examples.
    return {split: self._generate_examples({i: pairs[i] for i in ids[split]})
            for split in SPLITS if ids[split]}

  def _generate_examples(self, pairs):
    read_labels = functools.partial(
        pitch.read_pv, hop_s=LABEL_HOP_S,
        offset_s=self.builder_config.label_offset_s)
    return self.examples(pairs.items(), functools.partial(
        common.encode_pair, read_labels=read_labels))
