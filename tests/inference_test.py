"""Tests of inference.engine: exact padding, no recompiles, BN modes, weights."""

import functools

import flax.serialization
import jax
import numpy as np
import pytest

from conftest import load_config
from jaxmelody import default_config
from jaxmelody import errors
from jaxmelody.frontend import pitch
from jaxmelody.inference import engine
from jaxmelody.inference import weights
from jaxmelody.model import network



random_variables = network.random_variables


@pytest.fixture(scope='module')
def smoke():
  """Smoke config, model, variables and a shared InferenceModel."""
  config = load_config('smoke')
  model = network.create_model(config.model)
  variables = random_variables(model)
  im = engine.InferenceModel(config.model, variables, pad_lengths=(32, 64))
  return config, model, variables, im


@functools.partial(jax.jit, static_argnums=(0, 3))
def _jit_apply(model, variables, x, train):
  if train:  # batch statistics of x; the running-average update is dropped
    return model.apply(variables, x, train=True, mutable=['batch_stats'])[0]
  return model.apply(variables, x, train=False)


def _direct(model, variables, cfp, train=False):
  """Logits [T, 257] of one unpadded pass over the whole clip."""
  x = network.cfp_to_input(cfp)[None]
  return np.asarray(_jit_apply(model, variables, x, train)[0])


def test_padded_and_windowed_logits_equal_one_unpadded_pass(smoke):
  _, model, variables, im = smoke
  rng = np.random.default_rng(1)
  for frames in (37, 150):  # padded to 64; windowed (> 64)
    cfp = rng.random((3, 256, frames), dtype=np.float32)
    got = im.logits(cfp)
    assert got.shape == (frames, 257)
    np.testing.assert_allclose(got, _direct(model, variables, cfp),
                               atol=1e-4, rtol=1e-4)


def test_folded_input_copies_equal_the_block_as_written(smoke):
  # dense10's decoder input repeats x 8 times; with running averages the
  # folded forward folds the copies into CONV6's first channels. Padded and
  # windowed clips must still equal one plain unpadded pass.
  config = smoke[0].copy_and_resolve_references()
  config.model.input_repeats = 8
  model = network.create_model(config.model)
  variables = random_variables(model, seed=5)
  im = engine.InferenceModel(config.model, variables, pad_lengths=(64,))
  assert im.folded
  rng = np.random.default_rng(6)
  for frames in (40, 150):  # padded to 64; windowed (> 64)
    cfp = rng.random((3, 256, frames), dtype=np.float32)
    np.testing.assert_allclose(im.logits(cfp), _direct(model, variables, cfp),
                               atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize('reference', [True, False],
                         ids=['flax', 'folded'])
def test_frames_past_the_clip_do_not_change_the_clip_logits(smoke, reference):
  # Whatever lies past n_valid (zeros from _run_padded, or anything else),
  # the clip's logits are the same; input_repeats 3 exercises CONV6's
  # folded copies in the folded forward.
  config = smoke[0].copy_and_resolve_references()
  config.model.input_repeats = 3
  model = network.create_model(config.model)
  im = engine.InferenceModel(config.model, random_variables(model),
                             pad_lengths=(64,), reference=reference)
  x = np.random.default_rng(0).random((1, 256, 64, 3), dtype=np.float32)
  zeros, n = x.copy(), 41
  zeros[:, :, n:] = 0
  got = np.asarray(im._forward(im.variables, x, np.int32(n), False))[:n]
  want = np.asarray(im._forward(im.variables, zeros, np.int32(n), False))[:n]
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_no_recompile_within_a_pad_length(smoke):
  config, _, variables, _ = smoke
  im = engine.InferenceModel(config.model, variables, pad_lengths=(32, 64))
  rng = np.random.default_rng(2)
  for frames in (5, 20, 31, 32):
    im.logits(rng.random((3, 256, frames), dtype=np.float32))
  assert im.traces == 1
  for frames in (33, 50, 64, 200, 333):  # second pad length, then windows
    im.logits(rng.random((3, 256, frames), dtype=np.float32))
  assert im.traces == 2


@pytest.mark.parametrize('frames,piece_frames,compiled', [
    (0, 0, 0),      # no frames, nothing to run
    (20, 0, 1),     # one pass, the first pad length
    (50, 0, 1),     # one pass, the second
    (333, 0, 2),    # windows: 64 each, the last one shorter
    (100, 60, 1),   # pieces of 60 and 40 frames, both padded to 64
])
def test_prepare_compiles_what_logits_will_use(smoke, frames, piece_frames,
                                               compiled):
  config, _, variables, _ = smoke
  im = engine.InferenceModel(config.model, variables, pad_lengths=(32, 64),
                             piece_frames=piece_frames)
  im.prepare(frames)
  assert im.traces == compiled
  im.logits(np.random.default_rng(4).random((3, 256, frames),
                                            dtype=np.float32))
  assert im.traces == compiled  # nothing left to compile


def test_batch_mode_equals_train_mode_apply_per_piece(smoke):
  config, model, variables, running = smoke
  im = engine.InferenceModel(config.model, variables, pad_lengths=(64,),
                             piece_frames=60, bn_inference='batch')
  cfp = np.random.default_rng(3).random((3, 256, 100), dtype=np.float32)
  # Pieces of 60 and 40 frames, both padded to 64: the masked statistics
  # must equal those of each piece run alone at its exact length.
  want = np.concatenate([_direct(model, variables, cfp[..., s:s + 60],
                                 train=True) for s in (0, 60)])
  np.testing.assert_allclose(im.logits(cfp), want, atol=1e-4, rtol=1e-4)
  assert im.traces == 1  # one compile serves both piece lengths
  # Batch statistics differ from running averages: the mode really changed.
  assert not np.allclose(want, running.logits(cfp), atol=1e-3)


def test_batch_mode_windows_long_pieces_with_their_own_statistics(smoke):
  # A piece longer than the largest pad length runs in overlapping windows
  # (memory bounded on long songs); each normalises with its own frames'
  # statistics and keeps its core, as in running mode.
  config, model, variables, _ = smoke
  im = engine.InferenceModel(config.model, variables, pad_lengths=(64,),
                             bn_inference='batch')
  cfp = np.random.default_rng(7).random((3, 256, 150), dtype=np.float32)
  margin, core = im.radius, 64 - 2 * im.radius
  want = np.empty((150, 257), np.float32)
  for start in range(0, 150, core):
    stop = min(start + core, 150)
    lo, hi = max(0, start - margin), min(150, stop + margin)
    want[start:stop] = _direct(model, variables, cfp[..., lo:hi],
                               train=True)[start - lo:stop - lo]
  np.testing.assert_allclose(im.logits(cfp), want, atol=1e-4, rtol=1e-4)
  assert im.traces == 1
  # Not one pass over the whole piece: its statistics differ.
  assert not np.allclose(want, _direct(model, variables, cfp, train=True),
                         atol=1e-3)


def test_melody_decodes_to_class_table(smoke):
  im = smoke[3]
  f0, voicing = im.melody(np.random.default_rng(4).random((3, 256, 50),
                                                          dtype=np.float32))
  assert f0.shape == voicing.shape == (50,)
  assert np.isin(f0, pitch.CLASS_HZ).all()
  assert ((voicing >= 0) & (voicing <= 1)).all()
  assert im.logits(np.zeros((3, 256, 0), np.float32)).shape == (0, 257)


def test_bad_settings_raise_config_error(smoke):
  config, _, variables, _ = smoke
  with pytest.raises(errors.ConfigError, match='bn_inference'):
    engine.InferenceModel(config.model, variables, bn_inference='mean')
  with pytest.raises(errors.ConfigError, match='pad_lengths'):
    engine.InferenceModel(config.model, variables, pad_lengths=(8,))


def test_unset_settings_are_default_configs(smoke):
  """The constructor owns no default of its own: default_config.py does."""
  _, _, variables, _ = smoke
  defaults = default_config.get_config()
  config = default_config.get_config()
  config.model = load_config('smoke').model  # a small model, default eval
  config.model.bn_inference = defaults.model.bn_inference
  settings = lambda m: (m.pad_lengths, m.piece_frames, m.bn_inference)
  unset = settings(engine.InferenceModel(config.model, variables))
  assert unset == (tuple(sorted(defaults.eval.pad_lengths)),
                   defaults.eval.piece_frames, defaults.model.bn_inference)
  assert unset == settings(engine.from_config(config, variables))


def test_resolve_variables(smoke, tmp_path):
  config, _, variables, _ = smoke
  folder = tmp_path / 'pretrained'
  folder.mkdir()
  (folder / 'variables.msgpack').write_bytes(
      flax.serialization.msgpack_serialize(jax.device_get(variables)))
  loaded = weights.resolve_variables(str(folder), config)
  assert jax.tree_util.tree_structure(loaded) == jax.tree_util.tree_structure(
      variables)
  with pytest.raises(errors.CheckpointError, match='does not exist'):
    weights.resolve_variables(str(tmp_path / 'nope'), config)
  # Nothing given, no checkpoint in the workdir, nothing bundled for 'smoke'.
  with pytest.raises(errors.CheckpointError, match='--checkpoint'):
    weights.resolve_variables(None, config, workdir=str(tmp_path))
  wrong = load_config('dense10')
  with pytest.raises(errors.CheckpointError, match='does not fit'):
    weights.resolve_variables(str(folder), wrong)


def test_checkpoints_separated_by_commas_are_their_weight_average(
    smoke, tmp_path):
  config, model, variables, _ = smoke
  other = random_variables(model, seed=1)
  folders = []
  for name, tree in (('a', variables), ('b', other)):
    folder = tmp_path / name
    folder.mkdir()
    (folder / 'variables.msgpack').write_bytes(
        flax.serialization.msgpack_serialize(jax.device_get(tree)))
    folders.append(str(folder))
  mean = weights.resolve_variables(','.join(folders), config)
  for got, a, b in zip(jax.tree.leaves(mean), jax.tree.leaves(variables),
                       jax.tree.leaves(other)):
    np.testing.assert_allclose(got, (np.asarray(a) + np.asarray(b)) / 2,
                               rtol=1e-6)
  with pytest.raises(errors.CheckpointError, match='does not exist'):
    weights.resolve_variables(f'{folders[0]},{tmp_path / "nope"}', config)


def test_average_is_the_leafwise_mean():
  a = {'params': {'w': [1.0, 2.0]}, 'batch_stats': {'m': 4.0}}
  b = {'params': {'w': [3.0, 6.0]}, 'batch_stats': {'m': 0.0}}
  mean = weights.average_variables([a, b])
  assert list(mean['params']['w']) == [2.0, 4.0]
  assert float(mean['batch_stats']['m']) == 2.0
