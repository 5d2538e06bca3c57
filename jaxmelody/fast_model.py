"""MSFCN with every BatchNorm folded into the next convolution.

The same network as ``models.MSFCN`` (same parameter and batch-statistics
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
import numpy as np

from jaxmelody import conv_kernels
from jaxmelody import models

# flax BatchNorm's momentum as models.PreActBlock sets it.
_MOMENTUM = 0.9


def supports(model: models.MSFCN) -> bool:
  """True if this formulation can run ``model`` (float32 compute)."""
  return model.dtype == jnp.float32


def _stats(x: jax.Array) -> tuple[jax.Array, jax.Array]:
  """Per-channel batch mean and (two-pass, biased) variance of [B, H, W, C]."""
  mean = jnp.mean(x, axis=(0, 1, 2))
  var = jnp.mean(jnp.square(x - mean), axis=(0, 1, 2))
  return mean, var


def _inside(n: int, d: int) -> np.ndarray:
  """[3, n] float32: 1 where tap i (offset (i - 1) d) of row r is inside."""
  r = np.arange(n)[None, :] + (np.arange(3)[:, None] - 1) * d
  return ((r >= 0) & (r < n)).astype(np.float32)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _add_border(y: jax.Array, table: jax.Array, dilation: int) -> jax.Array:
  """y [B, H, W, F] plus the shift part of a folded BatchNorm.

  That part is conv(pad0(ones), table): at output (h, w) the sum of
  table[i, j] over the taps whose input row h + (i - 1) d and column
  w + (j - 1) d lie inside the image. It is built from broadcasts so that
  XLA adds it inside the consumer's loop.
  """
  _, height, width, _ = y.shape
  rows = _inside(height, dilation)
  by_col = jnp.einsum('jw,ijf->iwf', _inside(width, dilation), table)
  return y + sum(rows[i][:, None, None] * by_col[i] for i in range(3))


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


def _fold(c: int, mean: jax.Array, var: jax.Array, params: dict[str, Any],
          repeats: int = 0):
  """A block's BatchNorm folded into its convolution.

  Args:
    c: channels of the raw input x the folded kernel is applied to.
    mean, var: the statistics BatchNorm normalises with, one per channel
      of the block's input (c + repeats k).
    params: the block's {'bn': {scale, bias}, 'conv': {kernel, bias}}.
    repeats: how many copies of x's first k channels (k = the rest of the
      kernel's input channels / repeats) the block's input appends to x;
      their kernel slices fold onto those channels (CONV6: the model input).

  Returns:
    (kernel [3, 3, c, F] for raw x, border table [3, 3, F], bias [F]).
  """
  bn, conv = params['bn'], params['conv']
  scale = bn['scale'] * jax.lax.rsqrt(var + models.BN_EPSILON)
  shift = bn['bias'] - mean * scale
  kernel = conv['kernel']
  scaled = kernel * scale[:, None]
  folded = scaled[:, :, :c]
  if repeats:
    copies = scaled[:, :, c:]
    k = copies.shape[2] // repeats
    folded = folded.at[:, :, :k].add(
        copies.reshape(3, 3, repeats, k, -1).sum(axis=2))
  return folded, jnp.einsum('ijcf,c->ijf', kernel, shift), conv['bias']


def _conv_selu(x: jax.Array, folds, dilation: int) -> jax.Array:
  """SELU(conv(pad0(BatchNorm(x)))) of one or more folded blocks at once.

  Blocks that read the same input are one convolution with their kernels
  side by side (CONV7 and the voicing row both read CONV6's output).

  Args:
    x: raw input [B, H, W, C].
    folds: ``_fold`` results, one per block.
    dilation: the convolutions' dilation (padding equals it).

  Returns:
    [B, H, W, sum of F] float32, the blocks' outputs side by side.
  """
  kernel, table, bias = (jnp.concatenate(parts, axis=-1)
                         for parts in zip(*folds))
  y = conv_kernels.conv3x3(x, kernel, dilation)
  return jax.nn.selu(_add_border(y, table, dilation) + bias)


def _folded_block(x: jax.Array, mean: jax.Array, var: jax.Array,
                  params: dict[str, Any], dilation: int,
                  repeats: int = 0) -> jax.Array:
  """SELU(conv(BatchNorm([x, x[..., :k] * repeats]))), BatchNorm folded.

  See ``_fold`` for the arguments; returns [B, H, W, F] float32.
  """
  return _conv_selu(x, [_fold(x.shape[-1], mean, var, params, repeats)],
                    dilation)


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


def apply(model: models.MSFCN, variables: dict[str, Any], x: jax.Array, *,
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
    c = _folded_block(h, *stats(f'dense_{i}', stack_stats), params[f'dense_{i}'],
                      rate)
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
      _fold(c, *stats(names[0], lambda: stats6), params[names[0]]),
      _fold(c, *stats('voicing', lambda: stats6), params['voicing'])], 1)
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


# Inference on padded input: the folded formulation with the padding
# semantics of ``inference.InferenceModel`` (every BatchNorm output zeroed
# on the frames past the clip). A forward pass only.


def _valid_taps(width: int, dilation: int, n_valid: jax.Array) -> jax.Array:
  """[3, width] float32: 1 where tap j of frame t reads a valid frame.

  Tap j reads frame t + (j - 1) d; it counts iff 0 <= that < n_valid, so
  the frames past the clip look like the convolution's own zero padding.
  """
  t = (jnp.arange(width)[None, :]
       + jnp.asarray((np.arange(3)[:, None] - 1) * dilation))
  return ((t >= 0) & (t < n_valid)).astype(jnp.float32)


def _masked_fold(params: dict[str, Any], stats: dict[str, Any], c: int,
                 repeats: int = 0):
  """A block's running-average BatchNorm folded into its convolution.

  BatchNorm with running averages is a fixed per-channel affine map
  a h + b, so for h zero past the clip

    conv(pad0(where(valid, a h + b, 0)), W) = conv(pad0(h), a W) + border,
    border[r, t, f] = sum_ij rows_i[r] valid_j[t] table[i, j, f],
    table = sum_c b_c W[:, :, c]

  (rows_i: tap i's row inside the 256 rows; valid_j: tap j's frame inside
  the clip). No statistics are computed and no normalised copy is written.

  Args:
    params: the block's {'bn': {scale, bias}, 'conv': {kernel, bias}}.
    stats: the block's running averages {'bn': {mean, var}}.
    c: channels of the stored input h.
    repeats: copies of h's first k channels the block's input appends to h
      (k = the rest of the kernel's input channels / repeats; CONV6): their
      kernel slices fold onto those channels.

  Returns:
    (kernel [3, 3, c, F] for h, table [3, 3, F], conv bias [F]).
  """
  ra = stats['bn']
  return _fold(c, ra['mean'], ra['var'], params, repeats)


# Padded-grid rows per step of the chunked forward convolution (as
# conv_kernels' chunked backward pass).
_CONV_ROWS = 4096

CONV_IMPLS = ('xla', 'chunked')


def _chunked_conv(x: jax.Array, kernel: jax.Array, dilation: int) -> jax.Array:
  """3x3 SAME convolution (dilation d, zero padding d) as chunked products.

  On the flattened zero-padded grid (``conv_kernels``), output row p is
  sum_ij x_pad[p + o_ij] W_ij: a loop over chunks of ``_CONV_ROWS`` rows
  gathers each chunk's nine shifted input rows X9 [n, 9 C] and runs one
  matrix product X9 @ [W_00; ...; W_22], the structure of conv_kernels'
  input-gradient pass. Equals ``jax.lax.conv_general_dilated`` up to float32
  rounding (sums in another order).
  """
  d = dilation
  b, h, w, c = x.shape
  f = kernel.shape[-1]
  hp, wp = h + 2 * d, w + 2 * d
  rows = b * hp * wp
  offsets = [i * d * wp + j * d for i in range(3) for j in range(3)]
  n = _CONV_ROWS
  steps = -(-rows // n)
  x_flat = jnp.pad(x, ((0, 0), (d, d), (d, d), (0, 0))).reshape(rows, c)
  x_flat = jnp.pad(x_flat, ((0, offsets[-1] + steps * n - rows), (0, 0)))
  w_rows = kernel.reshape(9 * c, f)  # rows ordered (i, j, c) like X9

  def step(i, y):
    start = i * n
    x9 = jnp.concatenate([jax.lax.dynamic_slice_in_dim(x_flat, start + o, n)
                          for o in offsets], axis=1)
    return jax.lax.dynamic_update_slice_in_dim(
        y, jnp.dot(x9, w_rows, preferred_element_type=jnp.float32), start,
        axis=0)

  y = jax.lax.fori_loop(0, steps, step,
                        jnp.zeros((steps * n, f), jnp.float32))
  return y[:rows].reshape(b, hp, wp, f)[:, :h, :w]


def _masked_conv(h: jax.Array, n_valid: jax.Array, folds, dilation: int,
                 conv_impl: str = 'xla'):
  """SELU(conv + border + bias) of folded blocks that read the same h.

  Args:
    h: the blocks' stored input [B, H, W, C], zero past the clip.
    n_valid: the clip's frames (traced int scalar).
    folds: one ``_masked_fold`` result per block; their output channels are
      computed by one convolution (one pass over h) and split again.
    dilation: the convolutions' dilation (padding equals it).
    conv_impl: 'xla' (``jax.lax.conv_general_dilated``) or 'chunked'
      (``_chunked_conv``).

  Returns:
    a list with each block's output [B, H, W, F_k] (valid frames exact;
    frames past the clip not zeroed).
  """
  kernel, table, bias = (jnp.concatenate(parts, axis=-1)
                         for parts in zip(*folds))
  d = dilation
  if conv_impl == 'chunked':
    y = _chunked_conv(h, kernel, d)
  else:
    y = jax.lax.conv_general_dilated(
        h, kernel, window_strides=(1, 1), padding=((d, d), (d, d)),
        rhs_dilation=(d, d), dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
  _, height, width, _ = y.shape
  rows = _inside(height, d)  # static
  # [3, W, F]; the border is built from broadcasts, so XLA adds it inside
  # the convolution's consumer.
  by_col = jnp.einsum('jw,ijf->iwf', _valid_taps(width, d, n_valid), table)
  border = sum(rows[i][:, None, None] * by_col[i] for i in range(3))
  y = jax.nn.selu(y + border + bias)
  splits = np.cumsum([f[2].shape[-1] for f in folds])[:-1]
  return jnp.split(y, splits, axis=-1)


def apply_masked(model: models.MSFCN, variables: dict[str, Any],
                 x: jax.Array, n_valid, conv_impl: str = 'xla') -> jax.Array:
  """Running-average logits of x whose first n_valid frames are the clip.

  Equals (to float32 rounding) ``model.apply(variables, x, train=False)``
  with every BatchNorm output set to 0 on frames >= n_valid, which is what
  ``inference.InferenceModel`` runs: the logits of the first n_valid frames
  are those of the unpadded clip. A forward pass (no custom gradients).

  Args:
    model: the MSFCN whose layout the variables have (float32).
    variables: {'params', 'batch_stats'}.
    x: CFP input [B, 256, W, 3].
    n_valid: the clip's frames (int, may be traced), 0 < n_valid <= W.
    conv_impl: how the convolutions run: 'xla' (XLA's convolution) or
      'chunked' (gathered rows times the kernel, ``_chunked_conv``); the
      same values to float32 rounding.

  Returns:
    logits [B, W, 257] float32; frames >= n_valid are meaningless.
  """
  if x.ndim != 4 or x.shape[-1] != 3:
    raise ValueError(f'MSFCN expects [batch, freq, time, 3], got {x.shape}')
  if conv_impl not in CONV_IMPLS:
    raise ValueError(f'conv_impl: {conv_impl!r} is not one of {CONV_IMPLS}')
  params, stats = variables['params'], variables['batch_stats']
  valid = (jnp.arange(x.shape[2]) < n_valid)[None, None, :, None]
  zero_past = lambda a: jnp.where(valid, a, jnp.zeros((), a.dtype))

  def block(h, names, dilation=1, repeats=0):
    folds = [_masked_fold(params[n], stats[n], h.shape[-1], repeats)
             for n in names]
    return _masked_conv(h, n_valid, folds, dilation, conv_impl)

  # Every block output a later convolution reads is stored zeroed past the
  # clip (the where fuses into the SELU), so it is read as is.
  h = zero_past(x.astype(jnp.float32))
  for i, rate in enumerate(model.dilations):
    c = zero_past(block(h, [f'dense_{i}'], rate)[0])
    # Materialised once (see apply).
    h = jax.lax.optimization_barrier(jnp.concatenate([h, c], axis=-1))
  # CONV6 reads [h, x * R]; h starts with x, so the copies fold into it.
  u = zero_past(block(h, ['conv6'], repeats=model.input_repeats)[0])
  # CONV7 (or the pitch map) and the voicing map both read CONV6's output:
  # with their BatchNorms folded they are one convolution.
  names = [f'conv{6 + i}' for i in range(1, len(model.decoder_channels) + 1)]
  u, voicing = block(u, [names[0], 'voicing'])
  for name in names[1:]:  # CONV8 ..., the last one the one-channel pitch map
    u = block(zero_past(u), [name])[0]
  # Outputs past the clip of the one-channel maps are never read.
  voicing = jnp.mean(voicing, axis=1, keepdims=True)
  out = jnp.concatenate([voicing, u], axis=1)
  return jnp.transpose(out[..., 0], (0, 2, 1))
