"""The fast training formulation equals the flax module to float32 rounding."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import traverse_util

from conftest import assert_rel_close
from configs import dense10
from configs import smoke
from jaxmelody.model import folded_train
from jaxmelody.model import network
from jaxmelody.training import train

# Each array's difference norm, relative to its norm.
TOLERANCE = 1e-4


def _variables(model, seed=0):
  """Initial variables with BatchNorm parameters and averages moved off
  their defaults, so that a fold that ignored them would show."""
  variables = network.init_variables(model, jax.random.PRNGKey(seed), frames=16)
  rng = np.random.default_rng(seed)

  def perturb(path, a):
    keys = [getattr(k, 'key', '') for k in path]
    if 'bn' not in keys:
      return a
    if keys[-1] == 'var':
      return a * rng.uniform(0.5, 2.0, a.shape).astype(np.float32)
    return a + rng.normal(0, 0.2, a.shape).astype(np.float32)

  return jax.tree_util.tree_map_with_path(perturb, variables)


def _batch(batch, frames, seed=0):
  rng = np.random.default_rng(seed)
  return {'x': jnp.asarray(rng.random((batch, 256, frames, 3)), jnp.float32),
          'target': jnp.asarray(rng.integers(0, 257, (batch, frames)),
                                jnp.int32),
          'mask': jnp.ones((batch, frames), jnp.float32)}


def _assert_close(got, want, what):
  got, want = traverse_util.flatten_dict(got), traverse_util.flatten_dict(want)
  assert got.keys() == want.keys(), what
  for key in want:
    assert_rel_close(got[key], want[key], TOLERANCE, (what, '/'.join(key)))


def _loss_fn(apply_fn, batch):
  def loss(params, batch_stats):
    logits, updates = apply_fn({'params': params, 'batch_stats': batch_stats},
                               batch['x'], train=True, mutable=['batch_stats'])
    return train.softmax_bce(logits, batch['target'], batch['mask']), (
        logits, updates['batch_stats'])
  return jax.jit(jax.value_and_grad(loss, has_aux=True))


@pytest.mark.parametrize('config_module', [dense10, smoke])
def test_loss_logits_gradients_and_statistics_equal_flax(config_module):
  config = config_module.get_config()
  model = network.create_model(config.model)
  variables = _variables(model)
  batch = _batch(2, 24)
  results = [
      _loss_fn(f, batch)(variables['params'], variables['batch_stats'])
      for f in (model.apply, functools.partial(folded_train.apply, model))]
  (want_loss, (want_logits, want_stats)), want_grads = results[0]
  (got_loss, (got_logits, got_stats)), got_grads = results[1]
  assert abs(float(got_loss) - float(want_loss)) <= TOLERANCE * abs(
      float(want_loss))
  _assert_close({'logits': got_logits}, {'logits': want_logits}, 'logits')
  _assert_close(got_grads, want_grads, 'gradients')
  _assert_close(got_stats, want_stats, 'batch statistics')


def test_inference_mode_uses_running_averages_like_flax():
  model = network.create_model(dense10.get_config().model)
  variables = _variables(model, seed=1)
  x = _batch(1, 20, seed=1)['x']
  want = model.apply(variables, x, train=False)
  got = jax.jit(functools.partial(folded_train.apply, model, train=False))(
      variables, x)
  _assert_close({'logits': got}, {'logits': want}, 'logits')


def test_several_steps_in_a_row_stay_together():
  """Three Adam steps through train.train_step with each formulation."""
  config = dense10.get_config()
  model = network.create_model(config.model)
  variables = _variables(model, seed=2)
  states = []
  for apply_fn in (model.apply, functools.partial(folded_train.apply, model)):
    state = train.TrainState.create(
        apply_fn=apply_fn, params=variables['params'],
        tx=optax.adam(config.train.learning_rate),
        batch_stats=variables['batch_stats'])
    step = jax.jit(train.train_step)
    for i in range(3):
      state, _ = step(state, _batch(2, 16, seed=10 + i))
    states.append(state)
  plain, fast = states
  _assert_close(fast.params, plain.params, 'parameters after 3 steps')
  _assert_close(fast.batch_stats, plain.batch_stats,
                'batch statistics after 3 steps')


def test_train_state_uses_the_fast_formulation_only_when_it_applies():
  config = smoke.get_config()
  assert isinstance(train.training_apply_fn(config), functools.partial)
  config.train.fast_step = False
  assert not isinstance(train.training_apply_fn(config), functools.partial)
  config.train.fast_step = True
  config.model.dtype = 'bfloat16'   # the fast form is float32 only
  assert not isinstance(train.training_apply_fn(config), functools.partial)
