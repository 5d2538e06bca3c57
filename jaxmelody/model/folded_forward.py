"""Inference with every BatchNorm folded into the next convolution.

The folded formulation of ``folded_train`` with the padding semantics of
``engine.InferenceModel``: every BatchNorm output is zeroed on the frames
past the clip, so the logits of the first n_valid frames of a padded input
are those of the unpadded clip. Running averages only; a forward pass (no
custom gradients). ``engine.InferenceModel`` runs ``apply_masked`` for every
inference with running averages.

The dense stack carries one more channel than the model's: channel 0 is 1 on
the clip's frames and 0 past them. Convolved with the table of a folded
BatchNorm's shift it gives exactly that shift's border term (the taps that
read inside the image and the clip), so the stack's convolutions need no
separate border pass, only SELU and the mask after them.
"""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxmelody.model import bn_fold
from jaxmelody.model import conv_kernels
from jaxmelody.model import network


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
  return bn_fold.fold(c, ra['mean'], ra['var'], params, repeats)


def _masked_conv(h: jax.Array, n_valid: jax.Array, folds, dilation: int,
                 ones_channel: bool = False):
  """SELU(conv + border + bias) of folded blocks that read the same h.

  Args:
    h: the blocks' stored input [B, H, W, C], zero past the clip.
    n_valid: the clip's frames (traced int scalar).
    folds: one ``_masked_fold`` result per block; their output channels are
      computed by one convolution (one pass over h) and split again.
    dilation: the convolutions' dilation (padding equals it).
    ones_channel: h's channel 0 is 1 on the clip's frames and 0 past them
      (the folds cover the other C - 1 channels): the border term is that
      channel convolved with the folds' tables, computed by the convolution
      itself.

  Returns:
    a list with each block's output [B, H, W, F_k] (valid frames exact;
    frames past the clip not zeroed).
  """
  kernel, table, bias = (jnp.concatenate(parts, axis=-1)
                         for parts in zip(*folds))
  d = dilation
  if ones_channel:
    kernel = jnp.concatenate([table[:, :, None, :], kernel], axis=2)
  y = conv_kernels.xla_conv(h, kernel, d)
  if not ones_channel:
    by_col = jnp.einsum('jw,ijf->iwf', _valid_taps(y.shape[2], d, n_valid),
                        table)
    y = bn_fold.plus_row_border(y, by_col, d)
  y = bn_fold.selu_via_exp(y + bias)
  splits = np.cumsum([f[2].shape[-1] for f in folds])[:-1]
  return jnp.split(y, splits, axis=-1)


def apply_masked(model: network.MSFCN, variables: dict[str, Any],
                 x: jax.Array, n_valid) -> jax.Array:
  """Running-average logits of x whose first n_valid frames are the clip.

  Equals (to float32 rounding) ``model.apply(variables, x, train=False)``
  with every BatchNorm output set to 0 on frames >= n_valid, which is what
  ``engine.InferenceModel`` runs: the logits of the first n_valid frames
  are those of the unpadded clip. A forward pass (no custom gradients).

  Args:
    model: the MSFCN whose layout the variables have (float32).
    variables: {'params', 'batch_stats'}.
    x: CFP input [B, 256, W, 3].
    n_valid: the clip's frames (int, may be traced), 0 < n_valid <= W.

  Returns:
    logits [B, W, 257] float32; frames >= n_valid are meaningless.
  """
  if x.ndim != 4 or x.shape[-1] != 3:
    raise ValueError(f'MSFCN expects [batch, freq, time, 3], got {x.shape}')
  params, stats = variables['params'], variables['batch_stats']
  valid = (jnp.arange(x.shape[2]) < n_valid)[None, None, :, None]
  zero_past = lambda a: jnp.where(valid, a, jnp.zeros((), a.dtype))

  def block(h, names, dilation=1, repeats=0, ones_channel=False):
    c = h.shape[-1] - ones_channel
    folds = [_masked_fold(params[n], stats[n], c, repeats) for n in names]
    return _masked_conv(h, n_valid, folds, dilation, ones_channel)

  # Every block output a later convolution reads is stored zeroed past the
  # clip (the where fuses into the SELU), so it is read as is. The stack
  # starts with the clip indicator (module docstring).
  ones = jnp.broadcast_to(valid, x.shape[:3] + (1,)).astype(jnp.float32)
  h = jnp.concatenate([ones, zero_past(x.astype(jnp.float32))], axis=-1)
  for i, rate in enumerate(model.dilations):
    c = zero_past(block(h, [f'dense_{i}'], rate, ones_channel=True)[0])
    h = jnp.concatenate([h, c], axis=-1)
  # CONV6 reads [stack, x * R]; after the indicator the stack starts with x,
  # so the copies fold into those channels.
  u = zero_past(block(h, ['conv6'], repeats=model.input_repeats,
                      ones_channel=True)[0])
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
