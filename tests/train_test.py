"""Tests of the loss, the data-parallel step and the training loop."""

import json
import os
import pathlib
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import smoke
from jaxmelody.data import input_pipeline
from jaxmelody.frontend import feature_config
from jaxmelody.frontend import pitch
from jaxmelody.training import train

ROOT = pathlib.Path(__file__).resolve().parents[1]


def smoke_config():
  return smoke.get_config()


def fake_clip(seed: int, frames: int) -> dict:
  """A learnable clip: the target's CFP row lights up, 30% frames silent."""
  rng = np.random.default_rng(seed)
  target = np.where(rng.random(frames) < 0.3, 0,
                    40 + np.arange(frames) // 8 % 60).astype(np.int32)
  cfp = rng.random((3, 256, frames), dtype=np.float32) * 0.1
  cfp[:, np.maximum(target - 1, 0), np.arange(frames)] += target > 0
  return {'cfp': cfp, 'target': target,
          'f0_hz': pitch.class_to_hz(target).astype(np.float32),
          'times': feature_config.FEATURES.frame_times(frames),
          'track_id': f'fake_{seed}'}


def _reference_loss(logits, target, mask):
  """The paper's formula, literally, in float64."""
  z = logits.astype(np.float64)
  p = np.exp(z - z.max(-1, keepdims=True))
  p /= p.sum(-1, keepdims=True)
  y = np.eye(z.shape[-1])[target]
  per_frame = -np.sum(y * np.log(p) + (1 - y) * np.log1p(-p), -1)
  return np.sum(per_frame * mask) / np.sum(mask)


def test_loss_matches_the_formula_including_confident_frames():
  rng = np.random.default_rng(0)
  logits = rng.normal(size=(2, 6, 257)).astype(np.float32) * 3
  logits[0, 0, 5] = 12.0  # p close to 1 (1 - p ~ 1e-3)
  logits[1, 2, 0] = 14.0
  target = rng.integers(0, 257, (2, 6)).astype(np.int32)
  target[0, 0] = 5
  mask = np.ones((2, 6), np.float32)
  got = float(train.softmax_bce(logits, target, mask))
  np.testing.assert_allclose(got, _reference_loss(logits, target, mask),
                             rtol=1e-5)


def test_loss_and_gradient_are_finite_where_naive_forms_fail():
  logits = np.zeros((1, 2, 257), np.float32)
  logits[0, :, 7] = 60.0  # 1 - p = 256 e^-60: 0 in float32 arithmetic
  target = np.array([[7, 3]], np.int32)
  mask = np.ones((1, 2), np.float32)
  loss, grad = jax.value_and_grad(train.softmax_bce)(logits, target, mask)
  assert np.isfinite(float(loss)) and np.all(np.isfinite(grad))
  # Frame 2 is wrong by 60 nats: its loss is about 60 - log 256, not inf.
  np.testing.assert_allclose(float(loss) * 2, 60 - np.log(256) + 60, rtol=1e-3)


def test_masked_frames_do_not_change_the_loss():
  rng = np.random.default_rng(1)
  logits = rng.normal(size=(2, 5, 257)).astype(np.float32)
  target = rng.integers(0, 257, (2, 5)).astype(np.int32)
  mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], np.float32)
  base = train.softmax_bce(logits, target, mask)
  logits2, target2 = logits.copy(), target.copy()
  logits2[0, 3:] = np.nan
  target2[0, 3:] = 0
  assert float(train.softmax_bce(logits2, target2, mask)) == float(base)
  assert float(train.softmax_bce(logits, target, mask * 0)) == 0.0


@pytest.mark.slow
def test_loss_falls_on_a_tiny_set():
  config = smoke_config()
  mesh = train.make_mesh()
  clips = [fake_clip(i, 80) for i in range(4)]
  batches = input_pipeline.train_batches(
      clips, config, jax.sharding.NamedSharding(mesh, jax.sharding
                                                .PartitionSpec('data')))
  state, step = train.create_train_state(config, mesh), train.jit_train_step(
      mesh)
  losses = []
  for _ in range(25):
    state, metrics = step(state, next(batches))
    losses.append(float(metrics['loss']))
  assert np.all(np.isfinite(losses))
  assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5]), losses


_TWO_DEVICES = r'''
import json, sys
import jax, numpy as np
sys.path.insert(0, sys.argv[1])
from tests.train_test import smoke_config, fake_clip
from jaxmelody.data import input_pipeline
from jaxmelody.training import train
config = smoke_config()
assert jax.device_count() == 2, jax.devices()
crops = [input_pipeline.crop_example(fake_clip(i, 70), 64,
                                     np.random.default_rng(i))
         for i in range(4)]
batch = {k: np.stack([c[k] for c in crops]) for k in crops[0]}
batch['mask'][1, 50:] = 0  # padding too
results = []
initial = jax.device_get(train.create_train_state(config, train.make_mesh()))
for devices in (jax.devices()[:1], jax.devices()):
  mesh = train.make_mesh(devices)
  state = jax.device_put(initial, jax.sharding.NamedSharding(
      mesh, jax.sharding.PartitionSpec()))
  data = jax.device_put(batch, jax.sharding.NamedSharding(
      mesh, jax.sharding.PartitionSpec('data')))
  state, metrics = train.jit_train_step(mesh)(state, data)
  results.append(jax.device_get((state.params, state.batch_stats, metrics)))
diff = jax.tree.map(lambda a, b: float(np.max(np.abs(a - b))), *results)
scale = jax.tree.map(lambda a: float(np.max(np.abs(a))), results[0])
print(json.dumps({'diff': jax.tree.leaves(diff),
                  'scale': jax.tree.leaves(scale)}))
'''


@pytest.mark.slow
def test_two_devices_equal_one_device():
  env = dict(os.environ, XLA_FLAGS='--xla_force_host_platform_device_count=2',
             JAX_PLATFORMS='cpu')
  run = subprocess.run([sys.executable, '-c', _TWO_DEVICES, str(ROOT)],
                       env=env, capture_output=True, text=True, timeout=300,
                       cwd=ROOT, check=False)
  assert run.returncode == 0, run.stderr[-3000:]
  out = json.loads(run.stdout.strip().splitlines()[-1])
  # Only the order of float sums differs (all-reduce over two shards).
  for diff, scale in zip(out['diff'], out['scale']):
    assert diff <= 1e-5 * max(scale, 1.0), out


class _PoisonAt:
  """Training batches whose n-th batch has NaN features."""

  def __init__(self, inner, n):
    self.inner, self.n, self.count = inner, n, 0
    self.grain_iterator = inner.grain_iterator

  def __next__(self):
    self.count += 1
    batch = next(self.inner)
    if self.count == self.n:
      batch = dict(batch, x=batch['x'] * jnp.nan)
    return batch


@pytest.mark.slow
def test_train_and_evaluate_outputs_resume_and_nan_stop(tmp_path,
                                                        monkeypatch):
  config = smoke_config()
  config.train.num_steps = 4
  config.train.checkpoint_every_steps = 2
  config.train.log_every_steps = 1
  config.eval.every_steps = 4
  clips = [fake_clip(i, 70 + 10 * i) for i in range(6)]
  monkeypatch.setattr(input_pipeline, 'train_and_validation',
                      lambda data_config: (clips[:4], clips[4:]))
  train.train_and_evaluate(config, tmp_path)
  assert json.loads((tmp_path / 'config.json').read_text())['model'][
      'growth'] == config.model.growth
  assert list(tmp_path.glob('events.out.tfevents.*'))
  metrics = json.loads((tmp_path / 'checkpoints' / '4' / 'metrics' /
                        'metrics').read_text())
  assert set(metrics) >= {'OA', 'RPA', 'VR', 'VFA'}

  # Resumes at step 4, then a NaN batch at step 7 stops it; the step-6
  # checkpoint (made before the NaN) is the newest one on disk.
  real = input_pipeline.train_batches
  monkeypatch.setattr(input_pipeline, 'train_batches',
                      lambda *a: _PoisonAt(real(*a), 3))
  config.train.num_steps = 10
  with pytest.raises(train.NonFiniteLossError, match='step 7.*checkpoints/6'):
    train.train_and_evaluate(config, tmp_path)
  steps = sorted(int(p.name) for p in (tmp_path / 'checkpoints').iterdir()
                 if p.name.isdigit())
  assert steps[-1] == 6
  # Each start is logged with the code that ran it.
  starts = train.checkpoints.read_starts(tmp_path)
  assert [s['step'] for s in starts] == [0, 4]
  assert all(set(s) == {'step', 'git_commit', 'time'} for s in starts)


@pytest.mark.slow
def test_a_decay_branch_equals_the_schedule_run_from_scratch(tmp_path,
                                                             monkeypatch):
  """init_from: a 'wsd' decay off a 'constant' run's step-3 checkpoint."""
  clips = [fake_clip(i, 70 + 10 * i) for i in range(4)]
  monkeypatch.setattr(input_pipeline, 'train_and_validation',
                      lambda data_config: (clips, None))

  def run(workdir, **changes):
    config = smoke_config()
    config.train.update(num_steps=6, checkpoint_every_steps=3,
                        log_every_steps=3, lr_schedule='wsd',
                        decay_start_step=3, final_lr_fraction=0.0)
    config.train.update(changes)
    return jax.device_get(train.train_and_evaluate(config, tmp_path / workdir))

  run('trunk', lr_schedule='constant', num_steps=3)
  whole = run('whole')
  monkeypatch.chdir(tmp_path)  # a relative path, as typed on a command line
  branch = run('branch', init_from='trunk/checkpoints/3', ema_decay=0.5)
  assert int(branch.step) == 6
  # The same batches and updates: equal up to float rounding.
  for name in ('params', 'batch_stats'):
    for a, b in zip(jax.tree.leaves(getattr(whole, name)),
                    jax.tree.leaves(getattr(branch, name))):
      np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
  ema = train.optimizer.eval_params(branch.params, branch.opt_state)
  assert ema is not branch.params
  diffs = [np.abs(e - p).max() for e, p in zip(jax.tree.leaves(ema),
                                               jax.tree.leaves(branch.params))]
  assert 0 < max(diffs) and all(np.isfinite(diffs))
  # Export and inference read the average from the checkpoint too.
  saved = train.checkpoints.restore_variables(tmp_path / 'branch')
  for a, b in zip(jax.tree.leaves(saved['params']), jax.tree.leaves(ema)):
    np.testing.assert_array_equal(a, b)
