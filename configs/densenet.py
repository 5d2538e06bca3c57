"""DenseNet ablation: dense10 with every dilation rate 1 (no multi-scale
context).

Command line::

  python run.py --config=configs/densenet.py --workdir=/tmp/densenet \
      --config.data.manual_root=../shared/data

Expected scores: see README.
"""

import ml_collections

from configs import dense10


def get_config() -> ml_collections.ConfigDict:
  """Returns the densenet configuration."""
  config = dense10.get_config()
  config.model.name = 'densenet'
  config.model.dilations = (1, 1, 1, 1, 1)
  return config
