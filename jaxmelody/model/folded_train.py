"""MSFCN with every BatchNorm folded into the next convolution.

The same network as ``network.MSFCN`` (same parameter and batch-statistics
trees, same logits and gradients up to float32 rounding), written so that
XLA:CPU has less to do per training step:

- BatchNorm is a per-channel affine map a x + b in front of a zero-padded
  convolution, so conv(pad0(a x + b), W) = conv(pad0(x), a W) + B with
  B[h, w] = sum over the taps that land inside the image of sum_c b_c W.
  The normalised copy of every activation is never written; B is a small
  [H, W, F] map (separable masks times a [3, 3, F] table).
- In the dense encoder every layer normalises the same channels with the
  same batch statistics (only scale and shift differ), so each channel's
  mean and variance are computed once, when the channel is made.
- CONV6's input repeats the model input x ``input_repeats`` times after the
  stack, and the stack starts with x: the copies share x's statistics, so
  their kernel slices fold into the stack's first channels and CONV6
  convolves the 53-channel stack instead of 77 channels.
- Every convolution's kernel gradient is one matrix product
  (``conv_kernels.conv3x3``).

Gradients of the batch statistics flow through autodiff as in flax's
BatchNorm. Only float32 compute is supported (``supports`` says so).
"""

import functools
from typing import Any

import jax
import jax.numpy as jnp

from jaxmelody.model import bn_fold
from jaxmelody.model import conv_kernels
from jaxmelody.model import network

# flax BatchNorm's momentum as network.PreActBlock sets it.
_MOMENTUM = 0.9


def supports(model: network.MSFCN) -> bool:
  """True if this formulation can run ``model`` (float32 compute)."""
  return model.dtype == jnp.float32


@jax.custom_vjp
def _stats(x: jax.Array) -> tuple[jax.Array, jax.Array]:
  """Per-channel batch mean and (two-pass, biased) variance of [B, H, W, C]."""
  mean = jnp.mean(x, axis=(0, 1, 2))
  var = jnp.mean(jnp.square(x - mean), axis=(0, 1, 2))
  return mean, var


def _stats_fwd(x):
  mean, var = _stats(x)
  return (mean, var), (x, mean)


def _stats_bwd(residuals, g):
  """dx = (g_mean + 2 g_var (x - mean)) / N in one elementwise pass.

  (The variance's gradient through the mean sums to zero.) Autodiff of the
  two-pass formula writes x - mean, its product and their sum as separate
  full-size arrays.
  """
  x, mean = residuals
  g_mean, g_var = g
  n = x.size // x.shape[-1]
  return ((g_mean + 2 * g_var * (x - mean)) / n,)


_stats.defvjp(_stats_fwd, _stats_bwd)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _add_border(y: jax.Array, table: jax.Array, dilation: int) -> jax.Array:
  """y [B, H, W, F] plus the shift part of a folded BatchNorm.

  That part is conv(pad0(ones), table): at output (h, w) the sum of
  table[i, j] over the taps whose input row h + (i - 1) d and column
  w + (j - 1) d lie inside the image (``bn_fold.plus_row_border``).
  """
  by_col = jnp.einsum('jw,ijf->iwf',
                      bn_fold.inside_taps(y.shape[2], dilation), table)
  return bn_fold.plus_row_border(y, by_col, dilation)


def _add_border_fwd(y, table, dilation):
  return _add_border(y, table, dilation), None


def _add_border_bwd(dilation, _, g):
  """The table's gradient: sums of g over the box each tap reads inside.

  Tap row i reads inside on the rows [d, H) (i = 0), [0, H) or [0, H - d)
  (i = 2); columns alike. Cut the image into the bands [0, d), [d, H - d),
  [H - d, H) on both axes: each box is a union of band blocks, so its sum
  is a sum of block sums (each block read once, no cancellation; an empty
  box is exactly 0, which Adam would otherwise turn into a full step).
  Reductions over all leading axes are the shape XLA:CPU runs fast (its
  own gradient summed over the batch axis first, far slower).
  """
  _, height, width, f = g.shape
  d = dilation
  if 2 * d > min(height, width):  # bands overlap: sum each box directly
    runs = [slice(d, None), slice(None), slice(0, max(0, height - d))]
    cols = [slice(d, None), slice(None), slice(0, max(0, width - d))]
    table = [g[:, r, c].sum((0, 1, 2)) for r in runs for c in cols]
    return g, jnp.stack(table).reshape(3, 3, f)
  bands_h = (slice(0, d), slice(d, height - d), slice(height - d, None))
  bands_w = (slice(0, d), slice(d, width - d), slice(width - d, None))
  block = [[g[:, r, c].sum((0, 1, 2)) for c in bands_w] for r in bands_h]
  # Bands inside for taps 0, 1, 2: all but the first, all, all but the last.
  inside = ((1, 2), (0, 1, 2), (0, 1))
  table = [sum(block[r][c] for r in inside[i] for c in inside[j])
           for i in range(3) for j in range(3)]
  return g, jnp.stack(table).reshape(3, 3, f)


_add_border.defvjp(_add_border_fwd, _add_border_bwd)


@jax.custom_vjp
def _selu(x: jax.Array) -> jax.Array:
  """``jax.nn.selu`` whose gradient is computed from its output.

  For x <= 0, y = s a (e^x - 1), so dy/dx = s a e^x = y + s a; for x > 0
  it is s. The backward pass therefore reads y, which the next convolution
  keeps anyway, instead of keeping the pre-activation and computing e^x a
  second time (two full passes over every activation per step).
  """
  return jax.nn.selu(x)


def _selu_fwd(x):
  y = jax.nn.selu(x)
  return y, y


def _selu_bwd(y, g):
  scale, alpha = bn_fold.SELU_SCALE, bn_fold.SELU_ALPHA
  return (g * jnp.where(y > 0, scale, y + scale * alpha),)


_selu.defvjp(_selu_fwd, _selu_bwd)


def _conv_selu(x: jax.Array, folds, dilation: int) -> jax.Array:
  """SELU(conv(pad0(BatchNorm(x)))) of one or more folded blocks at once.

  Blocks that read the same input are one convolution with their kernels
  side by side (CONV7 and the voicing row both read CONV6's output).

  Args:
    x: raw input [B, H, W, C].
    folds: ``bn_fold.fold`` results, one per block.
    dilation: the convolutions' dilation (padding equals it).

  Returns:
    [B, H, W, sum of F] float32, the blocks' outputs side by side.
  """
  kernel, table, bias = (jnp.concatenate(parts, axis=-1)
                         for parts in zip(*folds))
  y = conv_kernels.conv3x3(x, kernel, dilation)
  return _selu(_add_border(y, table, dilation) + bias)


def _folded_block(x: jax.Array, mean: jax.Array, var: jax.Array,
                  params: dict[str, Any], dilation: int,
                  repeats: int = 0) -> jax.Array:
  """SELU(conv(BatchNorm([x, x[..., :k] * repeats]))), BatchNorm folded.

  See ``bn_fold.fold`` for the arguments; returns [B, H, W, F] float32.
  """
  return _conv_selu(
      x, [bn_fold.fold(x.shape[-1], mean, var, params, repeats)], dilation)


class _Statistics:
  """Batch statistics per block (train) or running averages (eval)."""

  def __init__(self, running: dict[str, Any], train: bool):
    self.running = running
    self.train = train
    self.updated = {}

  def __call__(self, name: str, channels) -> tuple[jax.Array, jax.Array]:
    """(mean, var) block `name` normalises with; records its new average.

    Args:
      name: the block.
      channels: a callable returning the batch (mean, var) of its input;
        called only in training.
    """
    ra = self.running[name]['bn']
    if not self.train:
      return ra['mean'], ra['var']
    mean, var = channels()
    self.updated[name] = {'bn': {
        'mean': _MOMENTUM * ra['mean'] + (1 - _MOMENTUM) * mean,
        'var': _MOMENTUM * ra['var'] + (1 - _MOMENTUM) * var}}
    return mean, var


def apply(model: network.MSFCN, variables: dict[str, Any], x: jax.Array, *,
          train: bool, mutable=()):
  """``model.apply(variables, x, train=train, mutable=mutable)``, faster.

  Args:
    model: the MSFCN whose layout the variables have (float32).
    variables: {'params', 'batch_stats'}.
    x: CFP input [B, 256, T, 3].
    train: batch statistics (and their running averages updated) if True,
      else the running averages.
    mutable: ['batch_stats'] (or 'batch_stats') to also return the updated
      running averages, as flax does.

  Returns:
    logits [B, T, 257] float32, or (logits, {'batch_stats': ...}) when
    ``mutable`` names batch_stats.
  """
  if x.ndim != 4 or x.shape[-1] != 3:
    raise ValueError(f'MSFCN expects [batch, freq, time, 3], got {x.shape}')
  params = variables['params']
  stats = _Statistics(variables['batch_stats'], train)
  x = x.astype(jnp.float32)

  # Dense encoder over the raw stack h = [x, c_0, c_1, ...]; the statistics
  # of each channel group are computed once and shared by later blocks.
  groups = [_stats(x)] if train else []

  def stack_stats():
    means, variances = zip(*groups)
    return jnp.concatenate(means), jnp.concatenate(variances)

  h = x
  for i, rate in enumerate(model.dilations):
    name = f'dense_{i}'
    c = _folded_block(h, *stats(name, stack_stats), params[name], rate)
    # Materialised once: fused into its consumers, XLA re-evaluated every
    # earlier layer's SELU inside each of them.
    h = jax.lax.optimization_barrier(jnp.concatenate([h, c], axis=-1))
    if train:
      groups.append(_stats(c))

  # CONV6 reads [h, x * R]; h starts with x, so the copies fold into it.
  def conv6_stats():
    mean, var = stack_stats()
    x_mean, x_var = groups[0]
    r = model.input_repeats
    return (jnp.concatenate([mean] + [x_mean] * r),
            jnp.concatenate([var] + [x_var] * r))

  u = _folded_block(h, *stats('conv6', conv6_stats), params['conv6'], 1,
                    repeats=model.input_repeats)
  # The next block (CONV7, or the pitch map) and the voicing row both read
  # CONV6's output with the same batch statistics: one convolution.
  names = [f'conv{6 + i}' for i in range(1, len(model.decoder_channels) + 1)]
  stats6 = _stats(u) if train else None
  c = u.shape[-1]
  both = _conv_selu(u, [
      bn_fold.fold(c, *stats(names[0], lambda: stats6), params[names[0]]),
      bn_fold.fold(c, *stats('voicing', lambda: stats6), params['voicing'])], 1)
  u, voicing = both[..., :-1], both[..., -1:]
  for name in names[1:]:  # CONV8 ..., the last one the one-channel pitch map
    u = _folded_block(u, *stats(name, functools.partial(_stats, u)),
                      params[name], 1)
  voicing = jnp.mean(voicing, axis=1, keepdims=True)
  out = jnp.concatenate([voicing, u], axis=1)
  logits = jnp.transpose(out[..., 0], (0, 2, 1))
  if mutable == 'batch_stats' or 'batch_stats' in (mutable or ()):
    return logits, {'batch_stats': stats.updated if train else
                    variables['batch_stats']}
  return logits
