"""A BatchNorm folded into the convolution after it: the shared algebra.

BatchNorm with given statistics is a per-channel affine map a x + b, and the
convolution after it zero-pads its input, so

  conv(pad0(a x + b), W) + c = conv(pad0(x), a W) + conv(pad0(1), T) + c,
  T = sum over input channels of b W   ([3, 3, F], ``fold``'s table),

where conv(pad0(1), T) (the border term) is the sum of T over the taps that
land inside the image. The training step (``folded_train``, batch statistics)
and the inference forward (``folded_forward``, running averages) both run
blocks this way; SELU follows every block.
"""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxmelody.model import network


def inside_taps(n: int, d: int) -> np.ndarray:
  """[3, n] float32: 1 where tap i (offset (i - 1) d) of row r is inside."""
  r = np.arange(n)[None, :] + (np.arange(3)[:, None] - 1) * d
  return ((r >= 0) & (r < n)).astype(np.float32)


def plus_row_border(y: jax.Array, by_col: jax.Array, dilation: int):
  """y [B, H, W, F] + sum_i inside_taps(H, d)[i][h] by_col[i, w, f].

  Tap row 0 is inside from row d on, tap row 2 up to row H - d, tap row 1
  everywhere: so every row gets the sum of by_col [3, W, F] and the first
  and last d rows lose one term. Written as three row bands joined, which
  XLA:CPU runs as one cheap loop; the sum of three [H] x [W, F] products
  per element it ran several times slower than the SELU after it.
  """
  height, d = y.shape[1], dilation
  full = jnp.sum(by_col, axis=0)
  if 2 * d > height:  # the bands overlap: add each row's own terms
    rows = inside_taps(height, d)
    return y + sum(rows[i][:, None, None] * by_col[i] for i in range(3))
  return jnp.concatenate([y[:, :d] + (full - by_col[0]),
                          y[:, d:height - d] + full,
                          y[:, height - d:] + (full - by_col[2])], axis=1)


# SELU's constants, as jax.nn.selu has them.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def selu_via_exp(x: jax.Array) -> jax.Array:
  """``jax.nn.selu`` to float32 rounding, its negative side through exp.

  XLA:CPU runs exp as a vectorised polynomial and expm1 (what jax.nn.selu
  uses) several times slower; exp(x) - 1 loses only absolute precision
  ~1e-7 near 0, where the output itself is ~x. (Inference uses it; the
  training step keeps jax.nn.selu so that runs resume bit-exactly.)
  """
  negative = SELU_ALPHA * (jnp.exp(jnp.minimum(x, 0.0)) - 1.0)
  return SELU_SCALE * jnp.where(x > 0, x, negative)


def fold(c: int, mean: jax.Array, var: jax.Array, params: dict[str, Any],
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
  scale = bn['scale'] * jax.lax.rsqrt(var + network.BN_EPSILON)
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
