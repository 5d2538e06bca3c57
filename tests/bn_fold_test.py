"""Tests of the BatchNorm-folding algebra (``jaxmelody/model/bn_fold.py``)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxmelody.model import bn_fold
from jaxmelody.model import conv_kernels
from jaxmelody.model import network


@pytest.mark.parametrize('repeats', [0, 2])
def test_folded_block_equals_batchnorm_then_convolution(repeats):
  # conv(pad0(BatchNorm([x, x[..., :k] * repeats])), W) + c, written out,
  # against conv(pad0(x), kernel) + conv(pad0(1), table) + c.
  rng = np.random.default_rng(repeats)
  c, k, f, d = 5, 2, 4, 2
  x = rng.normal(size=(2, 9, 11, c)).astype(np.float32)
  full = np.concatenate([x] + [x[..., :k]] * repeats, axis=-1)
  n_in = full.shape[-1]
  params = {'bn': {'scale': rng.uniform(0.5, 2, n_in).astype(np.float32),
                   'bias': rng.normal(size=n_in).astype(np.float32)},
            'conv': {'kernel': rng.normal(size=(3, 3, n_in, f))
                               .astype(np.float32),
                     'bias': rng.normal(size=f).astype(np.float32)}}
  mean = full.mean(axis=(0, 1, 2))
  var = full.var(axis=(0, 1, 2))
  normed = ((full - mean) / np.sqrt(var + network.BN_EPSILON)
            * params['bn']['scale'] + params['bn']['bias'])
  want = (conv_kernels.xla_conv(jnp.asarray(normed), params['conv']['kernel'],
                                d) + params['conv']['bias'])
  kernel, table, bias = bn_fold.fold(c, jnp.asarray(mean), jnp.asarray(var),
                                     params, repeats)
  ones = jnp.ones(x.shape[:3] + (1,))
  got = (conv_kernels.xla_conv(jnp.asarray(x), kernel, d)
         + conv_kernels.xla_conv(ones, table[:, :, None, :], d) + bias)
  np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('height,dilation', [(256, 24), (9, 1), (7, 3), (4, 3)])
def test_row_border_bands_equal_the_broadcast_sum(height, dilation):
  # The last two: the first and last d rows overlap (2 d > H).
  rng = np.random.default_rng(height)
  y = rng.normal(size=(2, height, 5, 3)).astype(np.float32)
  by_col = rng.normal(size=(3, 5, 3)).astype(np.float32)
  rows = bn_fold.inside_taps(height, dilation)
  want = y + sum(rows[i][:, None, None] * by_col[i] for i in range(3))
  got = bn_fold.plus_row_border(jnp.asarray(y), jnp.asarray(by_col),
                                   dilation)
  np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_selu_via_exp_equals_selu_to_float32_rounding():
  x = np.concatenate([np.linspace(-30, 30, 10001, dtype=np.float32),
                      np.float32([0.0, -1e-8, 1e-8, -1e-4, 1e-4])])
  got = np.asarray(bn_fold.selu_via_exp(jnp.asarray(x)))
  want = np.asarray(jax.nn.selu(jnp.asarray(x)))
  assert np.all(np.abs(got - want) <= 3e-7 * np.maximum(1.0, np.abs(want)))
