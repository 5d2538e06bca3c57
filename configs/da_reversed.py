"""Dilation-order ablation: dense10 with the rates reversed, 24-18-12-6-3.

Command line::

  python run.py --config=configs/da_reversed.py --workdir=/tmp/da_reversed \
      --config.data.manual_root=../shared/data
  # with the final recipe (configs/dense10.py's 'all740'; Table III rows)
  python run.py --config=configs/da_reversed.py:all740 \
      --workdir=/tmp/da_reversed_all740 --config.data.manual_root=../shared/data

Expected scores: see README.
"""

import ml_collections

from configs import dense10


def get_config(recipe: str = '') -> ml_collections.ConfigDict:
  """Returns the da_reversed configuration with dense10's ``recipe``."""
  config = dense10.get_config(recipe)
  config.model.name = 'da_reversed'
  config.model.dilations = (24, 18, 12, 6, 3)
  return config
