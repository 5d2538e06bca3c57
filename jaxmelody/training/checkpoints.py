"""Training checkpoints (orbax) and the portable pretrained-model format.

A training run keeps ``<workdir>/checkpoints/<step>/`` folders, each an orbax
composite of ``state`` (the whole TrainState: params, batch_stats, optimizer
state, step) and ``data`` (the grain iterator position, one JSON file per
process), so a resumed run continues with exactly the next batch. The latest
``keep_checkpoints`` steps survive, and so does the step with the best
validation OA (both orbax preservation policies at once).

A pretrained model is a plain folder: ``variables.msgpack`` (flax
serialization of {'params', 'batch_stats'}), ``config.json`` and
``info.json`` (git commit, scores); it needs neither orbax nor the optimizer.
"""

import datetime
import json
import pathlib
import subprocess
from typing import Any

import flax.serialization
import grain
import jax
import numpy as np
import optax
import orbax.checkpoint as ocp
from orbax.checkpoint import checkpoint_managers as policies

from jaxmelody import atomic
from jaxmelody.errors import CheckpointError
from jaxmelody.errors import ConfigError
# Reading a bundled model is inference.weights.load_pretrained: predicting
# imports it without this module's orbax/optax/grain.

_BEST_METRIC = 'OA'


def _best_metric(metrics) -> float:
  return float(metrics[_BEST_METRIC])


class TrainCheckpoints:
  """The orbax CheckpointManager of one training workdir."""

  def __init__(self, workdir, train_config, *, create: bool = True):
    self.directory = pathlib.Path(workdir).absolute() / 'checkpoints'
    keep = policies.AnyPreservationPolicy([
        policies.LatestN(n=int(train_config.keep_checkpoints)),
        # Checkpoints saved without validation metrics are only kept while
        # they are among the latest.
        policies.BestN(get_metric_fn=_best_metric, n=1,
                       keep_checkpoints_without_metrics=False)])
    options = ocp.CheckpointManagerOptions(
        best_fn=_best_metric, best_mode='max',  # makes orbax store metrics
        preservation_policy=keep, cleanup_tmp_directories=create, create=create)
    self.manager = ocp.CheckpointManager(self.directory, options=options)

  def latest_step(self) -> int | None:
    return self.manager.latest_step()

  def best_step(self) -> int | None:
    return self.manager.best_step()

  def save(self, step: int, state, batches, metrics=None) -> None:
    """Starts an (asynchronous) save of the state and the data position.

    Args:
      step: Training step (the folder name).
      state: TrainState (global, replicated arrays).
      batches: ``input_pipeline.TrainBatches`` in use.
      metrics: Validation means ({'OA': ...}) or None when not validated.
    """
    self.manager.save(step, args=ocp.args.Composite(
        state=ocp.args.StandardSave(state),
        data=grain.checkpoint.CheckpointSave(batches.grain_iterator)),
                      metrics=metrics, force=True)

  def restore_latest(self, state, batches):
    """(state, step) from the latest checkpoint, or (state, 0) if none.

    ``state`` is the freshly initialized TrainState: its shapes, dtypes and
    shardings tell orbax how to lay out the restored arrays. ``batches`` is
    moved to the saved position in place.
    """
    step = self.manager.latest_step()
    if step is None:
      return state, 0
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, state)
    try:
      restored = self.manager.restore(step, args=ocp.args.Composite(
          state=ocp.args.StandardRestore(abstract),
          data=grain.checkpoint.CheckpointRestore(batches.grain_iterator)))
    except Exception as e:  # orbax raises many types for unreadable files
      raise CheckpointError(
          f'{self.directory / str(step)}: cannot resume from this checkpoint '
          f'({type(e).__name__}: {e}); delete it to resume from an earlier '
          'one') from e
    return restored['state'], step

  def close(self) -> None:
    """Waits for pending saves to finish."""
    self.manager.wait_until_finished()
    self.manager.close()


def step_folder(path: pathlib.Path) -> pathlib.Path:
  """The step folder meant by a workdir, checkpoints folder or step folder."""
  if (path / 'checkpoints').is_dir():
    path = path / 'checkpoints'
  if (path / 'state').is_dir():
    return path
  steps = [int(p.name) for p in path.iterdir()
           if p.name.isdigit() and (p / 'state').is_dir()] if (
               path.is_dir()) else []
  if not steps:
    raise CheckpointError(
        f'{path}: holds no checkpoint (expected a training workdir, its '
        'checkpoints folder or one step folder in it)')
  return path / str(max(steps))


def _restore_raw(folder: pathlib.Path) -> dict[str, Any]:
  """A step folder's whole TrainState as nested dicts/lists of numpy arrays."""
  folder = folder.absolute()  # orbax finds no metadata under relative paths
  try:
    checkpointer = ocp.PyTreeCheckpointer()
    meta = checkpointer.metadata(folder / 'state').item_metadata.tree
    # Restore as host numpy arrays: the training mesh may not exist here.
    restore_args = jax.tree.map(
        lambda _: ocp.RestoreArgs(restore_type=np.ndarray), meta)
    return checkpointer.restore(folder / 'state', args=ocp.args.PyTreeRestore(
        restore_args=restore_args))
  except Exception as e:  # orbax raises many types for unreadable files
    raise CheckpointError(f'{folder}: corrupt or unreadable checkpoint '
                          f'({type(e).__name__}: {e})') from e


def _find(tree, keys: set[str]):
  """The first dict in a raw optimizer state that has all ``keys``."""
  if isinstance(tree, dict):
    if keys <= tree.keys():
      return tree
    tree = list(tree.values())
  for child in tree if isinstance(tree, (list, tuple)) else ():
    found = _find(child, keys)
    if found is not None:
      return found
  return None


def restore_variables(path) -> dict[str, Any]:
  """{'params', 'batch_stats'} as numpy arrays from a training checkpoint.

  The params are the moving average when the run kept one (its validation,
  hence the choice of the best step, used the average too).

  Args:
    path: A workdir, its ``checkpoints`` folder (latest step is used) or one
      step folder.

  Raises:
    CheckpointError: nothing there, or the files cannot be read.
  """
  tree = _restore_raw(step_folder(pathlib.Path(path)))
  ema = _find(tree['opt_state'], {'ema'})
  return {'params': ema['ema'] if ema else tree['params'],
          'batch_stats': tree['batch_stats']}


def restore_branch(path, state, batches):
  """(state, step) of a new run that continues another run's checkpoint.

  Params, BatchNorm statistics, Adam's moments, the step and the data
  position come from the checkpoint; the rest of the optimizer state is what
  a run of the new recipe would hold at that step: every optax ``count`` is
  the step (schedules are functions of the global step) and a moving average
  the run did not keep starts at the params.

  Args:
    path: A workdir, its checkpoints folder or a step folder of the run to
      continue (``config.train.init_from``); the model must be the same.
    state: The freshly initialized TrainState of the new run.
    batches: ``input_pipeline.TrainBatches``, moved to the saved position.

  Raises:
    CheckpointError: no readable checkpoint, or one of another model.
  """
  folder = step_folder(pathlib.Path(path))
  raw = _restore_raw(folder)
  host = jax.tree.map(np.asarray, jax.device_get(state))
  for name in ('params', 'batch_stats'):
    mine = jax.tree.map(np.shape, getattr(host, name))
    theirs = jax.tree.map(np.shape, raw[name])
    if mine != theirs:
      raise CheckpointError(
          f'config.train.init_from: {folder} holds {name} of another model '
          '(the shapes differ from this config\'s)')
  step = int(raw['step'])
  adam = _find(raw['opt_state'], {'count', 'mu', 'nu'})
  ema = _find(raw['opt_state'], {'ema'})
  if adam is None:
    raise CheckpointError(f'config.train.init_from: {folder} holds no Adam '
                          'state')
  values = {'count': np.asarray(step, np.int32), 'mu': adam['mu'],
            'nu': adam['nu']}
  if optax.tree_utils.tree_get(host.opt_state, 'ema') is not None:
    values['ema'] = ema['ema'] if ema else raw['params']
  opt_state = optax.tree_utils.tree_set(host.opt_state, **values)
  host = host.replace(step=step, params=raw['params'],
                      batch_stats=raw['batch_stats'], opt_state=opt_state)
  state = jax.tree.map(
      lambda new, old: jax.device_put(np.asarray(new, old.dtype),
                                      old.sharding), host, state)
  manager = ocp.CheckpointManager(folder.parent, options=(
      ocp.CheckpointManagerOptions(read_only=True)))
  try:
    manager.restore(step, args=ocp.args.Composite(
        data=grain.checkpoint.CheckpointRestore(batches.grain_iterator)))
  except Exception as e:  # orbax raises many types for unreadable files
    raise CheckpointError(f'{folder}: cannot read its data position '
                          f'({type(e).__name__}: {e})') from e
  finally:
    manager.close()
  return state, step


def _git_commit() -> str | None:
  try:
    return subprocess.run(
        ['git', 'rev-parse', 'HEAD'], capture_output=True, text=True,
        check=True, cwd=pathlib.Path(__file__).resolve().parent,
        timeout=10).stdout.strip() or None
  except (OSError, subprocess.SubprocessError):
    return None


STARTS_FILE = 'starts.jsonl'


def record_start(workdir, step: int) -> None:
  """Appends {'step', 'git_commit', 'time'} to ``<workdir>/starts.jsonl``.

  One line per start or resume: which code trained which steps (a run that
  outlives a session is resumed by later commits).
  """
  line = {'step': int(step), 'git_commit': _git_commit(),
          'time': datetime.datetime.now(datetime.timezone.utc).isoformat(
              timespec='seconds')}
  with open(pathlib.Path(workdir) / STARTS_FILE, 'a', encoding='utf-8') as f:
    f.write(json.dumps(line) + '\n')


def read_starts(workdir) -> list[dict[str, Any]]:
  """The lines ``record_start`` wrote ([] if none)."""
  path = pathlib.Path(workdir) / STARTS_FILE
  if not path.is_file():
    return []
  return [json.loads(l) for l in path.read_text(encoding='utf-8').splitlines()
          if l.strip()]


def export_pretrained(variables, config, out_dir, scores=None) -> None:
  """Writes a pretrained-model folder (see the module docstring).

  The folder is written beside ``out_dir`` and renamed into place, so an
  interruption or a full disk leaves the earlier model whole (predict loads
  the bundled folder).

  Args:
    variables: {'params', 'batch_stats'} (numpy or jax arrays).
    config: The full ConfigDict the model was trained with.
    out_dir: Folder to create, or to replace if it holds a model folder's
      files only.
    scores: Optional JSON-able evaluation results to record in info.json.

  Raises:
    ConfigError: ``out_dir`` holds other files than a model folder's.
  """
  host = jax.tree.map(np.asarray, {'params': variables['params'],
                                   'batch_stats': variables['batch_stats']})
  info = {'git_commit': _git_commit(), 'scores': scores,
          'created': datetime.datetime.now(datetime.timezone.utc).isoformat()}
  files = {'variables.msgpack': lambda: flax.serialization.to_bytes(host),
           'config.json': lambda: config.to_json_best_effort(
               indent=2).encode(),
           'info.json': lambda: json.dumps(info, indent=2).encode()}
  out = pathlib.Path(out_dir)
  if out.exists() and (not out.is_dir() or set(
      p.name for p in out.iterdir()) - set(files)):
    raise ConfigError(
        f'{out_dir}: not replaced, it holds other files than a model '
        f'folder ({", ".join(files)}); name a new folder')
  with atomic.atomic_folder(out) as new:
    for name, content in files.items():
      (new / name).write_bytes(content())
