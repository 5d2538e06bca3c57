"""DenseNet ablation: dense10 with every dilation rate 1 (no multi-scale
context).

Command line::

  python run.py --config=configs/densenet.py --workdir=/tmp/densenet \
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
  """Returns the densenet configuration."""
  config = _base()
  config.model.name = 'densenet'
  config.model.dilations = (1, 1, 1, 1, 1)
  return config
