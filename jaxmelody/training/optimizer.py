"""The training recipe's optimizer: Adam, its learning-rate schedule, an EMA.

``make_optimizer(config.train)`` is ``optax.adam`` with the paper's constant
learning rate by default. Two options change it:

- ``lr_schedule='wsd'`` (stable, decay: the constant rate until
  ``decay_start_step``, then a linear decay to
  ``learning_rate * final_lr_fraction`` at ``decay_steps``). A 'wsd' run equals a 'constant' run up to
  ``decay_start_step``, so its decay can start from that run's checkpoint
  (``config.train.init_from``, see ``checkpoints.restore_branch``).
- ``ema_decay`` > 0: an exponential moving average of the parameters, kept
  in the optimizer state (``ParamsEmaState``, so checkpoints hold it with
  everything else); validation and export then use the average
  (``eval_params``).

With neither, the optimizer state is exactly ``optax.adam``'s, so checkpoints
of earlier runs restore unchanged.
"""

from typing import Any, NamedTuple

import jax
import optax

from jaxmelody.errors import ConfigError

SCHEDULES = ('constant', 'wsd')


def learning_rate(train_config):
  """Adam's learning rate: a float (constant) or an optax schedule.

  Raises:
    ConfigError: an unknown schedule or inconsistent steps.
  """
  lr = float(train_config.learning_rate)
  kind = train_config.lr_schedule
  if kind not in SCHEDULES:
    raise ConfigError(f'config.train.lr_schedule: {kind!r} is not one of '
                      f'{SCHEDULES}')
  if kind == 'constant':
    return lr
  end = int(train_config.decay_steps) or int(train_config.num_steps)
  final = lr * float(train_config.final_lr_fraction)
  start = int(train_config.decay_start_step)
  if not 0 <= start < end:
    raise ConfigError(
        'config.train: the wsd schedule needs 0 <= decay_start_step < '
        f'decay_steps (or num_steps); got {start}, {end}')
  return optax.join_schedules(
      [optax.constant_schedule(lr),
       optax.linear_schedule(lr, final, end - start)],
      boundaries=[start])


class ParamsEmaState(NamedTuple):
  """The moving average of the parameters after each update."""
  ema: optax.Params


def params_ema(decay: float) -> optax.GradientTransformation:
  """Tracks ``ema <- decay * ema + (1 - decay) * (params + updates)``.

  Chained after the optimizer, it sees the final updates, so the average is
  of the parameters each step produces; the updates pass through unchanged.
  """

  def init(params):
    return ParamsEmaState(ema=jax.tree.map(lambda p: p.copy(), params))

  def update(updates, state, params=None):
    if params is None:
      raise ValueError('params_ema needs the params')
    new = optax.apply_updates(params, updates)
    return updates, ParamsEmaState(
        ema=optax.incremental_update(new, state.ema, step_size=1.0 - decay))

  return optax.GradientTransformation(init, update)


def make_optimizer(train_config) -> optax.GradientTransformation:
  """Adam with ``learning_rate(train_config)``, plus the EMA if configured."""
  adam = optax.adam(learning_rate(train_config))
  decay = float(train_config.ema_decay)
  if not decay:
    return adam
  if not 0.0 < decay < 1.0:
    raise ConfigError(f'config.train.ema_decay: {decay} is not in [0, 1)')
  return optax.chain(adam, params_ema(decay))


def eval_params(params, opt_state) -> Any:
  """The parameters to validate and export: the EMA if kept, else params."""
  found = [s.ema for s in jax.tree.leaves(
      opt_state, is_leaf=lambda s: isinstance(s, ParamsEmaState))
           if isinstance(s, ParamsEmaState)]
  return found[0] if found else params
