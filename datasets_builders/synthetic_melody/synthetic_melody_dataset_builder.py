"""synthetic_melody: generated singing mixtures with exact labels, no download.

Each clip comes from ``jaxmelody.data.synth.synthesize`` seeded with
``(config.seed, split number, clip index)``, so a config always yields the
same data and the splits never share a clip. The labels are the synthesizer's
exact f0 at the 16 ms frame times.
"""

import dataclasses
import functools

import tensorflow_datasets as tfds

from datasets_builders import common
from jaxmelody.data import synth

SPLITS = ('train', 'validation', 'test')


@dataclasses.dataclass(eq=False)
class SyntheticConfig(tfds.core.BuilderConfig):
  """Size and seed of a synthetic dataset."""
  num_train: int = 64
  num_validation: int = 8
  num_test: int = 8
  duration_s: float = 6.0
  seed: int = 0


def make_config(num_train: int, seed: int, duration_s: float = 6.0,
                num_eval: int | None = None) -> SyntheticConfig:
  """A config for ``num_train`` training clips; its name encodes its fields."""
  num_eval = max(1, num_train // 8) if num_eval is None else num_eval
  return SyntheticConfig(
      name=f'n{num_train}_e{num_eval}_d{duration_s:g}_s{seed}',
      description=f'{num_train} training clips, {num_eval} validation and '
      f'test clips each, {duration_s:g} s, seed {seed}.',
      num_train=num_train, num_validation=num_eval, num_test=num_eval,
      duration_s=duration_s, seed=seed)


class Builder(common.MelodyBuilder):
  """Synthetic mixtures with CFP features and exact targets."""

  VERSION = tfds.core.Version('1.0.0')
  # The generator is part of what the examples depend on (see
  # common.fingerprint).
  EXTRA_SOURCES = (synth.__file__,)
  RELEASE_NOTES = {'1.0.0': 'First release.'}
  BUILDER_CONFIGS = [
      SyntheticConfig(name='default', description='64 training clips, 8 '
                      'validation, 8 test, 6 s each, seed 0.'),
      SyntheticConfig(name='tiny', num_train=4, num_validation=2, num_test=2,
                      duration_s=1.0, seed=0,
                      description='8 clips of 1 s, for tests.'),
  ]
  DEFAULT_CONFIG_NAME = 'default'

  def _info(self) -> tfds.core.DatasetInfo:
    return common.info(self)

  def _split_generators(self, dl_manager):
    del dl_manager  # nothing to download
    cfg = self.builder_config
    sizes = (cfg.num_train, cfg.num_validation, cfg.num_test)
    return {split: self._generate_examples(number, size)
            for number, (split, size) in enumerate(zip(SPLITS, sizes))}

  def _generate_examples(self, split_number: int, size: int):
    cfg = self.builder_config
    return self.examples(range(size), functools.partial(
        _example, seed=cfg.seed, split_number=split_number,
        duration_s=cfg.duration_s))


def _example(index: int, *, seed: int, split_number: int, duration_s: float):
  """(key, example) of clip ``index`` of a split (picklable for Beam)."""
  clip = synth.synthesize((seed, split_number, index), duration_s)
  track_id = f'synth_{SPLITS[split_number]}_{index:05d}'
  return track_id, common.encode(track_id, clip.audio, None, clip.f0_hz)
