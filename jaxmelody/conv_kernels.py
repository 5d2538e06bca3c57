"""A 3x3 (dilated) SAME convolution made of matrix products XLA:CPU runs fast.

XLA:CPU computes a convolution's kernel gradient as another convolution with
the batch axis as features: it transposes both activations to
[C, H, W, B] and runs a convolution with a 256 x 256 window. For dense10's
CONV6 that took 5-6x the forward pass (benchmarks/RESULTS.md, "Where the
training step's time goes"); layers with 10 output channels are slow in
every direction.

Flattened padded grid: x zero-padded by d on both spatial axes has rows
p = (b, h, w) of width W + 2d; tap (i, j) of output (h, w) reads row
p + o_ij with the constant offset o_ij = i d (W + 2d) + j d. With the
output gradient g placed on the same grid (output (h, w) at row (h, w),
zeros elsewhere) and G9[q, ij] = g[q - o_ij] (nine shifted copies side by
side):

  kernel gradient  dW[ij] = sum_q x_pad[q] (x) G9[q, ij]  = x_pad^T G9,
  input gradient   dx_pad = G9 @ [W_00; W_01; ...; W_22]^T,

two plain matrix products on one buffer, with no transposes. Forward, layers
with few output channels (the dense encoder's 10) use Y9 = x_pad @ [W_ij]
([rows, 9 F]) and y[p] = sum_ij Y9[p + o_ij, ij]; wider layers keep XLA's
convolution, which is fast there. Everything equals
``jax.lax.conv_general_dilated`` and its gradients up to float32 rounding
(sums run in another order).
"""

import functools

import jax
import jax.numpy as jnp

_DIMS = ('NHWC', 'HWIO', 'NHWC')

# Padded-grid rows per step of the chunked backward pass: its two gathered
# blocks (rows x 9 C and rows x 9 F floats) stay in cache.
_ROWS = 4096

# Output channels from which the backward pass is the chunked one.
_CHUNKED_BACKWARD_MIN_FEATURES = 1

# Output channels up to which the forward pass is a product plus shifted adds.
_GEMM_FORWARD_MAX_FEATURES = 0  # measured slower at 16: off


def _xla_conv(x: jax.Array, kernel: jax.Array, dilation: int) -> jax.Array:
  d = dilation
  return jax.lax.conv_general_dilated(
      x, kernel, window_strides=(1, 1), padding=((d, d), (d, d)),
      rhs_dilation=(d, d), dimension_numbers=_DIMS)


def _offsets(dilation: int, width: int) -> list[int]:
  """Row offsets o_ij of the nine taps on a padded grid of this width."""
  d = dilation
  return [i * d * width + j * d for i in range(3) for j in range(3)]


def _pad_flat(x: jax.Array, dilation: int) -> jax.Array:
  """[B, H, W, C] -> zero-padded by d, flattened to [B (H+2d)(W+2d), C]."""
  d = dilation
  b, h, w, c = x.shape
  return jnp.pad(x, ((0, 0), (d, d), (d, d), (0, 0))).reshape(
      b * (h + 2 * d) * (w + 2 * d), c)


def _gemm_forward(x: jax.Array, kernel: jax.Array, dilation: int) -> jax.Array:
  """The convolution as x_pad @ [W_ij] and nine shifted adds."""
  d = dilation
  b, h, w, c = x.shape
  f = kernel.shape[-1]
  hp, wp = h + 2 * d, w + 2 * d
  rows = b * hp * wp
  y9 = jnp.dot(_pad_flat(x, d), kernel.reshape(9, c, f).transpose(1, 0, 2)
               .reshape(c, 9 * f)).reshape(rows, 9, f)
  # Output row p (top-left of the padded grid) gathers y9[p + o_ij, ij];
  # rows past the end only feed outputs that are cropped away.
  y9 = jnp.pad(y9, ((0, 2 * d * wp + 2 * d), (0, 0), (0, 0)))
  y = sum(y9[o:o + rows, k] for k, o in enumerate(_offsets(d, wp)))
  return y.reshape(b, hp, wp, f)[:, :h, :w]


def _forward(x, kernel, dilation):
  if kernel.shape[-1] <= _GEMM_FORWARD_MAX_FEATURES:
    return _gemm_forward(x, kernel, dilation)
  return _xla_conv(x, kernel, dilation)


def _backward(x, kernel, g, dilation):
  """(dx, dkernel) of sum(conv(x, kernel) * g), in row chunks.

  A loop over chunks of ``_ROWS`` output rows of the padded grid: each step
  gathers the chunk's nine shifted input rows X9 [n, 9 C] and nine shifted
  gradient rows G9 [n, 9 F] (small enough to stay in cache) and runs
  dW += g_chunk^T X9 and dx_chunk = G9 W_rows. Materialising X9 or G9 for
  the whole batch instead costs more in memory traffic than the products.
  """
  d = dilation
  b, h, w, c = x.shape
  f = kernel.shape[-1]
  hp, wp = h + 2 * d, w + 2 * d
  rows = b * hp * wp
  offsets = _offsets(d, wp)
  reach = offsets[-1]
  n = _ROWS
  steps = -(-rows // n)
  # x on the padded grid, with room for the last chunk's furthest tap;
  # g on the same grid (output (h, w) at row (h, w)) with room in front
  # for the taps that reach back.
  x_flat = jnp.pad(_pad_flat(x, d), ((0, reach + steps * n - rows), (0, 0)))
  g_flat = jnp.pad(g, ((0, 0), (0, 2 * d), (0, 2 * d), (0, 0))).reshape(
      rows, f)
  g_flat = jnp.pad(g_flat, ((reach, steps * n - rows), (0, 0)))
  w_rows = kernel.reshape(9, c, f).transpose(0, 2, 1).reshape(9 * f, c)

  def step(i, carry):
    dkernel, dx = carry
    start = i * n
    x9 = jnp.concatenate([jax.lax.dynamic_slice_in_dim(x_flat, start + o, n)
                          for o in offsets], axis=1)
    g_chunk = jax.lax.dynamic_slice_in_dim(g_flat, start + reach, n)
    dkernel = dkernel + jax.lax.dot_general(
        g_chunk, x9, (((0,), (0,)), ((), ())),
        preferred_element_type=jnp.float32)
    g9 = jnp.concatenate([
        jax.lax.dynamic_slice_in_dim(g_flat, start + reach - o, n)
        for o in offsets], axis=1)
    dx = jax.lax.dynamic_update_slice_in_dim(
        dx, jnp.dot(g9, w_rows, preferred_element_type=jnp.float32), start,
        axis=0)
    return dkernel, dx

  dkernel, dx = jax.lax.fori_loop(
      0, steps, step, (jnp.zeros((f, 9 * c), jnp.float32),
                       jnp.zeros((steps * n, c), jnp.float32)))
  dx = dx[:rows].reshape(b, hp, wp, c)[:, d:d + h, d:d + w]
  dkernel = dkernel.reshape(f, 3, 3, c).transpose(1, 2, 3, 0)
  return dx.astype(x.dtype), dkernel.astype(kernel.dtype)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def conv3x3(x: jax.Array, kernel: jax.Array, dilation: int) -> jax.Array:
  """3x3 convolution, dilation d, zero padding d (same size), NHWC / HWIO.

  Args:
    x: [B, H, W, C].
    kernel: [3, 3, C, F].
    dilation: d >= 1 on both spatial axes.

  Returns:
    [B, H, W, F], ``jax.lax.conv_general_dilated`` with these settings.
  """
  return _forward(x, kernel, dilation)


def _conv3x3_fwd(x, kernel, dilation):
  return _forward(x, kernel, dilation), (x, kernel)


def _conv3x3_bwd(dilation, residuals, g):
  x, kernel = residuals
  if kernel.shape[-1] >= _CHUNKED_BACKWARD_MIN_FEATURES:
    return _backward(x, kernel, g, dilation)
  # Narrow layers: XLA's own gradients are as fast.
  _, vjp = jax.vjp(lambda a, k: _xla_conv(a, k, dilation), x, kernel)
  return vjp(g)


conv3x3.defvjp(_conv3x3_fwd, _conv3x3_bwd)
