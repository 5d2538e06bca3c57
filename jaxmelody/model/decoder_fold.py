"""An exact, cheaper CONV6 for inference with BatchNorm running averages.

CONV6's input is the encoder stack followed by the model input repeated
``input_repeats`` times (53 + 8 x 3 = 77 channels for dense10), and CONV6
holds about 60% of the model's FLOPs. With running averages, BatchNorm is a
fixed per-channel affine map, so the repeated copies can be folded:

  sum_k W_k * pad0(a_k x + b_k) = W_x * pad0(x) + W_1 * pad0(1)

with W_x = sum_k a_k W_k and W_1 = sum_k b_k W_k (W_k the kernel slice of
copy k, a_k, b_k its BatchNorm scale and shift). ``pad0(1)`` is a map of
ones over the valid frames: the convolution's zero padding (and, in padded
inference, the zeroed frames past the clip) see no shift. The block then
convolves 53 + 3 + 1 = 57 channels instead of 77: ~15% fewer model FLOPs,
same logits to float rounding.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxmelody.model import network


def folded_block(block: nn.Module, u: jax.Array, valid: jax.Array,
                 n_input: int, repeats: int) -> jax.Array:
  """Runs a bound ``network.PreActBlock`` (CONV6) on u with folded copies.

  Args:
    block: the bound PreActBlock whose input is ``concat(h, x * repeats)``;
      its conv must have dilation 1 (3x3, SAME).
    u: its input [B, H, L, C_h + repeats * n_input].
    valid: bool [1, 1, L, 1], True on frames that belong to the clip.
    n_input: channels of the model input x (3).
    repeats: how many copies of x end u.

  Returns:
    The block's output [B, H, L, features], float32, zero-padding exact.
  """
  params = block.variables['params']
  stats = block.variables['batch_stats']['bn']
  bn = params['bn']
  kernel = params['conv']['kernel'].astype(jnp.float32)  # [3, 3, C, F]
  c_h = u.shape[-1] - repeats * n_input
  scale = bn['scale'] * jax.lax.rsqrt(stats['var'] + network.BN_EPSILON)
  shift = bn['bias'] - stats['mean'] * scale
  # Encoder channels: ordinary BatchNorm, then zero past the clip.
  h = jnp.where(valid, u[..., :c_h] * scale[:c_h] + shift[:c_h], 0.0)
  copies = kernel[:, :, c_h:].reshape(3, 3, repeats, n_input, -1)
  w_x = jnp.einsum('hwkcf,kc->hwcf', copies,
                   scale[c_h:].reshape(repeats, n_input))
  w_1 = jnp.einsum('hwkcf,kc->hwf', copies,
                   shift[c_h:].reshape(repeats, n_input))[:, :, None]
  # Copy 0 of x, zeroed past the clip: the copies' BatchNorm outputs are
  # zero there, whatever the input holds.
  x = jnp.where(valid, u[..., c_h:c_h + n_input], 0.0)
  ones = jnp.broadcast_to(valid, x.shape[:-1] + (1,)).astype(jnp.float32)
  y = jax.lax.conv_general_dilated(
      jnp.concatenate([h, x, ones], axis=-1),
      jnp.concatenate([kernel[:, :, :c_h], w_x, w_1], axis=2),
      window_strides=(1, 1), padding=((1, 1), (1, 1)),
      dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
  return nn.selu(y + params['conv']['bias'])
