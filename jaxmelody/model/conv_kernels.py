"""A 3x3 (dilated) SAME convolution whose kernel gradient XLA:CPU runs fast.

XLA:CPU computes a convolution's kernel gradient as another convolution with
the batch axis as features: it transposes both activations to [C, H, W, B]
and runs a convolution with a 256 x 256 window: for dense10's CONV6
several times the forward pass, and the transposes of the one-channel
layers' inputs cost more than those layers (``python
benchmarks/train_profile.py`` prints the breakdown).

Here the kernel gradient is a matrix product on a flattened padded grid:
x zero-padded by d on both spatial axes has rows p = (b, h, w) of width
W + 2d, and tap (i, j) of output (h, w) reads row p + o_ij with the constant
offset o_ij = i d (W + 2d) + j d. With the output gradient g on the same
grid (output (h, w) at row (h, w), zeros elsewhere),

  dW[i, j] = sum_p g[p] (x) x_pad[p + o_ij],

i.e. g^T X9 with X9 = the nine shifted row blocks of x side by side. The
input gradient stays XLA's convolution (fast for these shapes). So does the
forward pass, except for dilated convolutions with few output channels
(the dense layers' 10): there XLA:CPU's convolution is slow, and one matrix
product x_pad @ [W_00 ... W_22] (9 F columns) followed by the sum of its
nine column blocks shifted by o_ij is faster (``_shifted_conv``). Results equal ``jax.lax.conv_general_dilated``'s and its
gradients up to float32 rounding (the sums run in another order).
"""

import functools

import jax
import jax.numpy as jnp

_DIMS = ('NHWC', 'HWIO', 'NHWC')

# Padded-grid rows per step of the chunked kernel gradient: the gathered
# block (rows x 9 C floats) stays in cache.
_ROWS = 4096


def xla_conv(x: jax.Array, kernel: jax.Array, dilation: int) -> jax.Array:
  """3x3 SAME convolution (dilation d, zero padding d), XLA's own."""
  d = dilation
  return jax.lax.conv_general_dilated(
      x, kernel, window_strides=(1, 1), padding=((d, d), (d, d)),
      rhs_dilation=(d, d), dimension_numbers=_DIMS)


# Forward passes with at most this many output channels, at least this many
# input channels and a dilation > 1 run as ``_shifted_conv``: 1.13-1.66x
# XLA's convolution for dense10's dense layers with 13 to 43 inputs, 0.93x
# for the first one's 3 (batch 16 x 256 x 256, 10 outputs; AMD Zen 3,
# ``python benchmarks/dense_conv_speed.py``).
_SHIFTED_MAX_FEATURES = 16
_SHIFTED_MIN_CHANNELS = 8


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


def _shifted_conv(x: jax.Array, kernel: jax.Array,
                  dilation: int) -> jax.Array:
  """``xla_conv`` as one matrix product and nine shifted adds.

  On the flattened padded grid output row p is sum_ij x_pad[p + o_ij] W_ij,
  so with Y = x_pad @ [W_00, ..., W_22] ([rows, 9 F]) it is the sum over
  taps of Y's column block ij read at row p + o_ij. XLA fuses the nine
  strided reads and the adds into one loop.
  """
  d = dilation
  b, h, w, c = x.shape
  f = kernel.shape[-1]
  hp, wp = h + 2 * d, w + 2 * d
  rows = b * hp * wp
  offsets = _offsets(d, wp)
  x_flat = jnp.pad(_pad_flat(x, d), ((0, offsets[-1]), (0, 0)))
  taps = kernel.reshape(9, c, f).transpose(1, 0, 2).reshape(c, 9 * f)
  y = jnp.dot(x_flat, taps, preferred_element_type=jnp.float32)
  out = sum(jax.lax.slice_in_dim(y, o, o + rows)[:, k * f:(k + 1) * f]
            for k, o in enumerate(offsets))
  return out.reshape(b, hp, wp, f)[:, :h, :w].astype(x.dtype)


def forward(x: jax.Array, kernel: jax.Array, dilation: int) -> jax.Array:
  """The forward pass: ``_shifted_conv`` where it is faster, else XLA's."""
  if (dilation > 1 and kernel.shape[-1] <= _SHIFTED_MAX_FEATURES
      and kernel.shape[2] >= _SHIFTED_MIN_CHANNELS):
    return _shifted_conv(x, kernel, dilation)
  return xla_conv(x, kernel, dilation)


def _kernel_grad(x, g, dilation, features):
  """dW of sum(conv(x, W) * g), in row chunks of the padded grid.

  A loop over chunks of ``_ROWS`` output rows: each step gathers the
  chunk's nine shifted input rows X9 [n, 9 C] (small enough to stay in
  cache) and adds g_chunk^T X9 [F, 9 C]. Gathering X9 for the whole batch
  at once costs more in memory traffic than the product.
  """
  d = dilation
  b, h, w, c = x.shape
  f = features
  hp, wp = h + 2 * d, w + 2 * d
  rows = b * hp * wp
  offsets = _offsets(d, wp)
  n = _ROWS
  steps = -(-rows // n)
  # x on the padded grid, with room for the last chunk's furthest tap; g on
  # the same grid (output (h, w) at row (h, w), zeros elsewhere).
  x_flat = jnp.pad(_pad_flat(x, d),
                   ((0, offsets[-1] + steps * n - rows), (0, 0)))
  g_flat = jnp.pad(g, ((0, 0), (0, 2 * d), (0, 2 * d), (0, 0))).reshape(
      rows, f)
  g_flat = jnp.pad(g_flat, ((0, steps * n - rows), (0, 0)))

  def step(i, total):
    start = i * n
    x9 = jnp.concatenate([jax.lax.dynamic_slice_in_dim(x_flat, start + o, n)
                          for o in offsets], axis=1)
    g_chunk = jax.lax.dynamic_slice_in_dim(g_flat, start, n)
    return total + jax.lax.dot_general(
        g_chunk, x9, (((0,), (0,)), ((), ())),
        preferred_element_type=jnp.float32)

  total = jax.lax.fori_loop(0, steps, step,
                            jnp.zeros((f, 9 * c), jnp.float32))
  return total.reshape(f, 3, 3, c).transpose(1, 2, 3, 0)


def _backward(x, kernel, g, dilation):
  """(dx, dkernel) of sum(conv(x, kernel) * g).

  The input gradient is XLA's own (a convolution with the flipped kernel;
  computing it from the gathered gradient rows instead was slower).
  """
  _, input_vjp = jax.vjp(lambda a: xla_conv(a, kernel, dilation), x)
  (dx,) = input_vjp(g)
  dkernel = _kernel_grad(x, g, dilation, kernel.shape[-1])
  return dx, dkernel.astype(kernel.dtype)


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
  return forward(x, kernel, dilation)


def _conv3x3_fwd(x, kernel, dilation):
  return forward(x, kernel, dilation), (x, kernel)


def _conv3x3_bwd(dilation, residuals, g):
  x, kernel = residuals
  return _backward(x, kernel, g, dilation)


conv3x3.defvjp(_conv3x3_fwd, _conv3x3_bwd)
