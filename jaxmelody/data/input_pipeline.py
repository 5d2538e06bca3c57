"""Training batches and validation tracks, read with grain.

Training examples are random ``crop_frames``-frame windows of whole clips,
shuffled with a seed, repeated forever (each epoch reshuffled and recropped),
and cut into global batches of ``config.train.batch_size``. Every process
reads only its own shard (every ``process_count``-th element) and the shards
are joined into global ``jax.Array``s sharded over the mesh axis ``'data'``.

The pipeline is one grain ``MapDataset`` chain, so element ``i`` of the
stream is a pure function of (seed, i): the same seed gives the same batches,
and the grain iterator's state (a small JSON dict) is all a resumed run needs
to continue with exactly the next batch.
"""

from collections.abc import Sequence
from typing import Any

from absl import logging
import grain
import jax
import numpy as np

from jaxmelody.errors import ConfigError, DatasetError
from jaxmelody.frontend.feature_config import FEATURES


def crop_example(example: dict[str, Any], crop_frames: int,
                 rng: np.random.Generator) -> dict[str, np.ndarray]:
  """Cuts one random training window out of a whole clip.

  Args:
    example: A clip with 'cfp' float32 [3, 256, T] and 'target' int32 [T].
    crop_frames: Window length C.
    rng: Source of the window's start.

  Returns:
    {'x': float32 [256, C, 3] (``network.cfp_to_input`` layout), 'target':
    int32 [C], 'mask': float32 [C]}; a clip shorter than C is zero-padded at
    the end and the padding has mask 0 (and target 0).
  """
  cfp = np.asarray(example['cfp'], np.float32)
  target = np.asarray(example['target'], np.int32)
  frames = target.shape[0]
  start = int(rng.integers(0, frames - crop_frames + 1)) if (
      frames > crop_frames) else 0
  n = min(frames, crop_frames)
  x = np.zeros((cfp.shape[1], crop_frames, cfp.shape[0]), np.float32)
  x[:, :n] = cfp[:, :, start:start + n].transpose(1, 2, 0)
  out_target = np.zeros(crop_frames, np.int32)
  out_target[:n] = target[start:start + n]
  mask = np.zeros(crop_frames, np.float32)
  mask[:n] = 1.0
  return {'x': x, 'target': out_target, 'mask': mask}


def pitch_shift(crop: dict[str, np.ndarray], rng: np.random.Generator,
                max_semitones: int) -> dict[str, np.ndarray]:
  """Transposes a training window by a random whole number of semitones.

  The CFP's 256 rows are log-frequency, 48 per octave, so k semitones are
  4 k rows: the features move by 4 k rows (zeros fill the rows that come
  in) and every melody frame's class by 4 k. k is drawn uniformly from the
  shifts in [-max, max] that keep all of the window's melody classes in
  1..256.

  Args:
    crop: ``crop_example``'s output.
    rng: source of k.
    max_semitones: largest |k|; 0 returns the crop unchanged (no draw).

  Returns:
    The shifted crop (new arrays).
  """
  if max_semitones <= 0:
    return crop
  rows = FEATURES.bins_per_octave // 12
  target = crop['target']
  voiced = target[(target > 0) & (crop['mask'] > 0)]
  n = crop['x'].shape[0]
  low = -max_semitones if not voiced.size else max(
      -max_semitones, -((int(voiced.min()) - 1) // rows))
  high = max_semitones if not voiced.size else min(
      max_semitones, (n - int(voiced.max())) // rows)
  k = int(rng.integers(low, high + 1)) * rows
  x = np.zeros_like(crop['x'])
  if k >= 0:
    x[k:] = crop['x'][:n - k]
  else:
    x[:k] = crop['x'][-k:]
  return dict(crop, x=x, target=np.where(target > 0, target + k,
                                          0).astype(np.int32))


class Subset(Sequence):
  """The examples of a random-access source at the given indices."""

  def __init__(self, source, indices: Sequence[int]):
    self._source = source
    self._indices = list(indices)

  def __len__(self) -> int:
    return len(self._indices)

  def __getitem__(self, i):
    return self._source[self._indices[i]]


class Mixture(Sequence):
  """All of ``first``, then ``extra`` examples cycled from ``second``."""

  def __init__(self, first, second, extra: int):
    if extra and not len(second):
      raise DatasetError('mixed-in set: it has no examples')
    self._first, self._second, self._extra = first, second, int(extra)

  def __len__(self) -> int:
    return len(self._first) + self._extra

  def __getitem__(self, i):
    if not 0 <= i < len(self):
      raise IndexError(i)
    n = len(self._first)
    return self._first[i] if i < n else self._second[(i - n) %
                                                     len(self._second)]


def train_and_validation(data_config) -> tuple[Any, Any]:
  """The training and validation sources, with other sets mixed in.

  Each field of ``datasets.MIX_IN`` with a share f > 0 appends its set's
  clips, cycled from the first, until they make up the share f of the
  training source (``Mixture``; the shuffle then spreads them over every
  epoch); the clean clips keep what the shares leave. Validation never changes.
  See ``_sources`` for the splits.
  """
  from jaxmelody.data import datasets  # pylint: disable=g-import-not-at-top
  train, val = _sources(data_config)
  if data_config.name == 'synthetic_melody':
    return train, val
  shares = {field: float(data_config[field])
            for field, _, _ in datasets.MIX_IN}
  for field, share in shares.items():
    if not 0.0 <= share < 1.0:
      raise ConfigError(f'config.data.{field}: {share} is not in [0, 1)')
  total = sum(shares.values())
  if total >= 1.0:
    raise ConfigError(f'config.data: the mixed-in shares add up to {total:g}; '
                      'they must leave room for the clean clips (< 1)')
  clean = len(train)
  for field, name, split in datasets.MIX_IN:
    if shares[field]:
      split = split or ('fit' if tuple(data_config.val_singers)
                        else data_config.train_split)
      extra = round(shares[field] / (1.0 - total) * clean)
      train = Mixture(train, datasets.get_source(name, split, data_config),
                      extra)
  return train, val


def _sources(data_config) -> tuple[Any, Any]:
  """The training source and the validation source (or None).

  mir1k: the builder writes MIR-1K ``train`` as two splits, ``validation``
  (the singers of ``datasets_builders.splits.MIR1K_VALIDATION_SINGERS``) and
  ``fit`` (the other train singers, in track-id order); with
  ``config.data.val_singers`` equal to those singers, training reads ``fit``
  and validation ``validation`` (never a test set); with no val_singers,
  training reads ``train_split`` whole. synthetic_melody: its 'train' and
  'validation' splits. Others: ``train_split`` only (validation is skipped
  with a logged note).
  """
  # Imported here: tensorflow_datasets is slow to import and the batching
  # code above does not need it.
  from datasets_builders import splits  # pylint: disable=g-import-not-at-top
  from jaxmelody.data import datasets  # pylint: disable=g-import-not-at-top
  name = data_config.name
  if name == 'mir1k':
    held_out = tuple(data_config.val_singers)
    if not held_out:
      return datasets.get_source(name, data_config.train_split,
                                 data_config), None
    if (sorted(held_out) != sorted(splits.MIR1K_VALIDATION_SINGERS)
        or data_config.train_split != 'train'):
      raise ConfigError(
          f'config.data.val_singers / train_split: {list(held_out)} out of '
          f'{data_config.train_split!r}; the mir1k builder writes the '
          'validation split for the singers '
          f'{", ".join(splits.MIR1K_VALIDATION_SINGERS)} of \'train\' '
          '(datasets_builders/splits.py): use those, or val_singers=() for '
          'no validation')
    return (datasets.get_source(name, 'fit', data_config),
            datasets.get_source(name, 'validation', data_config))
  train = datasets.get_source(name, data_config.train_split, data_config)
  if name == 'synthetic_melody':
    return train, datasets.get_source(name, 'validation', data_config)
  logging.info('%s has no validation split: validation is skipped', name)
  return train, None


def validation_tracks(source, max_clips: int = 0):
  """Whole validation tracks: the first ``max_clips`` (0 = all) of source."""
  if source is None or not max_clips or max_clips >= len(source):
    return source
  return Subset(source, range(max_clips))


class TrainBatches:
  """Endless global training batches with a checkpointable position.

  Each item is {'x': float32 [B, 256, C, 3], 'target': int32 [B, C],
  'mask': float32 [B, C]} as global arrays sharded on their first axis.
  ``grain_iterator`` is what orbax saves (grain.checkpoint.CheckpointSave).
  """

  def __init__(self, source, *, batch_size: int, crop_frames: int, seed: int,
               sharding: jax.sharding.NamedSharding, read_threads: int = 4,
               pitch_shift_semitones: int = 0):
    if len(source) == 0:
      raise DatasetError('training set: it has no examples')
    nproc = jax.process_count()
    if batch_size % nproc or (batch_size // nproc) % max(
        1, len(sharding.addressable_devices)):
      raise ConfigError(
          f'config.train.batch_size: {batch_size} does not split evenly over '
          f'{nproc} process(es) x {len(sharding.addressable_devices)} '
          'local device(s)')
    self._sharding = sharding
    local = batch_size // nproc
    shift = int(pitch_shift_semitones)

    def window(example, rng):
      return pitch_shift(crop_example(example, crop_frames, rng), rng, shift)

    ds = (grain.MapDataset.source(source).seed(seed).shuffle().repeat()
          .random_map(window))
    # Element i goes to process i % nproc, so a global batch is the same set
    # of windows whatever the number of processes.
    ds = ds[jax.process_index()::nproc]
    # Prefetch threads read and crop; device transfer below is asynchronous.
    read = grain.ReadOptions(num_threads=read_threads,
                             prefetch_buffer_size=2 * local)
    self.grain_iterator = iter(
        ds.to_iter_dataset(read).batch(local, drop_remainder=True))

  def __iter__(self):
    return self

  def __next__(self) -> dict[str, jax.Array]:
    local = next(self.grain_iterator)
    return jax.tree.map(
        lambda a: jax.make_array_from_process_local_data(self._sharding, a),
        local)

  def get_state(self) -> dict[str, Any]:
    """Position in the stream (JSON-serializable)."""
    return self.grain_iterator.get_state()

  def set_state(self, state: dict[str, Any]) -> None:
    """Continues from a position saved by ``get_state``."""
    self.grain_iterator.set_state(state)


def train_batches(source, config,
                  sharding: jax.sharding.NamedSharding) -> TrainBatches:
  """``TrainBatches`` over source with the sizes and seed of ``config``."""
  return TrainBatches(
      source, batch_size=config.train.batch_size,
      crop_frames=config.data.crop_frames, seed=config.data.seed,
      sharding=sharding, read_threads=config.data.read_threads,
      pitch_shift_semitones=config.data.pitch_shift_semitones)
