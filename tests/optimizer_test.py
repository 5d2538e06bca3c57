"""Tests of the learning-rate schedules and the parameter moving average."""

import jax
import numpy as np
import optax
import pytest

from configs import smoke
from jaxmelody.errors import ConfigError
from jaxmelody.training import optimizer


def _train_config(**changes):
  config = smoke.get_config().train
  config.update(changes)
  return config


def test_constant_is_plain_adam_with_its_state_tree():
  config = _train_config()
  assert optimizer.learning_rate(config) == config.learning_rate
  params = {'w': np.ones(3, np.float32)}
  ours = optimizer.make_optimizer(config).init(params)
  adam = optax.adam(config.learning_rate).init(params)
  # Checkpoints of earlier runs restore only if the tree is adam's own.
  assert jax.tree.structure(ours) == jax.tree.structure(adam)


def test_wsd_schedule():
  config = _train_config(lr_schedule='wsd', decay_start_step=100,
                         decay_steps=200, final_lr_fraction=0.1)
  schedule = optimizer.learning_rate(config)
  lr = config.learning_rate
  for step in (0, 50, 100):  # stable: the constant run's rate
    assert abs(float(schedule(step)) - lr) < 1e-9, step
  assert abs(float(schedule(150)) - lr * 0.55) < 1e-9   # linear decay
  assert abs(float(schedule(200)) - lr * 0.1) < 1e-9
  assert abs(float(schedule(900)) - lr * 0.1) < 1e-9


def test_bad_schedules_and_ema_are_config_errors():
  with pytest.raises(ConfigError, match='lr_schedule'):
    optimizer.learning_rate(_train_config(lr_schedule='step'))
  with pytest.raises(ConfigError, match='decay_start_step'):
    optimizer.learning_rate(_train_config(
        lr_schedule='wsd', decay_start_step=50, decay_steps=40))
  with pytest.raises(ConfigError, match='ema_decay'):
    optimizer.make_optimizer(_train_config(ema_decay=1.5))


def test_ema_averages_the_updated_params():
  tx = optax.chain(optax.sgd(1.0), optimizer.params_ema(0.75))
  params = {'w': np.array([1.0, -2.0], np.float32)}
  state = tx.init(params)
  np.testing.assert_array_equal(
      optimizer.eval_params(params, state)['w'], params['w'])
  expected = params['w']
  for grad in ([0.5, 1.0], [-1.0, 2.0]):
    updates, state = tx.update({'w': np.array(grad, np.float32)}, state,
                               params)
    params = optax.apply_updates(params, updates)
    np.testing.assert_allclose(updates['w'], -np.array(grad))  # unchanged
    expected = 0.75 * expected + 0.25 * params['w']
    np.testing.assert_allclose(optimizer.eval_params(params, state)['w'],
                               expected, rtol=1e-6)


def test_eval_params_without_ema_are_the_params():
  params = {'w': np.zeros(2, np.float32)}
  state = optimizer.make_optimizer(_train_config()).init(params)
  assert optimizer.eval_params(params, state) is params
