"""Training: the loss, one data-parallel step, and the loop with validation.

Data parallelism is plain GSPMD: one ``jax.jit`` over a 1-D mesh of every
device (axis 'data'), the batch sharded on its first axis, the state
replicated. BatchNorm statistics and the loss are means over the global
batch, so a step on N devices equals a step on one device with the same
global batch (up to the order of float sums).
"""

import functools
import pathlib
import sys
import time
from typing import Any

from absl import logging
from flax.training import train_state
import jax
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
import jax.numpy as jnp
import numpy as np
import tensorboardX
import tqdm

from jaxmelody.data import input_pipeline
from jaxmelody.errors import ConfigError, Interrupted, JaxMelodyError
from jaxmelody.inference import evaluate
from jaxmelody.model import folded_train
from jaxmelody.model import network
from jaxmelody import runtime
from jaxmelody.training import checkpoints
from jaxmelody.training import optimizer
from jaxmelody.training import workdir_config


class NonFiniteLossError(JaxMelodyError):
  """The training loss became NaN or infinite."""


class TrainState(train_state.TrainState):
  """Params, optimizer state and step, plus BatchNorm running statistics."""
  batch_stats: Any = None


def softmax_bce(logits: jax.Array, target: jax.Array,
                mask: jax.Array) -> jax.Array:
  """The paper's loss: binary cross-entropy of the softmax, per frame.

  Per frame, sum over the K = 257 rows of -[y log p + (1 - y) log(1 - p)]
  with p = softmax(logits) and y the one-hot target; then the mean over the
  frames with mask 1.

  log(1 - p_k) is exact without a clamp: for the largest row it is
  logsumexp over the other rows minus logsumexp over all (1 - p may be tiny
  there, and log(-expm1(log p)) would lose every digit once it is below the
  rounding error of log p); every other row has p_k <= 1/2, where
  log1p(-p_k) is accurate. Both are O(K) (a cumulative leave-one-out
  logsumexp is exact too but compiles and runs far slower on CPU).

  Args:
    logits: [B, T, K] float32.
    target: [B, T] int32 class indices.
    mask: [B, T] float32, 1 for real frames, 0 for padding.

  Returns:
    Scalar mean loss over unmasked frames (0 if there are none).
  """
  logits = logits.astype(jnp.float32)
  k = logits.shape[-1]
  lse = jax.nn.logsumexp(logits, axis=-1, keepdims=True)
  log_p = logits - lse
  is_max = jax.nn.one_hot(jnp.argmax(logits, axis=-1), k, dtype=bool)
  lse_others = jax.nn.logsumexp(jnp.where(is_max, -jnp.inf, logits), axis=-1,
                                keepdims=True)
  # The inner where keeps log1p(-1) = -inf (and its NaN gradient) out of the
  # branch that is not taken.
  small_p = jnp.exp(jnp.where(is_max, -1.0, log_p))
  log_1mp = jnp.where(is_max, lse_others - lse, jnp.log1p(-small_p))
  y = jax.nn.one_hot(target, k, dtype=logits.dtype)
  per_frame = -jnp.sum(y * log_p + (1.0 - y) * log_1mp, axis=-1)
  # where(), not a product: a non-finite value in a padded frame stays out.
  total = jnp.sum(jnp.where(mask > 0, per_frame, 0.0))
  return total / jnp.maximum(jnp.sum(mask), 1.0)


def train_step(state: TrainState,
               batch: dict[str, jax.Array]) -> tuple[TrainState, dict]:
  """One Adam step on a batch ('x' [B, 256, C, 3], 'target', 'mask' [B, C])."""

  def loss_fn(params):
    logits, updates = state.apply_fn(
        {'params': params, 'batch_stats': state.batch_stats}, batch['x'],
        train=True, mutable=['batch_stats'])
    loss = softmax_bce(logits, batch['target'], batch['mask'])
    return loss, (logits, updates['batch_stats'])

  (loss, (logits, batch_stats)), grads = jax.value_and_grad(
      loss_fn, has_aux=True)(state.params)
  state = state.apply_gradients(grads=grads, batch_stats=batch_stats)
  hits = (jnp.argmax(logits, -1) == batch['target']) * batch['mask']
  accuracy = jnp.sum(hits) / jnp.maximum(jnp.sum(batch['mask']), 1.0)
  return state, {'loss': loss, 'accuracy': accuracy}


def make_mesh(devices=None) -> Mesh:
  """A 1-D mesh with axis 'data' over the given (default: all) devices."""
  return Mesh(np.asarray(devices or jax.devices()), ('data',))


@functools.lru_cache(maxsize=8)
def jit_train_step(mesh: Mesh):
  """train_step compiled for the mesh: state replicated (and donated).

  Cached per mesh, so a second training run in one process (tests, a
  notebook) reuses the compiled step.
  """
  replicated = NamedSharding(mesh, P())
  return jax.jit(train_step,
                 in_shardings=(replicated, NamedSharding(mesh, P('data'))),
                 out_shardings=(replicated, replicated), donate_argnums=0)


def training_apply_fn(config):
  """The forward function the train step differentiates.

  ``folded_train.apply`` (BatchNorm folded into the convolutions, matrix-product
  gradients) when ``config.train.fast_step`` is on and the model computes in
  float32, else the flax module's own ``apply``. Both take and return the
  same variable trees and agree to float32 rounding.
  """
  model = network.create_model(config.model)
  if config.train.fast_step and folded_train.supports(model):
    return functools.partial(folded_train.apply, model)
  return model.apply


def create_train_state(config, mesh: Mesh) -> TrainState:
  """Fresh state from config.train.seed, created replicated on the mesh."""
  model = network.create_model(config.model)
  tx = optimizer.make_optimizer(config.train)
  apply_fn = training_apply_fn(config)

  def init(rng):
    variables = network.init_variables(model, rng, frames=16)
    return TrainState.create(apply_fn=apply_fn, params=variables['params'],
                             tx=tx, batch_stats=variables['batch_stats'])

  # XLA's RngBitGenerator ('rbg'): a simpler initializer program to compile
  # than threefry's; it is deterministic for a seed on a given platform,
  # which is all we need.
  rng = jax.random.key(config.train.seed, impl='rbg')
  return jax.jit(init, out_shardings=NamedSharding(mesh, P()))(rng)


def host_variables(state: TrainState) -> dict[str, Any]:
  """{'params', 'batch_stats'} as numpy (from this process's replica).

  The params are the ones validation and export use: their moving average
  when the recipe keeps one (``optimizer.eval_params``).
  """
  params = optimizer.eval_params(state.params, state.opt_state)
  return jax.tree.map(lambda a: np.asarray(a.addressable_data(0)),
                      {'params': params, 'batch_stats': state.batch_stats})


def _every(step: int, period: int) -> bool:
  return period > 0 and step % period == 0


def _stop_unless_finite(losses: np.ndarray, step: int,
                        ckpts: checkpoints.TrainCheckpoints) -> None:
  """Raises NonFiniteLossError if any of the losses up to ``step`` is."""
  finite = np.isfinite(losses)
  if finite.all():
    return
  first = int(np.argmin(finite))
  bad = step - len(losses) + 1 + first
  ckpts.manager.wait_until_finished()  # a pending save is of a good state
  good = ckpts.latest_step()
  kept = (f'last good checkpoint: {ckpts.directory / str(good)}'
          if good is not None else 'no checkpoint was saved')
  logging.error('loss is %s at step %d: stopping; %s', losses[first], bad,
                kept)
  raise NonFiniteLossError(
      f'training: loss became non-finite at step {bad} ({kept}); try a lower '
      'config.train.learning_rate')


def train_and_evaluate(config, workdir) -> TrainState:
  """Trains config.model on config.data; resumes a workdir's latest step.

  Writes <workdir>/config.json (once: a resumed run must match it, see
  ``workdir_config``), TensorBoard events in <workdir> and orbax
  checkpoints in <workdir>/checkpoints.

  Returns:
    The final TrainState.

  Raises:
    NonFiniteLossError: the loss became NaN/inf (the checkpoints on disk are
      all from before; the message names the last one).
    ConfigError, DatasetError: bad sizes or missing data, or a workdir
      started with a different model, data or recipe.
  """
  workdir = pathlib.Path(workdir)
  workdir.mkdir(parents=True, exist_ok=True)
  workdir_config.check_or_write(config, workdir,
                                write=jax.process_index() == 0)
  tc = config.train
  mesh = make_mesh()
  if tc.batch_size % mesh.size:
    raise ConfigError(f'config.train.batch_size: {tc.batch_size} is not a '
                      f'multiple of the {mesh.size} devices')
  train_source, val_source = input_pipeline.train_and_validation(config.data)
  val_source = input_pipeline.validation_tracks(
      val_source, tc.val_max_clips)
  validate = (evaluate.Validator(config, val_source) if val_source
              else None)
  batches = input_pipeline.train_batches(
      train_source, config, NamedSharding(mesh, P('data')))
  ckpts = checkpoints.TrainCheckpoints(workdir, tc)
  state, start = ckpts.restore_latest(create_train_state(config, mesh),
                                      batches)
  if start:
    tqdm.tqdm.write(f'resuming from {ckpts.directory / str(start)}',
                    file=sys.stderr)
  elif tc.init_from:
    state, start = checkpoints.restore_branch(tc.init_from, state, batches)
    tqdm.tqdm.write(f'continuing {tc.init_from} from its step {start}',
                    file=sys.stderr)
  if jax.process_index() == 0:
    checkpoints.record_start(workdir, start)
  step_fn = jit_train_step(mesh)
  lead = jax.process_index() == 0
  writer = tensorboardX.SummaryWriter(str(workdir)) if lead else None
  bar = tqdm.tqdm(total=tc.num_steps, initial=start, disable=not lead,
                  desc='train', dynamic_ncols=True)
  frames_per_step = tc.batch_size * config.data.crop_frames
  pending, tick, last = [], time.perf_counter(), start
  with runtime.StopOnSignal() as stop:
    try:
      for step in range(start + 1, tc.num_steps + 1):
        state, metrics = step_fn(state, next(batches))
        pending.append(metrics)
        bar.update()
        do_eval = validate is not None and _every(step, config.eval.every_steps)
        do_save = (do_eval or _every(step, tc.checkpoint_every_steps)
                   or step == tc.num_steps or stop.requested)
        if not (do_save or _every(step, tc.log_every_steps)):
          continue
        # Syncing only here keeps the device queue full between logs; every
        # step is still checked before any checkpoint is written.
        host = jax.device_get(pending)
        losses = np.array([m['loss'] for m in host])
        _stop_unless_finite(losses, step, ckpts)
        now = time.perf_counter()
        scalars = {'train/loss': float(losses.mean()),
                   'train/accuracy': float(np.mean([m['accuracy']
                                                    for m in host])),
                   'train/frames_per_s': frames_per_step * (step - last) / (
                       now - tick)}
        pending, last = [], step
        bar.set_postfix(loss=f'{scalars["train/loss"]:.3f}',
                        fps=f'{scalars["train/frames_per_s"]:.0f}')
        val = validate(host_variables(state)) if do_eval else None
        if val is not None:
          scalars.update({f'val/{k}': v for k, v in val.items()})
          bar.write(f'step {step}: validation ' + ', '.join(
              f'{k} {v:.2f}' for k, v in val.items()))
        if writer is not None:
          for name, value in scalars.items():
            writer.add_scalar(name, value, step)
          writer.flush()
        # A signal may arrive while this step is synced (most of a logging
        # step's wall time): the step is saved all the same.
        if do_save or stop.requested:
          ckpts.save(step, state, batches, metrics=val)
        if stop.requested:
          raise Interrupted(
              f'training stopped at step {step}; its checkpoint '
              f'{ckpts.directory / str(step)} is saved: run the same command '
              'to resume')
        tick = time.perf_counter()  # frames/s counts training time only
    finally:
      bar.close()
      ckpts.close()
      if writer is not None:
        writer.close()
  return state
