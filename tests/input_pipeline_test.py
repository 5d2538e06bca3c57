"""Tests of the grain training pipeline (in-memory sources; one mir1k dummy build)."""

import pathlib
import shutil

import jax
from jax.sharding import NamedSharding, PartitionSpec as P
import ml_collections
import numpy as np
import pytest

from jaxmelody.data import datasets
from jaxmelody.data import input_pipeline
from jaxmelody import errors
from jaxmelody.model import network


def _clips(lengths, prefix='s'):
  """Clips whose cfp[c, f, t] encodes (clip, t) so crops can be located."""
  out = []
  for i, n in enumerate(lengths):
    t = np.arange(n, dtype=np.float32)
    cfp = np.broadcast_to(1000 * i + t, (3, 256, n)).copy()
    cfp[1] += 0.25  # tell the channels apart to check the layout
    out.append({'cfp': cfp, 'target': (np.arange(n) % 256 + 1).astype(
        np.int32), 'track_id': f'{prefix}{i}_{i}_01'})
  return out


def _sharding():
  return NamedSharding(jax.sharding.Mesh(np.asarray(jax.devices()), ('data',)),
                       P('data'))


def _batches(source, seed=0, batch_size=4, crop=32):
  return input_pipeline.TrainBatches(source, batch_size=batch_size,
                                     crop_frames=crop, seed=seed,
                                     sharding=_sharding(), read_threads=2)


def _take(batches, n):
  return [jax.tree.map(np.asarray, next(batches)) for _ in range(n)]


def test_crop_example_window_layout_and_mask():
  clip = _clips([100])[0]
  out = input_pipeline.crop_example(clip, 32, np.random.default_rng(3))
  start = int(out['x'][0, 0, 0])
  assert 0 <= start <= 100 - 32
  window = clip['cfp'][:, :, start:start + 32]
  np.testing.assert_array_equal(out['x'], network.cfp_to_input(window))
  np.testing.assert_array_equal(out['target'],
                                clip['target'][start:start + 32])
  np.testing.assert_array_equal(out['mask'], np.ones(32))


def test_short_clip_is_padded_and_masked():
  clip = _clips([20])[0]
  out = input_pipeline.crop_example(clip, 32, np.random.default_rng(0))
  np.testing.assert_array_equal(out['mask'], np.r_[np.ones(20), np.zeros(12)])
  np.testing.assert_array_equal(out['target'][:20], clip['target'])
  assert not out['target'][20:].any() and not out['x'][:, 20:].any()


def test_batch_shapes_and_dtypes():
  batch = next(_batches(_clips([50, 40, 10, 80, 33])))
  assert batch['x'].shape == (4, 256, 32, 3)
  assert batch['x'].dtype == np.float32
  assert batch['target'].shape == (4, 32) and batch['target'].dtype == np.int32
  assert batch['mask'].shape == (4, 32) and batch['mask'].dtype == np.float32
  assert isinstance(batch['x'], jax.Array)
  assert batch['x'].sharding.spec == P('data')


def test_same_seed_same_batches_other_seed_differs():
  source = _clips([50, 40, 70, 80, 33, 60])
  a, b = _take(_batches(source), 4), _take(_batches(source), 4)
  c = _take(_batches(source, seed=1), 4)
  for x, y in zip(a, b):
    jax.tree.map(np.testing.assert_array_equal, x, y)
  assert any(not np.array_equal(x['x'], z['x']) for x, z in zip(a, c))


def test_epochs_cover_every_clip_and_reshuffle():
  source = _clips([40] * 8)
  batches = _take(_batches(source, batch_size=4), 4)  # two epochs
  clip_ids = [(b['x'][:, 0, 0, 0] // 1000).astype(int) for b in batches]
  first, second = np.r_[clip_ids[0], clip_ids[1]], np.r_[clip_ids[2],
                                                         clip_ids[3]]
  assert sorted(first) == sorted(second) == list(range(8))
  assert not np.array_equal(first, second)


def test_resume_continues_with_the_next_batch():
  source = _clips([50, 40, 70, 80, 33, 60, 45])
  batches = _batches(source)
  _take(batches, 3)
  state = batches.get_state()
  expected = _take(batches, 2)
  resumed = _batches(source)
  resumed.set_state(state)
  for x, y in zip(expected, _take(resumed, 2)):
    jax.tree.map(np.testing.assert_array_equal, x, y)


def _data_config(name, **overrides):
  shares = {field: 0.0 for field, _, _ in datasets.MIX_IN}
  return ml_collections.ConfigDict({
      'name': name, 'train_split': 'train', 'val_singers': ('abjones', 'amy'),
      **shares, **overrides})


def test_mir1k_reads_the_fit_and_validation_splits(monkeypatch):
  calls = []
  from jaxmelody.data import datasets  # pylint: disable=g-import-not-at-top
  monkeypatch.setattr(datasets, 'get_source',
                      lambda name, split, cfg: calls.append(split) or split)
  assert input_pipeline.train_and_validation(_data_config('mir1k')) == (
      'fit', 'validation')
  assert input_pipeline.train_and_validation(
      _data_config('mir1k', val_singers=())) == ('train', None)
  assert calls == ['fit', 'validation', 'train']  # never a test split
  with pytest.raises(errors.ConfigError, match='abjones, amy'):
    input_pipeline.train_and_validation(
        _data_config('mir1k', val_singers=('amy', 'bobon')))


# Clip names with MIR-1K's mix of cases ('Ani' sorts before 'abjones').
_PIN_CLIPS = ('Ani_1_01', 'Kenshin_2_03', 'abjones_1_01', 'abjones_2_02',
              'amy_1_01', 'amy_15_07', 'annar_3_01', 'bobon_1_01',
              'geniusturtle_6_02', 'leon_1_01', 'yifen_2_02')


def _earlier_training_ids(ids, val_singers):
  """The rule training followed before the validation split was written.

  MIR-1K ``train`` (every clip not sung by a test singer, stored in track-id
  order), minus the clips of ``val_singers``, in that order. A resumed run's
  saved grain position is only valid for exactly this order.
  """
  test = ('leon', 'yifen', 'stool', 'titon', 'tammy')
  train = sorted(i for i in ids if i.split('_')[0] not in test)
  return [i for i in train if i.split('_')[0] not in val_singers]


def test_mir1k_training_clips_and_order_are_unchanged(tmp_path):
  dummy = pathlib.Path(input_pipeline.__file__).parents[2] / (
      'datasets_builders/mir1k/dummy_data')
  root = tmp_path / 'corpora' / 'mir1k'
  (root / 'Wavfile').mkdir(parents=True)
  (root / 'PitchLabel').mkdir()
  for clip in _PIN_CLIPS:
    shutil.copy(dummy / 'Wavfile' / 'abjones_1_01.wav',
                root / 'Wavfile' / f'{clip}.wav')
    shutil.copy(dummy / 'PitchLabel' / 'abjones_1_01.pv',
                root / 'PitchLabel' / f'{clip}.pv')
  config = _data_config('mir1k', manual_root=str(tmp_path / 'corpora'),
                        data_dir=str(tmp_path / 'tfds'),
                        mir1k_label_offset_s=0.02, res_type='polyphase',
                        beam_options='')
  train, val = input_pipeline.train_and_validation(config)
  assert [e['track_id'] for e in train] == _earlier_training_ids(
      _PIN_CLIPS, ('abjones', 'amy')) == [
          'Ani_1_01', 'Kenshin_2_03', 'annar_3_01', 'bobon_1_01',
          'geniusturtle_6_02']
  assert [e['track_id'] for e in val] == [
      'abjones_1_01', 'abjones_2_02', 'amy_15_07', 'amy_1_01']


def test_synthetic_uses_its_validation_split_others_none(monkeypatch):
  from jaxmelody.data import datasets  # pylint: disable=g-import-not-at-top
  monkeypatch.setattr(datasets, 'get_source',
                      lambda name, split, cfg: [split])
  assert input_pipeline.train_and_validation(
      _data_config('synthetic_melody')) == (['train'], ['validation'])
  assert input_pipeline.train_and_validation(
      _data_config('ikala')) == (['train'], None)


def test_pitch_shift_moves_rows_and_classes_together():
  rng = np.random.default_rng(0)
  frames = 40
  target = np.where(np.arange(frames) % 5 == 0, 0, 100).astype(np.int32)
  x = np.zeros((256, frames, 3), np.float32)
  x[99, :, :] = 1.0                      # class 100 lives on row 99
  crop = {'x': x, 'target': target, 'mask': np.ones(frames, np.float32)}
  seen = set()
  for _ in range(200):
    out = input_pipeline.pitch_shift(crop, rng, 3)
    k = int(out['target'].max()) - 100
    seen.add(k)
    assert k % 4 == 0 and abs(k) <= 12
    np.testing.assert_array_equal(out['target'] == 0, target == 0)
    rows = np.flatnonzero(out['x'][:, 0, 0])
    np.testing.assert_array_equal(rows, [99 + k])
  assert seen == {4 * s for s in range(-3, 4)}
  assert input_pipeline.pitch_shift(crop, rng, 0) is crop


def test_pitch_shift_keeps_classes_in_range():
  rng = np.random.default_rng(1)
  target = np.array([0, 3, 250, 0], np.int32)   # near both ends
  crop = {'x': np.ones((256, 4, 3), np.float32), 'target': target,
          'mask': np.ones(4, np.float32)}
  for _ in range(100):
    out = input_pipeline.pitch_shift(crop, rng, 12)
    voiced = out['target'][target > 0]
    assert voiced.min() >= 1 and voiced.max() <= 256
    assert out['x'].sum() < crop['x'].sum() or np.array_equal(
        out['target'], target)   # rows shifted out leave zeros


def test_synthetic_fraction_mixes_cycled_synthetic_clips(monkeypatch):
  from jaxmelody.data import datasets  # pylint: disable=g-import-not-at-top
  sources = {'fit': [f'real{i}' for i in range(6)],
             'validation': ['val'], 'train': ['syn0', 'syn1']}
  monkeypatch.setattr(datasets, 'get_source',
                      lambda name, split, cfg: sources[split])
  train, val = input_pipeline.train_and_validation(
      _data_config('mir1k', synthetic_fraction=0.25))
  assert val == ['val']
  # 6 real clips + 2 synthetic ones make 25%: two entries, cycled.
  assert list(train) == sources['fit'] + ['syn0', 'syn1']
  train, _ = input_pipeline.train_and_validation(
      _data_config('mir1k', synthetic_fraction=0.5))
  assert list(train) == sources['fit'] + ['syn0', 'syn1'] * 3
  with pytest.raises(IndexError):
    train[12]  # pylint: disable=pointless-statement
  with pytest.raises(errors.ConfigError, match='synthetic_fraction'):
    input_pipeline.train_and_validation(
        _data_config('mir1k', synthetic_fraction=1.0))


def test_augmented_and_no_melody_shares_mix_in_the_matching_splits(
    monkeypatch):
  from jaxmelody.data import datasets  # pylint: disable=g-import-not-at-top
  sources = {('mir1k', 'fit'): [f'real{i}' for i in range(4)],
             ('mir1k', 'train'): [f'real{i}' for i in range(8)],
             ('mir1k', 'validation'): ['val'],
             ('mir1k_augmented', 'fit'): [f'copy0_{i}' for i in range(4)]
                                         + [f'copy1_{i}' for i in range(4)],
             ('mir1k_augmented', 'train'): [f'copy0_{i}' for i in range(8)],
             ('mir1k_augmented', 'no_melody'): ['acc0', 'acc1']}
  monkeypatch.setattr(datasets, 'get_source',
                      lambda name, split, cfg: sources[(name, split)])
  # Shares 0.4 + 0.1 leave 0.5 to the 4 clean clips: 3.2 copies, rounded to
  # 3 (the first copy of the first clips), and 0.8 no-melody clips, 1.
  train, _ = input_pipeline.train_and_validation(_data_config(
      'mir1k', augmented_fraction=0.4, no_melody_fraction=0.1))
  assert list(train) == (sources[('mir1k', 'fit')]
                         + [f'copy0_{i}' for i in range(3)] + ['acc0'])
  # Without held-out singers the copies come from the whole train split.
  train, val = input_pipeline.train_and_validation(_data_config(
      'mir1k', val_singers=(), augmented_fraction=0.5))
  assert val is None
  assert list(train)[8:] == [f'copy0_{i}' for i in range(8)]
  with pytest.raises(errors.ConfigError, match='add up to 1'):
    input_pipeline.train_and_validation(_data_config(
        'mir1k', augmented_fraction=0.6, synthetic_fraction=0.4))

