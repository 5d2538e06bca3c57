"""Reads the paper authors' released PyTorch weights, without PyTorch.

The file is a legacy (pre-1.6, non-zip) ``torch.save`` stream: pickles of a
magic number, a protocol version and system info, then the pickled state
dict (tensors as ``torch._utils._rebuild_tensor_v2`` calls on persistent
storage ids), a pickled list of storage keys, and for each key an int64
element count followed by the raw little-endian elements. A restricted
unpickler resolves only the four globals such a state dict needs; any other
global is refused, so loading never runs code from the file.

Block mapping (released name -> ``network.MSFCN`` submodule): ``conv_d_3``,
``conv_d_6``, ``conv_d_12``, ``conv_d_18``, ``conv_d_24`` -> ``dense_0..4``;
``up_conv3_pitch`` -> ``conv6``; ``up_conv2_pitch`` -> ``conv7``;
``up_conv1_pitch`` -> ``conv8``; ``bottom_pitch`` -> ``voicing``.
"""

import collections
import dataclasses
import io
import os
import pickle
from typing import Any

import jax
import numpy as np

from jaxmelody.errors import CheckpointError
from jaxmelody.model import network

_MAGIC = 0x1950a86a20f9469cfc6c
_PROTOCOL = 1001
_STORAGES = {'FloatStorage': '<f4', 'DoubleStorage': '<f8',
             'HalfStorage': '<f2', 'LongStorage': '<i8', 'IntStorage': '<i4'}
_BLOCKS = {'conv_d_3': 'dense_0', 'conv_d_6': 'dense_1',
           'conv_d_12': 'dense_2', 'conv_d_18': 'dense_3',
           'conv_d_24': 'dense_4', 'up_conv3_pitch': 'conv6',
           'up_conv2_pitch': 'conv7', 'up_conv1_pitch': 'conv8',
           'bottom_pitch': 'voicing'}


@dataclasses.dataclass(frozen=True)
class _StorageType:
  dtype: np.dtype


@dataclasses.dataclass(frozen=True)
class _Storage:
  key: str
  dtype: np.dtype
  numel: int


@dataclasses.dataclass(frozen=True)
class _Tensor:
  storage: _Storage
  offset: int
  shape: tuple[int, ...]
  stride: tuple[int, ...]


def _rebuild_tensor_v2(storage, offset, shape, stride, *unused_args):
  if not isinstance(storage, _Storage):
    raise CheckpointError('a tensor does not point at a storage')
  return _Tensor(storage, int(offset), tuple(map(int, shape)),
                 tuple(map(int, stride)))


class _Unpickler(pickle.Unpickler):
  """Resolves only the globals of a plain legacy torch state dict."""

  def find_class(self, module, name):
    if (module, name) == ('collections', 'OrderedDict'):
      return collections.OrderedDict
    if (module, name) == ('torch._utils', '_rebuild_tensor_v2'):
      return _rebuild_tensor_v2
    if module == 'torch' and name in _STORAGES:
      return _StorageType(np.dtype(_STORAGES[name]))
    raise CheckpointError(f'refusing pickled global {module}.{name} (only '
                          'a plain PyTorch state dict is read)')

  def persistent_load(self, pid):
    # ('storage', storage type, key, location, numel, view metadata)
    if (not isinstance(pid, tuple) or len(pid) != 6 or pid[0] != 'storage'
        or not isinstance(pid[1], _StorageType) or pid[5] is not None):
      raise CheckpointError(f'unsupported persistent id {pid!r:.80}')
    return _Storage(str(pid[2]), pid[1].dtype, int(pid[4]))


def _read_state_dict(f: io.BytesIO) -> dict[str, np.ndarray]:
  """Parses a legacy torch.save stream into {name: numpy array}."""
  if _Unpickler(f).load() != _MAGIC:
    raise CheckpointError('not a legacy torch.save file (no magic number)')
  if _Unpickler(f).load() != _PROTOCOL:
    raise CheckpointError('unsupported torch.save protocol version')
  sys_info = _Unpickler(f).load()
  if not isinstance(sys_info, dict) or not sys_info.get('little_endian'):
    raise CheckpointError('only little-endian torch.save files are read')
  state = _Unpickler(f).load()
  if not isinstance(state, dict) or not all(
      isinstance(v, _Tensor) for v in state.values()):
    raise CheckpointError('the pickled object is not a state dict of tensors')
  keys = _Unpickler(f).load()
  storages = {t.storage.key: t.storage for t in state.values()}
  if not isinstance(keys, list) or set(keys) != set(storages):
    raise CheckpointError('storage key list does not match the tensors')
  data = {}
  for key in keys:
    s = storages[key]
    count = np.frombuffer(f.read(8), '<i8')
    if count.size != 1 or int(count[0]) != s.numel:
      raise CheckpointError(f'file is cut short or corrupt (element count of '
                            f'storage {key} is missing or wrong)')
    raw = f.read(s.numel * s.dtype.itemsize)
    if len(raw) != s.numel * s.dtype.itemsize:
      raise CheckpointError(f'file is cut short (data of storage {key} is '
                            'incomplete)')
    data[key] = np.frombuffer(raw, s.dtype)
  arrays = {}
  for name, t in state.items():
    last = t.offset + sum((n - 1) * st for n, st in zip(t.shape, t.stride))
    if t.offset < 0 or min(t.stride, default=1) < 0 or (
        min(t.shape, default=1) > 0 and last >= t.storage.numel):
      raise CheckpointError(f'tensor {name}: lies outside its storage')
    arrays[name] = np.lib.stride_tricks.as_strided(
        data[t.storage.key][t.offset:], t.shape,
        tuple(st * t.storage.dtype.itemsize for st in t.stride)).copy()
  return arrays


def _to_flax(state: dict[str, np.ndarray]) -> dict[str, Any]:
  """Maps the released state dict onto ``network.MSFCN`` variables."""
  params, stats = {}, {}
  expected = set()
  for torch_name, flax_name in _BLOCKS.items():
    bn, conv = f'{torch_name}.0', f'{torch_name}.1'
    names = [f'{bn}.weight', f'{bn}.bias', f'{bn}.running_mean',
             f'{bn}.running_var', f'{conv}.weight', f'{conv}.bias']
    expected.update(names + [f'{bn}.num_batches_tracked'])
    missing = [n for n in names if n not in state]
    if missing:
      raise CheckpointError(f'missing weights {missing} (not the released '
                            'DenseASPP_10 model)')
    w = state[f'{conv}.weight']
    if w.ndim != 4:
      raise CheckpointError(f'{conv}.weight: expected 4 axes, got {w.shape}')
    params[flax_name] = {
        'bn': {'scale': state[f'{bn}.weight'], 'bias': state[f'{bn}.bias']},
        # (out, in, kh, kw) -> HWIO; kh runs over frequency = our H axis.
        'conv': {'kernel': w.transpose(2, 3, 1, 0),
                 'bias': state[f'{conv}.bias']}}
    stats[flax_name] = {'bn': {'mean': state[f'{bn}.running_mean'],
                               'var': state[f'{bn}.running_var']}}
  unexpected = sorted(set(state) - expected)
  if unexpected:
    raise CheckpointError(f'unexpected weights {unexpected[:5]} (not the '
                          'released DenseASPP_10 model)')
  return {'params': params, 'batch_stats': stats}


def import_msfcn_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
  """Loads the authors' ``train_single_for_pitch_epoch_22.pkl``.

  Args:
    path: The legacy torch.save file of the released DenseASPP_10.

  Returns:
    {'params', 'batch_stats'} for ``network.MSFCN()`` (the dense10 config),
    float32 numpy arrays; conv kernels [3, 3, in, out] (HWIO).

  Raises:
    CheckpointError: if the file is missing, corrupt, not a legacy
      torch.save state dict, or does not fit the model.
  """
  try:
    with open(path, 'rb') as fh:
      raw = fh.read()
  except OSError as e:
    raise CheckpointError(f'{path}: cannot read: {e.strerror or e}') from e
  if raw[:4] == b'PK\x03\x04':
    raise CheckpointError(f'{path}: zip-format torch.save (PyTorch >= 1.6) '
                          'is not supported; only the legacy format is read')
  try:
    state = _read_state_dict(io.BytesIO(raw))
    variables = _to_flax(state)
  except CheckpointError as e:
    raise CheckpointError(f'{path}: {e}') from None
  except Exception as e:  # pylint: disable=broad-except
    # A corrupt stream can fail inside pickle in many ways.
    if isinstance(e, EOFError) or 'truncated' in str(e):
      why = 'file is cut short (truncated torch.save file)'
    else:
      why = (f'not a legacy torch.save file, or corrupt '
             f'({type(e).__name__}: {e})')
    raise CheckpointError(f'{path}: {why}'[:300]) from None
  variables = jax.tree_util.tree_map(
      lambda a: np.asarray(a, np.float32), variables)
  _check_shapes(path, variables)
  return variables


def _check_shapes(path, variables) -> None:
  """Raises CheckpointError unless every shape fits ``network.MSFCN()``."""
  model = network.MSFCN()
  want = jax.eval_shape(
      lambda: network.init_variables(model, jax.random.PRNGKey(0)))
  want = {jax.tree_util.keystr(k): v.shape for k, v in
          jax.tree_util.tree_leaves_with_path(want)}
  got = {jax.tree_util.keystr(k): v.shape for k, v in
         jax.tree_util.tree_leaves_with_path(variables)}
  wrong = [k for k in want if got.get(k) != want[k]]
  if wrong or set(got) != set(want):
    k = (wrong or sorted(set(got) ^ set(want)))[0]
    raise CheckpointError(f'{path}: weights do not fit the dense10 model '
                          f'({k}: {got.get(k)} vs {want.get(k)})')
  for k, v in jax.tree_util.tree_leaves_with_path(variables):
    if not np.all(np.isfinite(v)):
      raise CheckpointError(f'{path}: {jax.tree_util.keystr(k)} is not '
                            'finite')
