"""Which weights eval, predict and the API run with, and their checks.

``resolve_variables`` turns ``--checkpoint`` (or its absence) into
{'params', 'batch_stats'}: a named checkpoint (a workdir, an orbax step
folder, a pretrained folder with ``variables.msgpack`` or the authors'
``.pkl``), else the workdir's latest step, else the bundled pretrained
model in ``PRETRAINED_DIR/<config.model.name>/``; several checkpoints
separated by commas are one model, their weight average
(``average_variables``). Whatever it loads must fit ``config.model``
exactly, or it says which array does not.
"""

import os
import pathlib
from typing import Any

import flax.serialization
from flax import traverse_util
import jax
import numpy as np

from jaxmelody import errors
from jaxmelody.model import network

PRETRAINED_DIR = pathlib.Path(__file__).resolve().parents[1] / 'pretrained'


def _check_fits(variables, model_config, source: str) -> dict[str, Any]:
  """Raises CheckpointError unless the variables fit ``model_config``."""
  if not isinstance(variables, dict) or 'params' not in variables:
    raise errors.CheckpointError(f'{source}: does not hold model parameters')
  variables = {'params': variables['params'],
               'batch_stats': variables.get('batch_stats', {})}
  model = network.create_model(model_config)
  expected = jax.eval_shape(
      lambda: network.init_variables(model, jax.random.PRNGKey(0), frames=16))
  want = {k: v.shape for k, v in traverse_util.flatten_dict(expected).items()}
  got = {k: np.shape(v)
         for k, v in traverse_util.flatten_dict(variables).items()}
  for key in sorted(set(want) | set(got)):
    if want.get(key) != got.get(key):
      raise errors.CheckpointError(
          f'{source}: does not fit config.model {model_config.name!r}'
          f' ({"/".join(key)}: checkpoint has {got.get(key)}, model needs '
          f'{want.get(key)})')
  return variables


def _workdir_has_checkpoint(workdir) -> bool:
  ckpt_dir = os.path.join(workdir, 'checkpoints')
  return os.path.isdir(ckpt_dir) and any(
      name.isdigit() for name in os.listdir(ckpt_dir))


def load_pretrained(directory) -> dict[str, Any]:
  """{'params', 'batch_stats'} (numpy) from a folder of export_pretrained.

  Raises:
    CheckpointError: no variables.msgpack there, or it cannot be decoded.
  """
  path = pathlib.Path(directory) / 'variables.msgpack'
  if not path.is_file():
    raise errors.CheckpointError(f'{path}: file does not exist')
  try:
    tree = flax.serialization.msgpack_restore(path.read_bytes())
    return {'params': tree['params'], 'batch_stats': tree['batch_stats']}
  except Exception as e:  # msgpack raises many types for damaged bytes
    raise errors.CheckpointError(f'{path}: corrupt pretrained model '
                                 f'({type(e).__name__}: {e})') from e


def _load(path: str):
  """Reads variables from any supported checkpoint path."""
  if os.path.isfile(path) and path.endswith('.pkl'):
    from jaxmelody.model import released_weights  # pylint: disable=g-import-not-at-top
    return released_weights.import_msfcn_checkpoint(path)
  if os.path.isfile(path) and os.path.basename(path) == 'variables.msgpack':
    return load_pretrained(os.path.dirname(path))
  if os.path.isdir(path):
    if os.path.isfile(os.path.join(path, 'variables.msgpack')):
      return load_pretrained(path)
    # Imported here: checkpoints pulls in orbax, optax and grain, which
    # predicting with a bundled or exported model does not need.
    from jaxmelody.training import checkpoints  # pylint: disable=g-import-not-at-top
    return checkpoints.restore_variables(path)
  raise errors.CheckpointError(
      f'{path}: not a checkpoint (expected a workdir, a checkpoint folder, a '
      'folder with variables.msgpack or the authors\' .pkl)')


def average_variables(trees) -> dict[str, Any]:
  """The leaf-wise mean of variable trees of one architecture.

  The weight average of a run's last checkpoints (e.g. those of its
  learning-rate decay): parameters and BatchNorm statistics alike.
  """
  return jax.tree.map(lambda *leaves: np.mean(np.stack(leaves), axis=0),
                      *trees)


def resolve_variables(checkpoint, config, workdir=None) -> dict[str, Any]:
  """Finds the weights eval/predict should use.

  Args:
    checkpoint: a workdir, an orbax checkpoint folder, a pretrained-style
      folder (variables.msgpack), the authors' ``.pkl``, several of those
      separated by commas (their weight average), or None/'' for the
      workdir's latest checkpoint, else the bundled pretrained model.
    config: the full config (``config.model`` decides the architecture).
    workdir: the run's workdir, or None.

  Returns:
    {'params', 'batch_stats'} that fit ``config.model``.

  Raises:
    errors.CheckpointError: nothing found, unreadable, or the wrong model.
  """
  if checkpoint:
    paths = os.fspath(checkpoint).split(',')
    for path in paths:
      if not os.path.exists(path):
        raise errors.CheckpointError(f'{path}: checkpoint does not exist')
    trees = [_check_fits(_load(path), config.model, path) for path in paths]
    return trees[0] if len(trees) == 1 else average_variables(trees)
  if workdir and _workdir_has_checkpoint(workdir):
    return _check_fits(_load(os.fspath(workdir)), config.model, workdir)
  bundled = PRETRAINED_DIR / str(config.model.name)
  if (bundled / 'variables.msgpack').is_file():
    return _check_fits(_load(str(bundled)), config.model, str(bundled))
  where = f'{workdir} holds no checkpoint and ' if workdir else ''
  raise errors.CheckpointError(
      f'--checkpoint: {where}there is no bundled pretrained model for '
      f'config.model.name={config.model.name!r} ({bundled}); pass '
      '--checkpoint=<workdir, checkpoint folder or the authors\' .pkl>')
