"""DenseASPP_20: dense10 with growth rate 20 (the paper's Table IV variant).

Command line::

  python run.py --config=configs/dense20.py --workdir=/tmp/dense20 \
      --config.data.manual_root=../shared/data
  # with the final recipe (configs/dense10.py's 'all740'; Table III rows)
  python run.py --config=configs/dense20.py:all740 \
      --workdir=/tmp/dense20_all740 --config.data.manual_root=../shared/data

Expected scores: see README.
"""

import ml_collections

from configs import dense10


def get_config(recipe: str = '') -> ml_collections.ConfigDict:
  """Returns the dense20 configuration with dense10's ``recipe``."""
  config = dense10.get_config(recipe)
  config.model.name = 'dense20'
  config.model.growth = 20
  return config
