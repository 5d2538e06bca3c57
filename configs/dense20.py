"""DenseASPP_20: dense10 with growth rate 20 (the paper's Table IV variant).

Command line::

  python run.py --config=configs/dense20.py --workdir=/tmp/dense20 \
      --config.data.manual_root=../shared/data

Expected scores: see README.
"""

import ml_collections

from configs import dense10


def get_config() -> ml_collections.ConfigDict:
  """Returns the dense20 configuration."""
  config = dense10.get_config()
  config.model.name = 'dense20'
  config.model.growth = 20
  return config
