"""DenseASPP_20: dense10 with growth rate 20 (the paper's Table IV variant).

Takes dense10's recipes after ':' (``--config=configs/dense20.py:all740``);
see configs/dense10.py's docstring for them, the command lines and scores.
"""

import ml_collections

from configs import dense10


def get_config(recipe: str = '') -> ml_collections.ConfigDict:
  """Returns the dense20 configuration with dense10's ``recipe``."""
  return dense10.apply_overrides(dense10.get_config(recipe), {
      'model.name': 'dense20', 'model.growth': 20})
