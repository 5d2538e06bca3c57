"""A tiny model on a tiny synthetic set: seconds on a CPU, for tests and demos.

Command line::

  python run.py --config=configs/smoke.py --workdir=/tmp/smoke

Not a useful melody extractor: it checks that training, checkpoints,
validation and resumption work end to end.
"""

import ml_collections

from configs import dense10

# Changes to dense10's default recipe, {'section.field': value}.
SMOKE = {
    'model.name': 'smoke',
    'model.growth': 2,
    'model.dilations': (1, 2),
    'model.input_repeats': 1,
    'model.decoder_channels': (8, 4),
    'data.name': 'synthetic_melody',
    'data.synthetic_size': 8,  # 8 train clips, 1 validation, 1 test
    'data.crop_frames': 64,
    'data.read_threads': 2,
    'train.batch_size': 4,
    'train.num_steps': 20,
    'train.log_every_steps': 5,
    'train.checkpoint_every_steps': 10,
    'train.keep_checkpoints': 2,
    'eval.every_steps': 10,
    'eval.sets': (('synthetic_melody', 'test'),),
    'eval.pad_lengths': (128, 512),
}


def get_config() -> ml_collections.ConfigDict:
  """Returns the smoke-test configuration."""
  return dense10.apply_overrides(dense10.get_config(), SMOKE)
