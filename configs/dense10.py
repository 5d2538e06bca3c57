"""DenseASPP_10, the paper's main model, trained on MIR-1K ``train``.

Command line::

  python run.py --config=configs/dense10.py --workdir=/tmp/dense10 \
      --config.data.manual_root=../shared/data

Expected scores: see the README's reproduction section (figures are only
written there once measured).

This is the base config: every other config imports it and changes a few
fields.
"""

import ml_collections

from jaxmelody import default_config


def get_config() -> ml_collections.ConfigDict:
  """Returns the dense10 configuration (jaxmelody/default_config.py)."""
  return default_config.get_config()
