"""Tests for jaxmelody.model.network (architecture, layout, BatchNorm, cost)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import load_config
from jaxmelody import errors
from jaxmelody.model import network
from jaxmelody.training import workdir_config

VARIANTS = ('dense10', 'dense20', 'densenet', 'da_reversed', 'msfcn_released')


def _blocks(model_config):
  """(input channels, output channels) of every 3x3 conv, from the paper."""
  g, cin, blocks = model_config.growth, 3, []
  for _ in model_config.dilations:
    blocks.append((cin, g))
    cin += g
  cin += 3 * model_config.input_repeats
  for c in model_config.decoder_channels:
    blocks.append((cin, c))
    cin = c
  blocks.append((cin, 1))  # CONV8
  blocks.append((model_config.decoder_channels[0], 1))  # voicing
  return blocks


@pytest.fixture(scope='module')
def dense10_variables():
  """dense10 variables for an 8-frame input (initialised once: it compiles)."""
  return network.init_variables(network.MSFCN(), jax.random.PRNGKey(0),
                                frames=8)


@pytest.mark.parametrize('name', VARIANTS)
def test_param_count_follows_the_architecture(name):
  model_config = load_config(name).model
  model = network.create_model(model_config)
  variables = jax.eval_shape(
      lambda: network.init_variables(model, jax.random.PRNGKey(0)))
  # Conv kernel + bias, BatchNorm scale + bias over the block's input.
  expected = sum(9 * i * o + o + 2 * i for i, o in _blocks(model_config))
  assert network.count_params(variables['params']) == expected


def test_dense10_has_the_released_weights_count():
  model = network.create_model(load_config('dense10').model)
  variables = jax.eval_shape(
      lambda: network.init_variables(model, jax.random.PRNGKey(0)))
  assert network.count_params(variables['params']) == 74_850
  # Decoder input: 3 + 5 * 10 dense channels, then the input 8 more times.
  assert variables['params']['conv6']['conv']['kernel'].shape == (3, 3, 77, 64)


def test_init_follows_torch_defaults(dense10_variables):
  for name, block in dense10_variables['params'].items():
    kernel, bias = block['conv']['kernel'], block['conv']['bias']
    bound = 1 / np.sqrt(9 * kernel.shape[2])  # U(-1/sqrt(fan_in), ...)
    assert np.abs(kernel).max() <= bound and np.abs(bias).max() <= bound
    assert np.abs(kernel).max() > 0.8 * bound, name
    np.testing.assert_array_equal(block['bn']['scale'], 1.0)
    np.testing.assert_array_equal(
        dense10_variables['batch_stats'][name]['bn']['var'], 1.0)


@pytest.mark.parametrize('dtype', ['float32', 'bfloat16'])
def test_logits_shape_and_dtype(dtype, dense10_variables):
  model_config = load_config('dense10').model
  model_config.dtype = dtype
  model = network.create_model(model_config)
  variables = dense10_variables
  x = np.random.default_rng(1).random((2, 256, 8, 3), np.float32)
  logits = jax.jit(functools.partial(model.apply, train=False))(variables, x)
  assert logits.shape == (2, 8, 257)
  assert logits.dtype == jnp.float32
  assert np.all(np.isfinite(logits))
  for p in jax.tree_util.tree_leaves(variables['params']):
    assert p.dtype == jnp.float32


def test_row_zero_is_voicing_mean_and_rows_after_are_conv8(dense10_variables):
  model = network.MSFCN()
  variables = dense10_variables
  x = np.random.default_rng(2).random((1, 256, 6, 3), np.float32)
  logits, state = jax.jit(functools.partial(
      model.apply, train=False, capture_intermediates=True, mutable=True))(
          variables, x)
  inter = state['intermediates']
  voicing = inter['voicing']['__call__'][0]  # [1, 256, 6, 1]
  pitch = inter['conv8']['__call__'][0]
  np.testing.assert_allclose(logits[0, :, 0], voicing[0, :, :, 0].mean(0),
                             rtol=1e-5, atol=1e-6)
  np.testing.assert_array_equal(logits[0, :, 1:], pitch[0, :, :, 0].T)


def test_train_mode_updates_batch_stats_like_torch(dense10_variables):
  model = network.MSFCN()
  variables = dense10_variables
  x = np.random.default_rng(1).random((2, 256, 8, 3), np.float32)
  _, updates = jax.jit(functools.partial(
      model.apply, train=True, mutable=['batch_stats']))(variables, x)
  bn = updates['batch_stats']['dense_0']['bn']
  # torch momentum 0.1: new = 0.9 * old (mean 0, var 1) + 0.1 * batch stat.
  np.testing.assert_allclose(bn['mean'], 0.1 * x.mean((0, 1, 2)), rtol=1e-5)
  np.testing.assert_allclose(bn['var'], 0.9 + 0.1 * x.var((0, 1, 2)),
                             rtol=1e-5)


def test_cfp_to_input_moves_channels_last():
  cfp = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
  for arr in (cfp, jnp.asarray(cfp)):
    x = network.cfp_to_input(arr)
    assert x.shape == (2, 4, 5, 3)
    np.testing.assert_array_equal(x[1, :, :, 2], cfp[1, 2])
  assert network.cfp_to_input(cfp[0]).shape == (4, 5, 3)


def test_summary_reports_params_and_conv_flops():
  model_config = load_config('dense10').model
  lines = dict(line.split(': ') for line in
               network.summary(model_config).splitlines())
  assert int(lines['params']) == 74_850
  # Two FLOPs per multiply-add of every conv on a 256 x 256 input, plus a
  # little elementwise work (BatchNorm, SELU, bias).
  conv_flops = 2 * 9 * sum(i * o for i, o in _blocks(model_config)) * 256**2
  assert conv_flops <= float(lines['gflops']) * 1e9 < 1.05 * conv_flops


@pytest.mark.parametrize('field,value', [('dtype', 'float16'),
                                         ('dilations', ()),
                                         ('decoder_channels', ()),
                                         ('growth', 0)])
def test_create_model_rejects_bad_config(field, value):
  model_config = load_config('dense10').model
  model_config[field] = value
  with pytest.raises(errors.ConfigError, match='config.model'):
    network.create_model(model_config)


def _flat(config):
  """{'section.field': value} of a ConfigDict (tuples for sequences)."""
  return {k: tuple(v) if isinstance(v, list) else v
          for k, v in workdir_config.flatten(config.to_dict()).items()}


@pytest.mark.parametrize('name, changes', [
    ('dense20', {'model.name': 'dense20', 'model.growth': 20}),
    ('densenet', {'model.name': 'densenet', 'model.dilations': (1,) * 5}),
    ('da_reversed', {'model.name': 'da_reversed',
                     'model.dilations': (24, 18, 12, 6, 3)}),
    ('msfcn_released', {'model.name': 'msfcn_released',
                        'model.bn_inference': 'batch',
                        'eval.piece_frames': 3120,
                        'eval.pad_lengths': (256, 320, 384, 448, 512, 640,
                                             768, 1024, 2048, 3120),
                        'data.mir1k_label_offset_s': 0.01,
                        'eval.integer_hz': True,
                        'eval.decoder': 'argmax'}),
])
def test_variant_configs_change_only_their_fields(name, changes):
  base, variant = _flat(load_config('dense10')), _flat(load_config(name))
  assert set(variant) == set(base)
  differing = {k: variant[k] for k in base if variant[k] != base[k]}
  assert differing == changes

# The final recipe (configs/dense10.py), the same for every Table III model.
ALL740 = {'data.val_singers': (), 'train.lr_schedule': 'wsd',
          'train.decay_start_step': 2650, 'train.decay_steps': 3050,
          'train.num_steps': 2800, 'train.checkpoint_every_steps': 25,
          'train.keep_checkpoints': 4}


@pytest.mark.parametrize('name', ['dense10', 'dense20', 'densenet',
                                  'da_reversed'])
def test_all740_recipe_changes_only_the_recipe_fields(name):
  base, final = _flat(load_config(name)), _flat(load_config(name, 'all740'))
  assert set(final) == set(base)
  differing = {k: final[k] for k in base if final[k] != base[k]}
  assert differing == ALL740


def test_unknown_recipe_is_refused():
  with pytest.raises(ValueError, match='unknown recipe'):
    load_config('densenet', 'all74')


def test_select1400_halves_the_final_decay_and_holds_out_validation():
  base = _flat(load_config('dense10'))
  select = _flat(load_config('dense10', 'select1400'))
  differing = {k: select[k] for k in base if select[k] != base[k]}
  assert differing == {
      'train.lr_schedule': 'wsd', 'train.decay_start_step': 1325,
      'train.decay_steps': 1525, 'train.num_steps': 1400,
      'train.checkpoint_every_steps': 25, 'train.keep_checkpoints': 4,
      'eval.every_steps': 700}
  # The all740 shape halved: decay start, end and stop at half the steps.
  assert 2 * select['train.decay_start_step'] == ALL740['train.decay_start_step']
  assert 2 * select['train.num_steps'] == ALL740['train.num_steps']



@pytest.mark.parametrize('recipe', ['select1400', 'all740'])
def test_robust_recipes_only_mix_the_training_source(recipe):
  plain = _flat(load_config('dense10', recipe))
  robust = _flat(load_config('dense10', recipe + '_robust'))
  differing = {k: robust[k] for k in plain if robust[k] != plain[k]}
  assert differing == {'data.augmented_fraction': 0.4,
                       'data.synthetic_fraction': 0.1,
                       'data.no_melody_fraction': 0.05}
