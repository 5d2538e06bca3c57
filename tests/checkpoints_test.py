"""Tests of training checkpoints, resumption and the pretrained format.

Run as a script (``python tests/checkpoints_test.py WORKDIR``) this file is
the small training job that the kill -9 test interrupts and resumes.
"""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from jaxmelody.data import input_pipeline
from jaxmelody.errors import CheckpointError
from jaxmelody.errors import ConfigError
from jaxmelody.inference import weights
from jaxmelody.training import checkpoints

ROOT = pathlib.Path(__file__).resolve().parents[1]
KILL_RUN_STEPS = 40


def _batches():
  clips = [{'cfp': np.full((3, 256, 20), i, np.float32),
            'target': np.full(20, i, np.int32)} for i in range(5)]
  sharding = jax.sharding.NamedSharding(
      jax.sharding.Mesh(np.asarray(jax.devices()), ('data',)),
      jax.sharding.PartitionSpec('data'))
  return input_pipeline.TrainBatches(clips, batch_size=2, crop_frames=8,
                                     seed=0, sharding=sharding,
                                     read_threads=1)


def _state(value: float):
  return {'params': {'w': jnp.full((3,), value)},
          'batch_stats': {'mean': jnp.full((2,), -value)},
          'opt_state': {'mu': jnp.zeros(3)}, 'step': jnp.int32(value)}


def _manager(workdir, keep=2):
  return checkpoints.TrainCheckpoints(
      workdir, ml_collections.ConfigDict({'keep_checkpoints': keep}))


def _saved_steps(workdir):
  return sorted(int(p.name) for p in (workdir / 'checkpoints').iterdir()
                if p.name.isdigit())


def test_keeps_the_latest_and_the_best(tmp_path):
  ckpts, batches = _manager(tmp_path), _batches()
  oa = {2: 90.0, 4: 50.0, 6: 60.0}
  for step in range(1, 7):
    metrics = {'OA': oa[step]} if step in oa else None
    ckpts.save(step, _state(step), batches, metrics=metrics)
  ckpts.close()
  assert _saved_steps(tmp_path) == [2, 5, 6]
  assert _manager(tmp_path).best_step() == 2


def test_restore_latest_gives_the_state_and_the_next_batch(tmp_path):
  ckpts, batches = _manager(tmp_path), _batches()
  for _ in range(3):
    next(batches)
  ckpts.save(3, _state(3.0), batches)
  ckpts.close()
  expected = jax.tree.map(np.asarray, next(batches))
  fresh = _batches()
  state, step = _manager(tmp_path).restore_latest(_state(0.0), fresh)
  assert step == 3
  jax.tree.map(np.testing.assert_array_equal, jax.device_get(state),
               jax.device_get(_state(3.0)))
  jax.tree.map(np.testing.assert_array_equal,
               jax.tree.map(np.asarray, next(fresh)), expected)


def test_restore_variables_from_workdir_folder_or_step(tmp_path):
  ckpts = _manager(tmp_path)
  ckpts.save(1, _state(1.0), _batches())
  ckpts.save(2, _state(2.0), _batches())
  ckpts.close()
  for path, value in ((tmp_path, 2.0), (tmp_path / 'checkpoints', 2.0),
                      (tmp_path / 'checkpoints' / '1', 1.0)):
    variables = checkpoints.restore_variables(path)
    assert set(variables) == {'params', 'batch_stats'}
    assert isinstance(variables['params']['w'], np.ndarray)
    np.testing.assert_array_equal(variables['params']['w'], np.full(3, value))


def test_restore_variables_errors(tmp_path):
  with pytest.raises(CheckpointError, match='holds no checkpoint'):
    checkpoints.restore_variables(tmp_path)
  ckpts = _manager(tmp_path)
  ckpts.save(1, _state(1.0), _batches())
  ckpts.close()
  for f in (tmp_path / 'checkpoints' / '1' / 'state').rglob('*'):
    if f.is_file():
      f.write_bytes(b'garbage')
  with pytest.raises(CheckpointError, match='corrupt'):
    checkpoints.restore_variables(tmp_path)


def test_pretrained_round_trip_and_errors(tmp_path):
  variables = jax.device_get({k: v for k, v in _state(4.0).items()
                              if k in ('params', 'batch_stats')})
  config = ml_collections.ConfigDict({'model': {'name': 'tiny'}})
  checkpoints.export_pretrained(variables, config, tmp_path / 'm',
                                scores={'mir1k-test': {'OA': 70.0}})
  loaded = weights.load_pretrained(tmp_path / 'm')
  jax.tree.map(np.testing.assert_array_equal, loaded, variables)
  info = json.loads((tmp_path / 'm' / 'info.json').read_text())
  assert 'git_commit' in info and info['scores']['mir1k-test']['OA'] == 70.0
  assert json.loads((tmp_path / 'm' / 'config.json').read_text())[
      'model']['name'] == 'tiny'
  with pytest.raises(CheckpointError, match='does not exist'):
    weights.load_pretrained(tmp_path)
  (tmp_path / 'm' / 'variables.msgpack').write_bytes(b'\x93garbage')
  with pytest.raises(CheckpointError, match='corrupt'):
    weights.load_pretrained(tmp_path / 'm')


def test_export_replaces_a_model_whole_or_not_at_all(tmp_path):
  variables = jax.device_get({k: v for k, v in _state(4.0).items()
                              if k in ('params', 'batch_stats')})
  config = ml_collections.ConfigDict({'model': {'name': 'tiny'}})
  out = tmp_path / 'm'
  checkpoints.export_pretrained(variables, config, out, scores={'v': 1})
  before = {p.name: p.read_bytes() for p in out.iterdir()}

  class Broken(ml_collections.ConfigDict):
    def to_json_best_effort(self, **kwargs):
      raise OSError(28, 'No space left on device')

  with pytest.raises(OSError, match='No space'):
    checkpoints.export_pretrained(variables, Broken(config.to_dict()), out)
  assert {p.name: p.read_bytes() for p in out.iterdir()} == before
  assert sorted(p.name for p in tmp_path.iterdir()) == ['m']  # no leftovers
  checkpoints.export_pretrained(variables, config, out, scores={'v': 2})
  assert json.loads((out / 'info.json').read_text())['scores'] == {'v': 2}
  assert sorted(p.name for p in tmp_path.iterdir()) == ['m']
  assert out.stat().st_mode & 0o777 != 0o700  # not mkdtemp's private mode
  (out / 'notes.txt').write_text('mine')
  with pytest.raises(ConfigError, match='other files'):
    checkpoints.export_pretrained(variables, config, out)
  assert (out / 'notes.txt').read_text() == 'mine'


def _start(workdir, cache):
  env = dict(os.environ, JAX_PLATFORMS='cpu', JAX_COMPILATION_CACHE_DIR=cache,
             PYTHONPATH=os.pathsep.join([str(ROOT)] + sys.path))
  return subprocess.Popen(
      [sys.executable, __file__, str(workdir)], cwd=ROOT, env=env,
      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc):
  out, err = proc.communicate(timeout=600)
  assert proc.returncode == 0, err[-3000:]
  return err


@pytest.mark.slow
def test_kill_9_then_rerun_ends_like_an_uninterrupted_run(tmp_path):
  cache = str(tmp_path / 'xla_cache')  # later runs skip the compilations
  whole = _start(tmp_path / 'whole', cache)
  killed = _start(tmp_path / 'killed', cache)
  first = tmp_path / 'killed' / 'checkpoints' / '10'
  deadline = time.monotonic() + 600
  while not first.is_dir() and killed.poll() is None:
    assert time.monotonic() < deadline, 'no checkpoint after 10 minutes'
    time.sleep(0.02)
  killed.send_signal(signal.SIGKILL)
  killed.communicate()
  assert killed.returncode == -signal.SIGKILL
  assert KILL_RUN_STEPS not in _saved_steps(tmp_path / 'killed')
  log = _finish(_start(tmp_path / 'killed', cache))
  assert 'resuming from' in log
  _finish(whole)
  a = checkpoints.restore_variables(tmp_path / 'whole' / 'checkpoints' /
                                    str(KILL_RUN_STEPS))
  b = checkpoints.restore_variables(tmp_path / 'killed' / 'checkpoints' /
                                    str(KILL_RUN_STEPS))
  # Bitwise: same batches, same XLA program, restored float32 state.
  jax.tree.map(np.testing.assert_array_equal, a, b)


def _training_job(workdir: str) -> None:
  """The smoke config on in-memory clips, slowed so kill -9 lands mid-run."""
  from absl import logging  # pylint: disable=g-import-not-at-top
  from tests import train_test  # pylint: disable=g-import-not-at-top
  from jaxmelody.training import train  # pylint: disable=g-import-not-at-top
  logging.set_verbosity(logging.INFO)
  clips = [train_test.fake_clip(i, 60 + 9 * i) for i in range(6)]
  input_pipeline.train_and_validation = lambda data_config: (clips, None)
  next_batch = input_pipeline.TrainBatches.__next__

  def slow_next(self):
    time.sleep(0.05)
    return next_batch(self)

  input_pipeline.TrainBatches.__next__ = slow_next
  config = train_test.smoke_config()
  config.train.num_steps = KILL_RUN_STEPS
  config.train.checkpoint_every_steps = 10
  train.train_and_evaluate(config, workdir)


if __name__ == '__main__':
  _training_job(sys.argv[1])
