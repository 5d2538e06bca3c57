"""A tiny model on a tiny synthetic set: seconds on a CPU, for tests and demos.

Command line::

  python run.py --config=configs/smoke.py --workdir=/tmp/smoke

Not a useful melody extractor: it checks that training, checkpoints,
validation and resumption work end to end.
"""

import ml_collections

from configs import dense10


def get_config() -> ml_collections.ConfigDict:
  """Returns the smoke-test configuration."""
  config = dense10.get_config()
  config.model.name = 'smoke'
  config.model.growth = 2
  config.model.dilations = (1, 2)
  config.model.input_repeats = 1
  config.model.decoder_channels = (8, 4)

  config.data.name = 'synthetic_melody'
  config.data.synthetic_size = 8      # 8 train clips, 1 validation, 1 test
  config.data.crop_frames = 64
  config.data.read_threads = 2

  config.train.batch_size = 4
  config.train.num_steps = 20
  config.train.log_every_steps = 5
  config.train.checkpoint_every_steps = 10
  config.train.keep_checkpoints = 2

  config.eval.every_steps = 10
  config.eval.sets = (('synthetic_melody', 'test'),)
  config.eval.pad_lengths = (128, 512)
  return config
