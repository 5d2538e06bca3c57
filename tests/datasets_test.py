"""Tests for data.datasets: names, building, reading back, errors, labels.

The synthetic tests build synthetic_melody 'tiny' into a temporary data_dir.
The real-data tests build a few clips of MIR-1K and ADC2004 from ../shared and
check the stored labels against the corpus's own label files, interpolated
here independently of jaxmelody.frontend.pitch.
"""

import dataclasses
import json
import pathlib
import pickle
import shutil
import sys

import ml_collections
import numpy as np
import pytest

from datasets_builders import common
from datasets_builders import splits
from jaxmelody.data import datasets
from jaxmelody.data import synth
from jaxmelody import errors
from jaxmelody.frontend import feature_config as features_lib
from jaxmelody.frontend.feature_config import FEATURES
from jaxmelody.frontend import pitch


def _data_config(tmp_path, **overrides):
  config = ml_collections.ConfigDict(dict(
      name='synthetic_melody', train_split='train', manual_root='',
      data_dir=str(tmp_path / 'tfds'), mir1k_label_offset_s=0.02,
      res_type='polyphase', synthetic_size=64, seed=0, beam_options='',
      synthetic_config='tiny'))
  config.update(overrides)
  return config


def test_builder_name(tmp_path):
  config = _data_config(tmp_path, synthetic_config='')
  assert datasets.builder_name('mir1k', config) == 'mir1k/centered'
  config.mir1k_label_offset_s = 0.01
  assert datasets.builder_name('mir1k', config) == 'mir1k/msfcn'
  assert datasets.builder_name('adc2004', config) == 'adc2004'
  assert datasets.builder_name('synthetic_melody', config) == (
      'synthetic_melody/default')
  config.synthetic_size = 16
  assert datasets.builder_name('synthetic_melody', config).startswith(
      'synthetic_melody/n16_')
  config.mir1k_label_offset_s = 0.015
  with pytest.raises(errors.ConfigError, match='mir1k_label_offset_s'):
    datasets.builder_name('mir1k', config)
  with pytest.raises(errors.ConfigError, match='unknown'):
    datasets.builder_name('medleydb', config)


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
  """The built 'tiny' synthetic dataset's config (built once per module)."""
  config = _data_config(tmp_path_factory.mktemp('synthetic'))
  config_dict = ml_collections.ConfigDict(dict(
      data=config, eval=dict(sets=(('synthetic_melody', 'test'),))))
  assert datasets.build_all(config_dict) == ['synthetic_melody/tiny']
  return config


@pytest.mark.parametrize('split,size', [('train', 4), ('validation', 2),
                                        ('test', 2)])
def test_synthetic_read_back(tiny, split, size):
  source = datasets.get_source('synthetic_melody', split, tiny)
  assert len(source) == size
  ids = set()
  for example in source[:]:
    t = example['cfp'].shape[-1]
    assert example['cfp'].shape == (3, FEATURES.n_bins, t)
    assert example['cfp'].dtype == np.float32
    assert example['target'].dtype == np.int32
    assert example['f0_hz'].shape == example['times'].shape == (t,)
    np.testing.assert_allclose(example['times'], FEATURES.frame_times(t))
    np.testing.assert_array_equal(example['target'],
                                  pitch.hz_to_class(example['f0_hz']))
    voiced = example['f0_hz'] > 0
    assert voiced.any() and (example['target'][voiced] > 0).all()
    assert isinstance(example['track_id'], str)
    assert example['track_id'].startswith(f'synth_{split}_')
    ids.add(example['track_id'])
  assert len(ids) == size
  batch = source.__getitems__([0, size - 1])
  assert [e['track_id'] for e in batch] == [source[0]['track_id'],
                                            source[size - 1]['track_id']]


def test_synthetic_is_deterministic(tiny):
  """The stored clip equals a fresh synthesis with the same seed."""
  example = {e['track_id']: e for e in
             datasets.get_source('synthetic_melody', 'test', tiny)}[
                 'synth_test_00001']
  clip = synth.synthesize((0, 2, 1), 1.0)
  np.testing.assert_allclose(example['f0_hz'], clip.f0_hz, rtol=1e-6)


def test_unknown_split(tiny):
  with pytest.raises(errors.DatasetError, match='cannot read split'):
    datasets.get_source('synthetic_melody', 'nope', tiny)


def test_missing_manual_folder(tmp_path):
  config = _data_config(tmp_path, manual_root=str(tmp_path / 'corpora'))
  with pytest.raises(errors.DatasetError,
                     match=r'mir1k: .*corpora/mir1k.* missing .*Wavfile'):
    datasets.get_source('mir1k', 'test', config)


def test_incomplete_manual_folder(tmp_path):
  """A clip without its label file is named in the error."""
  root = tmp_path / 'corpora'
  shutil.copytree(datasets.datasets_builders.BUILDERS['mir1k'].code_path.parent
                  / 'dummy_data', root / 'mir1k')
  (root / 'mir1k' / 'PitchLabel' / 'leon_1_01.pv').unlink()
  config = _data_config(tmp_path, manual_root=str(root))
  with pytest.raises(errors.DatasetError, match='leon_1_01'):
    datasets.build('mir1k', config)


def _interp_labels(frame_times, label_times, label_f0):
  """Expected f0 where both neighbouring labels agree on voicing, else None."""
  i = np.searchsorted(label_times, frame_times, side='right') - 1
  i = np.clip(i, 0, len(label_times) - 2)
  both_voiced = (label_f0[i] > 0) & (label_f0[i + 1] > 0)
  both_unvoiced = (label_f0[i] == 0) & (label_f0[i + 1] == 0)
  inside = frame_times <= label_times[-1]
  expected = np.interp(frame_times, label_times, label_f0)
  return expected, both_voiced & inside, both_unvoiced & inside


def _check_against_labels(source, read_labels):
  for example in source:
    label_times, label_f0 = read_labels(example['track_id'])
    expected, voiced, unvoiced = _interp_labels(example['times'], label_times,
                                                label_f0)
    assert voiced.sum() > 50 and unvoiced.sum() > 5
    np.testing.assert_allclose(example['f0_hz'][voiced], expected[voiced],
                               atol=1e-3, rtol=2e-5)  # 0.03 cents
    assert (example['f0_hz'][unvoiced] == 0).all()


@pytest.mark.parametrize('offset', [0.02, 0.01])
def test_mir1k_labels(shared_dir, tmp_path, offset):
  config = _data_config(tmp_path, manual_root=str(shared_dir / 'data'),
                        mir1k_label_offset_s=offset)
  datasets.build('mir1k', config, max_examples_per_split=1)
  labels = shared_dir / 'data' / 'mir1k' / 'PitchLabel'

  def read(track_id):
    semitones = np.loadtxt(labels / f'{track_id}.pv')
    hz = np.where(semitones > 0, 440 * 2 ** ((semitones - 69) / 12), 0)
    return 0.02 * np.arange(len(semitones)) + offset, hz

  for split in ('validation', 'fit', 'test'):
    source = datasets.get_source('mir1k', split, config)
    assert len(source) == 1
    assert splits.mir1k_split(source[0]['track_id']) == split
    _check_against_labels(source, read)
  assert len(datasets.get_source('mir1k', 'train', config)) == 2


def test_adc2004_labels(shared_dir, tmp_path):
  config = _data_config(tmp_path, manual_root=str(shared_dir / 'data'))
  datasets.build('adc2004', config, max_examples_per_split=1)
  root = shared_dir / 'data' / 'adc2004'

  def read(track_id):
    table = np.loadtxt(root / f'{track_id}REF.txt')
    return table[:, 0], table[:, 1]

  for split in ('test', 'instrumental'):
    source = datasets.get_source('adc2004', split, config)
    assert len(source) == 1
    # 44.1 kHz -> 16 kHz: the frame count follows the resampled length.
    seconds = len(read(source[0]['track_id'])[0]) * 256 / 44100
    assert abs(source[0]['times'][-1] - seconds) < 0.05
    _check_against_labels(source, read)


def test_source_pickles(tiny):
  """grain worker processes receive the source pickled."""
  source = datasets.get_source('synthetic_melody', 'validation', tiny)
  copy = pickle.loads(pickle.dumps(source))
  assert len(copy) == len(source)
  np.testing.assert_array_equal(copy[1]['cfp'], source[1]['cfp'])
  assert copy[-1]['track_id'] == source[1]['track_id']
  with pytest.raises(IndexError):
    source[len(source)]


def _mir1k_dummy(tmp_path, **overrides):
  root = tmp_path / 'corpora'
  shutil.copytree(datasets.datasets_builders.BUILDERS['mir1k'].code_path.parent
                  / 'dummy_data', root / 'mir1k')
  return _data_config(tmp_path, manual_root=str(root), **overrides)


def test_mir1k_splits_and_train_union(tmp_path):
  config = _mir1k_dummy(tmp_path)
  builder = datasets.build('mir1k', config)
  records = sum(p.stat().st_size for p in (tmp_path / 'tfds').rglob(
      '*.array_record*'))
  assert records > 0 and records < datasets.disk_size(builder) < 2 * records
  assert {k: v.num_examples for k, v in builder.info.splits.items()} == {
      'validation': 2, 'fit': 1, 'test': 2}
  ids = lambda split: [e['track_id'] for e in datasets.get_source(
      'mir1k', split, config)]
  assert ids('validation') == ['abjones_1_01', 'amy_2_03']
  assert ids('fit') == ['bobon_1_01']
  assert ids('train') == ['abjones_1_01', 'amy_2_03', 'bobon_1_01']
  assert ids('test') == ['leon_1_01', 'yifen_2_02']


def _fingerprint_file(config):
  builder = datasets.make_builder('mir1k', config)
  return pathlib.Path(builder.data_dir) / common.FINGERPRINT_FILE


def test_changed_feature_constant_rebuilds(tmp_path, monkeypatch, capsys):
  config = _mir1k_dummy(tmp_path)
  datasets.build('mir1k', config)
  before = json.loads(_fingerprint_file(config).read_text())['fingerprint']
  capsys.readouterr()
  datasets.build('mir1k', config)  # same code: read as built
  assert 'rebuilding' not in capsys.readouterr().err
  monkeypatch.setattr(features_lib, 'FEATURES', dataclasses.replace(
      features_lib.FEATURES, fmax=1300.0))
  datasets.build('mir1k', config)
  err = capsys.readouterr().err
  assert f'fingerprint {before}' in err and 'rebuilding' in err
  after = json.loads(_fingerprint_file(config).read_text())['fingerprint']
  assert after != before
  assert after == common.fingerprint(datasets.datasets_builders.BUILDERS[
      'mir1k'])
  assert len(datasets.get_source('mir1k', 'test', config)) == 2


def test_fingerprint_hashes_contents_not_locations(tmp_path, monkeypatch):
  builder = datasets.datasets_builders.BUILDERS['mir1k']
  before = common.fingerprint(builder)
  moved = []
  for i, path in enumerate(common.FINGERPRINT_SOURCES):
    copy = tmp_path / f'{i}_{path.stem}_moved.py'
    shutil.copyfile(path, copy)
    moved.append(copy)
  monkeypatch.setattr(common, 'FINGERPRINT_SOURCES', tuple(moved))
  assert common.fingerprint(builder) == before
  moved[0].write_text(moved[0].read_text() + '# one more line\n')
  assert common.fingerprint(builder) != before


def test_changed_cfp_code_without_corpus_is_an_error(tmp_path, monkeypatch):
  config = _mir1k_dummy(tmp_path)
  datasets.build('mir1k', config)
  source = tmp_path / 'cfp.py'
  source.write_text('FACTOR = 1\n')
  monkeypatch.setattr(common, 'FINGERPRINT_SOURCES',
                      (*common.FINGERPRINT_SOURCES, source))
  shutil.rmtree(tmp_path / 'corpora')
  with pytest.raises(errors.DatasetError,
                     match='current feature configuration and CFP code'):
    datasets.get_source('mir1k', 'test', config)
  assert _fingerprint_file(config).exists()  # the old build is left alone


def test_build_without_fingerprint_is_rebuilt(tmp_path, capsys):
  config = _mir1k_dummy(tmp_path)
  datasets.build('mir1k', config)
  _fingerprint_file(config).unlink()  # as built by an older version
  datasets.build('mir1k', config)
  assert 'no fingerprint' in capsys.readouterr().err
  assert _fingerprint_file(config).exists()


def test_beam_options_build_with_beam(tmp_path, monkeypatch):
  pytest.importorskip('apache_beam', reason="apache-beam is an optional "
                      "extra: pip install '.[beam]'")
  config = _mir1k_dummy(tmp_path, beam_options='--runner=DirectRunner')
  seen = []
  real = common.MelodyBuilder.examples

  def spy(self, items, make):
    seen.append(self._beam)  # pylint: disable=protected-access
    return real(self, items, make)

  monkeypatch.setattr(common.MelodyBuilder, 'examples', spy)
  datasets.build('mir1k', config)
  assert seen and all(seen)  # every split was generated by Beam
  assert [e['track_id'] for e in datasets.get_source(
      'mir1k', 'train', config)] == ['abjones_1_01', 'amy_2_03', 'bobon_1_01']


def test_beam_options_without_beam_is_a_config_error(tmp_path, monkeypatch):
  for name in ('apache_beam', 'apache_beam.options',
               'apache_beam.options.pipeline_options'):
    monkeypatch.setitem(sys.modules, name, None)  # as if not installed
  config = _mir1k_dummy(tmp_path, beam_options='--runner=DirectRunner')
  with pytest.raises(errors.ConfigError, match=r'jaxmelody\[beam\]'):
    datasets.build('mir1k', config)


def test_names_to_build_includes_mixed_in_sets(tmp_path):
  data = _data_config(tmp_path)
  data.name = 'mir1k'
  config = ml_collections.ConfigDict(dict(
      data=data, eval=dict(sets=(('mir1k', 'test'), ('adc2004', 'test')))))
  assert datasets.names_to_build(config) == ['mir1k', 'adc2004']
  config.data.augmented_fraction = 0.4
  config.data.synthetic_fraction = 0.1
  config.data.no_melody_fraction = 0.05
  assert datasets.names_to_build(config) == [
      'mir1k', 'synthetic_melody', 'mir1k_augmented', 'adc2004']
