"""DenseNet ablation: dense10 with every dilation rate 1 (no multi-scale
context).

Recipes, command lines and expected scores: configs/dense10.py's docstring
(the recipe follows ':', as in ``--config=configs/densenet.py:all740``).
"""

import ml_collections

from configs import dense10

# dense10's dilation rates, every one 1.
DILATIONS = (1, 1, 1, 1, 1)


def get_config(recipe: str = '') -> ml_collections.ConfigDict:
  """Returns the densenet configuration with dense10's ``recipe``."""
  config = dense10.get_config(recipe)
  return dense10.apply_overrides(
      config, {'model.name': 'densenet', 'model.dilations': DILATIONS})
