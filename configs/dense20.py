"""DenseASPP_20: dense10 with growth rate 20 (the paper's Table IV variant).

Command line::

  python run.py --config=configs/dense20.py --workdir=/tmp/dense20 \
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
  """Returns the dense20 configuration."""
  config = _base()
  config.model.name = 'dense20'
  config.model.growth = 20
  return config
