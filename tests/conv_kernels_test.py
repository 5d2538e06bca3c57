"""conv3x3 against XLA's convolution: values and both gradients."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import assert_rel_close
from jaxmelody.model import conv_kernels


def _xla(x, kernel, d):
  return jax.lax.conv_general_dilated(
      x, kernel, (1, 1), ((d, d), (d, d)), rhs_dilation=(d, d),
      dimension_numbers=('NHWC', 'HWIO', 'NHWC'))


@pytest.mark.parametrize('channels,features,dilation,batch', [
    (3, 10, 3, 2),     # the first dense layer
    (13, 10, 6, 1),
    (20, 40, 1, 3),    # wide: the chunked backward pass
    (7, 1, 2, 5),      # one output channel, more images than a chunk
    (5, 33, 4, 2),     # image width not a multiple of anything
    (9, 10, 24, 2),    # the last dense layer's rate: taps beyond the image
])
def test_values_and_gradients_equal_xla(channels, features, dilation, batch):
  rng = np.random.default_rng(channels)
  x = jnp.asarray(rng.normal(size=(batch, 24, 37, channels)), jnp.float32)
  kernel = jnp.asarray(rng.normal(size=(3, 3, channels, features)),
                       jnp.float32)
  g = jnp.asarray(rng.normal(size=(batch, 24, 37, features)), jnp.float32)
  want, want_vjp = jax.vjp(lambda a, k: _xla(a, k, dilation), x, kernel)
  got, got_vjp = jax.vjp(
      lambda a, k: conv_kernels.conv3x3(a, k, dilation), x, kernel)
  assert got.shape == want.shape
  assert_rel_close(got, want, 1e-6)
  for name, a, b in zip(('dx', 'dkernel'), got_vjp(g), want_vjp(g)):
    assert a.shape == b.shape, name
    assert_rel_close(a, b, 1e-5, name)


def test_chunked_backward_spans_several_chunks(monkeypatch):
  """More rows than one chunk: the loop's seams must not drop or repeat."""
  monkeypatch.setattr(conv_kernels, '_ROWS', 100)
  rng = np.random.default_rng(1)
  x = jnp.asarray(rng.normal(size=(2, 9, 11, 4)), jnp.float32)
  kernel = jnp.asarray(rng.normal(size=(3, 3, 4, 6)), jnp.float32)
  g = jnp.asarray(rng.normal(size=(2, 9, 11, 6)), jnp.float32)
  got = conv_kernels._backward(x, kernel, g, 2)  # pylint: disable=protected-access
  want = jax.vjp(lambda a, k: _xla(a, k, 2), x, kernel)[1](g)
  for a, b in zip(got, want):
    assert_rel_close(a, b, 1e-5)
