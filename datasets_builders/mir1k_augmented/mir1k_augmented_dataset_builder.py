"""mir1k_augmented: MIR-1K train clips under drawn real-world conditions.

Training material for the robustness recipe (README, "Choosing on
robustness validation"), built ahead so that augmentation costs training
no throughput:

- ``validation`` and ``fit``: ``copies`` renderings of each MIR-1K train
  clip (of the validation singers and of the other train singers), each
  under one or two conditions of ``jaxmelody.data.augment`` drawn from the
  config's seed, the copy number and the track id. The seed differs from
  the ``robustness`` validation set's, so the draws are independent. Track
  ids are ``copy<k>_<clip>``: in the stored (track-id) order every clip's
  copy 0 comes before any copy 1, so a training mixture that takes the
  first N examples (``input_pipeline.Mixture``) gets one copy of each clip.
  ``train`` is ``validation+fit``.
- ``no_melody``: accompaniments of synthetic clips without their voice
  (other seeds than ``robustness``'s), labelled no melody. Unlike the
  ``robustness`` no-melody part it holds no speech: speech stays a family
  that validation sees and training does not.
"""

import dataclasses
import functools

import numpy as np
import tensorflow_datasets as tfds

from datasets_builders import common
from datasets_builders import splits
from datasets_builders.mir1k import mir1k_dataset_builder as mir1k
from datasets_builders.robustness import robustness_dataset_builder as robust
from jaxmelody.data import augment
from jaxmelody.data import synth
from jaxmelody.frontend.feature_config import FEATURES

SPLITS = ('validation', 'fit', 'no_melody')
UNIONS = {'train': ('validation', 'fit')}


@dataclasses.dataclass(eq=False)
class AugmentedConfig(tfds.core.BuilderConfig):
  """Seed and number of the renderings, size of the no-melody part.

  Attributes:
    seed: seed of the degradations and of the no-melody clips.
    copies: degraded copies of each MIR-1K train clip.
    num_no_melody: clips in the ``no_melody`` split.
    duration_s: length of a no-melody clip, in seconds.
  """
  seed: int = 1
  copies: int = 2
  num_no_melody: int = 64
  duration_s: float = 8.0


class Builder(common.MelodyBuilder):
  """Degraded copies of MIR-1K train clips and no-melody clips."""

  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'First release.'}
  EXTRA_SOURCES = (augment.__file__, synth.__file__, mir1k.__file__,
                   robust.__file__, splits.__file__)
  MANUAL_NAME = 'mir1k'  # reads MIR-1K's corpus folder
  MANUAL_DOWNLOAD_INSTRUCTIONS = mir1k.Builder.MANUAL_DOWNLOAD_INSTRUCTIONS
  UNIONS = UNIONS
  BUILDER_CONFIGS = [
      AugmentedConfig(name='default', description='2 copies of each of the '
                      '740 train clips, 64 no-melody clips of 8 s, seed 1.'),
      AugmentedConfig(name='tiny', copies=2, num_no_melody=2, duration_s=2.0,
                      description='For tests.'),
  ]
  DEFAULT_CONFIG_NAME = 'default'

  def _info(self) -> tfds.core.DatasetInfo:
    return common.info(self)

  def _split_generators(self, dl_manager):
    _, pairs = robust.mir1k_pairs(dl_manager, self.name)
    cfg = self.builder_config
    out = {}
    for split in ('validation', 'fit'):
      items = [(f'copy{k}_{i}', pairs[i]) for k in range(cfg.copies)
               for i in pairs if splits.mir1k_split(i) == split]
      if items:  # TFDS cannot write a split of zero examples
        out[split] = self._generate_examples(split, items)
    out['no_melody'] = self._generate_examples(
        'no_melody', list(range(cfg.num_no_melody)))
    return out

  def _generate_examples(self, split: str, items):
    cfg = self.builder_config
    if split == 'no_melody':
      make = functools.partial(_no_melody_example, seed=cfg.seed,
                               duration_s=cfg.duration_s)
    else:
      make = functools.partial(robust.degraded_example, seed=cfg.seed)
    return self.examples(items, make)


def _no_melody_example(index: int, *, seed: int, duration_s: float):
  track_id = f'accompaniment_{index:03d}'
  samples = robust.accompaniment(seed, index, duration_s)
  return track_id, common.encode(track_id, samples, None,
                                 np.zeros(FEATURES.n_frames(len(samples))))
