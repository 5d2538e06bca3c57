"""Tests of per-piece BatchNorm over sounding frames and the silence gate."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import assert_rel_close
from jaxmelody import default_config
from jaxmelody.frontend import pitch
from jaxmelody.inference import engine
from jaxmelody.inference import piece_norm
from jaxmelody.model import network


class _Norm(nn.Module):
  """One BatchNorm, applied through piece_norm or flax itself."""

  @nn.compact
  def __call__(self, x, frames=None, train=False):
    bn = nn.BatchNorm(use_running_average=not train, momentum=0.9,
                      use_fast_variance=False)
    if frames is None:
      return bn(x)
    bn(x[:, :, :1])  # binds bn's variables; the output is discarded
    return piece_norm.masked_batch_norm(bn, x, frames)


@pytest.fixture(scope='module')
def norm():
  rng = np.random.default_rng(0)
  x = rng.normal(size=(1, 5, 12, 4)).astype(np.float32)
  variables = _Norm().init(jax.random.PRNGKey(0), x)
  variables = {
      'params': {'BatchNorm_0': {'scale': jnp.asarray(rng.uniform(0.5, 2, 4)),
                                 'bias': jnp.asarray(rng.normal(size=4))}},
      'batch_stats': {'BatchNorm_0': {'mean': jnp.asarray(rng.normal(size=4)),
                                      'var': jnp.asarray(rng.uniform(1, 3, 4))}}}
  return x, variables


def test_statistics_are_those_of_the_chosen_frames(norm):
  x, variables = norm
  frames = np.zeros((1, 1, 12, 1), bool)
  frames[..., 2:9, :] = True
  got = _Norm().apply(variables, x, frames)
  # Training-mode BatchNorm on the chosen frames alone.
  want = _Norm().apply(variables, x[:, :, 2:9], train=True,
                       mutable=['batch_stats'])[0]
  np.testing.assert_allclose(got[:, :, 2:9], want, atol=1e-5)
  # The other frames are normalised with the same statistics.
  chosen = x[:, :, 2:9]
  mean, var = chosen.mean(axis=(0, 1, 2)), chosen.var(axis=(0, 1, 2))
  p = variables['params']['BatchNorm_0']
  want_rest = ((x[:, :, :2] - mean) / np.sqrt(var + 1e-5) * p['scale']
               + p['bias'])
  np.testing.assert_allclose(got[:, :, :2], want_rest, atol=1e-5)


def test_no_chosen_frame_falls_back_to_running_averages(norm):
  x, variables = norm
  got = _Norm().apply(variables, x, np.zeros((1, 1, 12, 1), bool))
  want = _Norm().apply(variables, x)  # use_running_average=True
  np.testing.assert_allclose(got, want, atol=1e-5)
  assert np.isfinite(got).all()


def test_silent_frames_decode_as_no_melody():
  rng = np.random.default_rng(1)
  cfp = rng.random((3, 256, 10), dtype=np.float32)
  cfp[..., 3:6] = 0.0
  logits = rng.normal(size=(10, 257)).astype(np.float32) * 10
  logits[:, 0] = -50.0  # the network insists on a melody everywhere
  gated = piece_norm.silence_to_no_melody(logits, cfp)
  f0, voicing = pitch.argmax_hz(gated)
  assert (f0[3:6] == 0).all() and (f0[:3] > 0).all() and (f0[6:] > 0).all()
  np.testing.assert_array_equal(gated[:3], logits[:3])
  assert np.isfinite(voicing).all() and (voicing[3:6] < 1e-9).all()


def test_digital_silence_has_no_melody_and_finite_logits(monkeypatch):
  """Per-piece BatchNorm on a piece with no sounding frame falls back to the
  running averages: the network's own logits (before the silence gate, which
  would hide a NaN) are finite and those of running-average mode."""
  config = default_config.get_config()
  model = network.create_model(config.model)
  variables = network.random_variables(model)
  cfp = np.zeros((3, 256, 100), np.float32)
  gated, ungated = {}, {}
  for mode in ('running', 'batch'):
    im = engine.InferenceModel(config.model, variables, pad_lengths=(512,),
                               bn_inference=mode, reference=True)
    gated[mode] = im.logits(cfp)
    with monkeypatch.context() as m:
      m.setattr(piece_norm, 'silence_to_no_melody',
                lambda logits, cfp: np.asarray(logits))
      ungated[mode] = im.logits(cfp)
    f0, voicing = pitch.argmax_hz(gated[mode])
    assert (f0 == 0).all() and np.isfinite(voicing).all(), mode
    assert np.isfinite(ungated[mode]).all(), mode
  assert not np.array_equal(ungated['running'], gated['running'])
  assert_rel_close(ungated['batch'], ungated['running'], 1e-5)
