"""DenseNet ablation: dense10 with every dilation rate 1 (no multi-scale
context).

Command line::

  python run.py --config=configs/densenet.py --workdir=/tmp/densenet \
      --config.data.manual_root=../shared/data
  # with the final recipe (configs/dense10.py's 'all740'; Table III rows)
  python run.py --config=configs/densenet.py:all740 \
      --workdir=/tmp/densenet_all740 --config.data.manual_root=../shared/data

Expected scores: see README.
"""

import ml_collections

from configs import dense10


def get_config(recipe: str = '') -> ml_collections.ConfigDict:
  """Returns the densenet configuration with dense10's ``recipe``."""
  config = dense10.get_config(recipe)
  config.model.name = 'densenet'
  config.model.dilations = (1, 1, 1, 1, 1)
  return config
