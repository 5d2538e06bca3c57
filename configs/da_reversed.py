"""Dilation-order ablation: dense10 with the rates reversed, 24-18-12-6-3.

Command line::

  python run.py --config=configs/da_reversed.py --workdir=/tmp/da_reversed \
      --config.data.manual_root=../shared/data

Expected scores: see README.
"""

import importlib.util
import pathlib

import ml_collections


def _base() -> ml_collections.ConfigDict:
  """dense10's config, loaded by path so this works from any directory."""
  path = pathlib.Path(__file__).resolve().with_name('dense10.py')
  spec = importlib.util.spec_from_file_location('_jaxmelody_dense10', path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


def get_config() -> ml_collections.ConfigDict:
  """Returns the da_reversed configuration."""
  config = _base()
  config.model.name = 'da_reversed'
  config.model.dilations = (24, 18, 12, 6, 3)
  return config
