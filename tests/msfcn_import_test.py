"""Tests for jaxmelody.model.released_weights (the authors' released weights)."""

import functools
import os
import pickle

import jax
import mir_eval
import numpy as np
import pytest

import jaxmelody
from jaxmelody import errors
from jaxmelody.frontend.feature_config import FEATURES
from jaxmelody.frontend import pitch
from jaxmelody.model import network
from jaxmelody.model import released_weights

PKL = 'reference/msfcn/train_single_for_pitch_epoch_22.pkl'


@functools.cache
def _import(path):
  return released_weights.import_msfcn_checkpoint(path)


@pytest.fixture
def released(shared_dir):
  """The imported weights, read once per session."""
  return _import(shared_dir / PKL)


def _batch_stats_forward(variables, cfp):
  """Logits [T, 257] with BatchNorm on the clip's own statistics (theirs)."""
  model = network.MSFCN()
  apply = jax.jit(functools.partial(model.apply, train=True,
                                    mutable=['batch_stats']))
  logits, _ = apply(variables, network.cfp_to_input(cfp)[None])
  return np.asarray(logits[0])


def _overall_accuracy(logits, pv_path):
  """OA (percent) against a MIR-1K label timed as the authors did."""
  # The released code stored its estimates as integers (whole Hz).
  est_f0 = np.floor(pitch.CLASS_HZ[logits.argmax(-1)])
  times = FEATURES.frame_times(len(est_f0))
  ref_t, ref_f0 = pitch.read_pv(pv_path, offset_s=0.01)
  ref_f0 = pitch.resample_reference(ref_t, ref_f0, times)
  scores = mir_eval.melody.evaluate(times, ref_f0, times, est_f0)
  return 100 * scores['Overall Accuracy']


def test_tree_matches_the_model(released):
  want = jax.eval_shape(
      lambda: network.init_variables(network.MSFCN(), jax.random.PRNGKey(0)))
  assert (jax.tree_util.tree_structure(released)
          == jax.tree_util.tree_structure(want))
  for got, expected in zip(jax.tree_util.tree_leaves(released),
                           jax.tree_util.tree_leaves(want)):
    assert got.shape == expected.shape and got.dtype == np.float32


def test_file_holds_the_published_param_count(released):
  assert network.count_params(released['params']) == 74_850
  # BatchNorm running variances are positive; the import did not mix them up.
  for block in released['batch_stats'].values():
    assert np.all(block['bn']['var'] > 0)
  assert jaxmelody.import_msfcn_checkpoint is (
      released_weights.import_msfcn_checkpoint)


def test_released_weights_find_the_melody(released, shared_dir):
  golden = np.load(shared_dir / 'reference/msfcn/cfp_golden/'
                   'mir1k_abjones_1_01.npz')
  logits = _batch_stats_forward(released, golden['W'].astype(np.float32))
  oa = _overall_accuracy(
      logits, shared_dir / 'data/mir1k/PitchLabel/abjones_1_01.pv')
  # A wrong axis, concat order or voicing row gives far less than this.
  assert oa > 85.0


def _write(tmp_path, data: bytes):
  path = tmp_path / 'weights.pkl'
  path.write_bytes(data)
  return path


@pytest.mark.parametrize('cut', [0.02, 0.5, 0.999])
def test_truncated_file_is_a_checkpoint_error(tmp_path, shared_dir, cut):
  raw = (shared_dir / PKL).read_bytes()
  path = _write(tmp_path, raw[:int(len(raw) * cut)])
  with pytest.raises(errors.CheckpointError, match='cut short'):
    released_weights.import_msfcn_checkpoint(path)


@pytest.mark.parametrize('data,message', [
    (np.random.default_rng(0).bytes(4096), 'not a legacy torch.save'),
    (b'', 'cut short'),
    (pickle.dumps({'conv_d_3.0.weight': [1.0]}), 'no magic number'),
    (b'PK\x03\x04' + bytes(64), 'zip-format'),
])
def test_foreign_files_are_checkpoint_errors(tmp_path, data, message):
  with pytest.raises(errors.CheckpointError, match=message):
    released_weights.import_msfcn_checkpoint(_write(tmp_path, data))


def test_pickled_globals_are_never_resolved(tmp_path, monkeypatch):
  calls = []
  monkeypatch.setattr(os, 'system', calls.append)
  # The classic payload: os.system('echo pwned') on load.
  payload = b"cos\nsystem\n(S'echo pwned'\ntR."
  with pytest.raises(errors.CheckpointError, match='refusing .*os.system'):
    released_weights.import_msfcn_checkpoint(_write(tmp_path, payload))
  assert not calls


@pytest.mark.parametrize('name', ['missing.pkl', ''])
def test_unreadable_path_is_a_checkpoint_error(tmp_path, name):
  # '' names the folder itself: also not a readable file.
  with pytest.raises(errors.CheckpointError, match='cannot read'):
    released_weights.import_msfcn_checkpoint(tmp_path / name)
