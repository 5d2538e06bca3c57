"""Dilation-order ablation: dense10 with the rates reversed, 24-18-12-6-3.

Trained with any of dense10's recipes (``configs/da_reversed.py:all740``
and so on); configs/dense10.py's docstring lists them with the command
lines and the expected scores.
"""

import ml_collections

from configs import dense10


def get_config(recipe: str = '') -> ml_collections.ConfigDict:
  """Returns the da_reversed configuration with dense10's ``recipe``."""
  config = dense10.get_config(recipe)
  config.model.update(name='da_reversed', dilations=(24, 18, 12, 6, 3))
  return config
