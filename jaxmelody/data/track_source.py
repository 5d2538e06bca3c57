"""Random access to the built examples of one dataset split.

``datasets.get_source`` returns a ``TrackSource``; training (grain),
evaluation and the scripts read examples through it.
"""

import collections.abc


class TrackSource(collections.abc.Sequence):
  """Random access to the examples of one split, as dicts of numpy arrays.

  Wraps TFDS's ArrayRecordDataSource; ``track_id`` comes back as ``str``
  (TFDS itself returns text features as bytes). Picklable, so grain workers
  can take it.
  """

  def __init__(self, source, name: str):
    self._source = source
    self.name = name

  def __len__(self) -> int:
    return len(self._source)

  @staticmethod
  def _decode(example):
    track_id = example['track_id']
    if isinstance(track_id, bytes):
      example['track_id'] = track_id.decode('utf-8')
    return example

  def __getitem__(self, index):
    if isinstance(index, slice):
      return [self[i] for i in range(*index.indices(len(self)))]
    index = index.__index__()
    if not -len(self) <= index < len(self):
      raise IndexError(f'{self.name}: index {index} out of range')
    return self._decode(self._source[index % len(self)])

  def __iter__(self):
    for index in range(len(self)):
      yield self[index]

  def __getitems__(self, indices):
    return [self._decode(e) for e in self._source.__getitems__(list(indices))]

  def __repr__(self) -> str:
    return f'TrackSource({self.name}, {len(self)} examples)'
