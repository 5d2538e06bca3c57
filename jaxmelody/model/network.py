"""The multi-scale fully convolutional network (DenseASPP) of Gao, You & Chi.

A Flax linen port of the paper authors' released PyTorch model, laid out so
their weights load unchanged (see ``released_weights.py``). Layout is NHWC with
H = frequency (256 CFP rows) and W = time (frames), C = CFP channels
[spectrum, GCoS, GC].

Submodule names (each a pre-activation ``PreActBlock`` with ``bn`` and
``conv``), with the released code's name in brackets:

- ``dense_0`` .. ``dense_{n-1}``: the dense encoder, one per dilation rate
  [``conv_d_3`` .. ``conv_d_24``];
- ``conv6``, ``conv7``: the decoder [``up_conv3_pitch``, ``up_conv2_pitch``];
- ``conv8``: the one-channel pitch map [``up_conv1_pitch``];
- ``voicing``: the no-melody row, computed from ``conv6``'s output
  [``bottom_pitch``].
"""

from collections.abc import Sequence
import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxmelody.errors import ConfigError
from jaxmelody.frontend.feature_config import FEATURES

_DTYPES = {'float32': jnp.float32, 'bfloat16': jnp.bfloat16}


def _uniform(key, shape, dtype=jnp.float32, *, bound: float):
  return jax.random.uniform(key, shape, dtype, -bound, bound)


# PyTorch BatchNorm2d's default, which the released weights were trained with.
BN_EPSILON = 1e-5


class PreActBlock(nn.Module):
  """BatchNorm -> 3x3 (dilated) convolution -> SELU, as the released code.

  Attributes:
    features: Output channels.
    dilation: Dilation rate on both axes; zero padding equals it (SAME size).
    dtype: Compute dtype (parameters stay float32).
  """
  features: int
  dilation: int = 1
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
    """Maps [B, H, W, C_in] to [B, H, W, features]."""
    # PyTorch BatchNorm2d defaults: eps 1e-5, momentum 0.1 (flax: 0.9). The
    # two-pass variance matches torch in batch-statistics mode. (Flax keeps
    # the biased variance as running average where torch keeps the unbiased
    # one: a factor n / (n - 1) with n = batch * 256 * frames, negligible.)
    x = nn.BatchNorm(use_running_average=not train, momentum=0.9,
                     epsilon=BN_EPSILON, use_fast_variance=False, dtype=self.dtype,
                     name='bn')(x)
    d = self.dilation
    # PyTorch's default Conv2d init, which the paper's model was trained
    # from: kernel and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    bound = 1.0 / np.sqrt(9 * x.shape[-1])
    x = nn.Conv(self.features, (3, 3), kernel_dilation=(d, d),
                padding=((d, d), (d, d)), dtype=self.dtype,
                kernel_init=nn.initializers.variance_scaling(
                    1.0 / 3.0, 'fan_in', 'uniform'),
                bias_init=functools.partial(_uniform, bound=bound),
                name='conv')(x)
    return nn.selu(x)


class MSFCN(nn.Module):
  """DenseASPP melody network; the defaults are the paper's DenseASPP_10.

  Attributes:
    growth: Channels added by each dense encoder layer.
    dilations: One encoder layer per dilation rate, in order.
    input_repeats: Times the input is appended to the decoder's input.
    decoder_channels: Channels of CONV6, CONV7, ...; CONV8 has one channel.
    dtype: Compute dtype (float32 or bfloat16); logits are float32.
  """
  growth: int = 10
  dilations: Sequence[int] = (3, 6, 12, 18, 24)
  input_repeats: int = 8
  decoder_channels: Sequence[int] = (64, 32)
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
    """Computes per-frame class logits (no softmax).

    Args:
      x: CFP input [B, F=256, T, 3] (see ``cfp_to_input``).
      train: BatchNorm uses (and updates) batch statistics when True.

    Returns:
      float32 logits [B, T, F + 1]; class 0 = no melody, class m >= 1 =
      ``pitch.CLASS_HZ[m]`` = 31 * 2**(m / 48) Hz.
    """
    if x.ndim != 4 or x.shape[-1] != 3:
      raise ValueError(f'MSFCN expects [batch, freq, time, 3], got {x.shape}')
    x = x.astype(self.dtype)
    # Dense encoder: each layer sees every earlier feature, input first.
    h = x
    for i, rate in enumerate(self.dilations):
      c = PreActBlock(self.growth, rate, self.dtype, name=f'dense_{i}')(
          h, train=train)
      h = jnp.concatenate([h, c], axis=-1)
    u = jnp.concatenate([h] + [x] * self.input_repeats, axis=-1)
    first = None
    for i, channels in enumerate(self.decoder_channels):
      u = PreActBlock(channels, 1, self.dtype, name=f'conv{6 + i}')(
          u, train=train)
      first = u if first is None else first
    pitch = PreActBlock(1, 1, self.dtype,
                        name=f'conv{6 + len(self.decoder_channels)}')(
                            u, train=train)
    # The released code convolves CONV6's output to one channel first, then
    # averages over frequency (the paper's table has the two swapped).
    voicing = PreActBlock(1, 1, self.dtype, name='voicing')(first, train=train)
    voicing = jnp.mean(voicing.astype(jnp.float32), axis=1, keepdims=True)
    out = jnp.concatenate([voicing, pitch.astype(jnp.float32)], axis=1)
    return jnp.transpose(out[..., 0], (0, 2, 1))  # [B, T, F + 1]


def create_model(model_config) -> MSFCN:
  """Builds the model described by ``config.model`` (a ConfigDict).

  Raises:
    ConfigError: for an unknown dtype or impossible sizes.
  """
  dtype = str(model_config.dtype)
  if dtype not in _DTYPES:
    raise ConfigError(f'config.model.dtype: {dtype!r} is not one of '
                      f'{sorted(_DTYPES)}')
  dilations = tuple(int(d) for d in model_config.dilations)
  decoder = tuple(int(c) for c in model_config.decoder_channels)
  if not dilations or min(dilations) < 1:
    raise ConfigError(f'config.model.dilations: {dilations} must be a '
                      'non-empty list of rates >= 1')
  if not decoder or min(decoder) < 1:
    raise ConfigError(f'config.model.decoder_channels: {decoder} must be a '
                      'non-empty list of positive channel counts')
  if int(model_config.growth) < 1 or int(model_config.input_repeats) < 0:
    raise ConfigError('config.model: growth must be >= 1 and input_repeats '
                      '>= 0')
  return MSFCN(growth=int(model_config.growth), dilations=dilations,
               input_repeats=int(model_config.input_repeats),
               decoder_channels=decoder, dtype=_DTYPES[dtype])


def init_variables(model: MSFCN, rng: jax.Array,
                   frames: int = 256) -> dict[str, Any]:
  """Initial {'params', 'batch_stats'} for an input of ``frames`` frames."""
  x = jnp.zeros((1, FEATURES.n_bins, frames, 3), jnp.float32)
  # One compiled program instead of dozens of eagerly dispatched ops; the
  # non-partitionable threefry is the simpler program to compile (the
  # variables are small and replicated, so nothing is lost).
  with jax.threefry_partitionable(False):
    variables = jax.jit(functools.partial(model.init, train=False))(rng, x)
  return {'params': variables['params'],
          'batch_stats': variables['batch_stats']}


def random_variables(model: MSFCN, seed: int = 0) -> dict[str, Any]:
  """Random {'params', 'batch_stats'} of the model's shapes (numpy float32).

  For tests and benchmarks, where the values do not matter: filled with
  numpy from the shapes of ``jax.eval_shape`` (the model's init is never
  compiled, which is slow on a small CPU). Running means and variances are
  positive and away from 0 and 1, so BatchNorm is a valid, non-identity map
  that sends padded zeros to non-zero values.
  """
  shapes = jax.eval_shape(
      lambda: init_variables(model, jax.random.PRNGKey(0), frames=16))
  rng = np.random.default_rng(seed)
  fill = lambda s: rng.normal(0.0, 0.3, s.shape).astype(np.float32)
  return {'params': jax.tree_util.tree_map(fill, shapes['params']),
          'batch_stats': jax.tree_util.tree_map(
              lambda s: np.abs(fill(s) + 0.5), shapes['batch_stats'])}


def cfp_to_input(cfp):
  """Moves the CFP channel axis last: [..., 3, 256, T] -> [..., 256, T, 3].

  Works on numpy and jax arrays alike (returns the same kind).
  """
  n = cfp.ndim
  return cfp.transpose(tuple(range(n - 3)) + (n - 2, n - 1, n - 3))


def count_params(params) -> int:
  """Number of trainable values in a parameter tree."""
  return int(sum(np.prod(p.shape) for p in jax.tree_util.tree_leaves(params)))


def forward_gflops(model: MSFCN, variables, frames: int = 256) -> float:
  """XLA's FLOP count (in 1e9) of one inference forward pass, batch 1.

  Args:
    model: The module.
    variables: Its {'params', 'batch_stats'} (arrays or ShapeDtypeStructs;
      only their shapes matter).
    frames: Input width; the input is 1 x 256 x ``frames`` x 3.

  Returns:
    GFLOPs as XLA counts them (a multiply-add is two FLOPs); BatchNorm uses
    running averages.
  """
  def forward(v, x):
    return model.apply(v, x, train=False)

  # Variables are arguments, not closed-over constants, so that XLA does not
  # constant-fold (and so run) the network while compiling.
  shapes = jax.tree_util.tree_map(
      lambda a: jax.ShapeDtypeStruct(np.shape(a), a.dtype), variables)
  x = jax.ShapeDtypeStruct((1, FEATURES.n_bins, frames, 3), jnp.float32)
  cost = jax.jit(forward).lower(shapes, x).compile().cost_analysis()
  if isinstance(cost, (list, tuple)):  # older jax: one dict per computation
    cost = cost[0]
  return float(cost['flops']) / 1e9


def summary(model_config) -> str:
  """Text with lines ``params: N`` and ``gflops: X`` for ``config.model``."""
  model = create_model(model_config)
  variables = jax.eval_shape(
      lambda: init_variables(model, jax.random.PRNGKey(0)))
  return (f'params: {count_params(variables["params"])}\n'
          f'gflops: {forward_gflops(model, variables):.2f}')
