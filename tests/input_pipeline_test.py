"""Tests of the grain training pipeline (in-memory sources, no datasets)."""

import jax
from jax.sharding import NamedSharding, PartitionSpec as P
import ml_collections
import numpy as np

from jaxmelody import input_pipeline
from jaxmelody import models


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
  np.testing.assert_array_equal(out['x'], models.cfp_to_input(window))
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


def _data_config(name):
  return ml_collections.ConfigDict({
      'name': name, 'train_split': 'train', 'val_singers': ('amy', 'bobon')})


def test_mir1k_validation_singers_are_held_out(monkeypatch):
  clips = (_clips([30, 30], 'abjones') + _clips([30, 30], 'amy')
           + _clips([30], 'bobon') + _clips([30], 'geniusturtle'))
  for clip, tid in zip(clips, ['abjones_1_01', 'abjones_2_02', 'amy_1_01',
                               b'amy_3_05', 'bobon_1_01', 'geniusturtle_1']):
    clip['track_id'] = tid
  calls = []

  def get_source(name, split, data_config):
    calls.append((name, split))
    return clips

  from jaxmelody import datasets  # pylint: disable=g-import-not-at-top
  monkeypatch.setattr(datasets, 'get_source', get_source)
  train, val = input_pipeline.train_and_validation(_data_config('mir1k'))
  assert calls == [('mir1k', 'train')]  # never a test split
  train_singers = {input_pipeline.singer(e['track_id']) for e in train}
  val_singers = {input_pipeline.singer(e['track_id']) for e in val}
  assert train_singers == {'abjones', 'geniusturtle'}
  assert val_singers == {'amy', 'bobon'} and len(val) == 3
  assert len(input_pipeline.validation_tracks(val, 2)) == 2


def test_synthetic_uses_its_validation_split_others_none(monkeypatch):
  from jaxmelody import datasets  # pylint: disable=g-import-not-at-top
  monkeypatch.setattr(datasets, 'get_source',
                      lambda name, split, cfg: [split])
  assert input_pipeline.train_and_validation(
      _data_config('synthetic_melody')) == (['train'], ['validation'])
  assert input_pipeline.train_and_validation(
      _data_config('ikala')) == (['train'], None)
