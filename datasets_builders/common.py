"""What every corpus builder shares: the example features and how they are made.

One implementation for training and inference: audio goes through
``jaxmelody.frontend.audio.load_audio`` and
``jaxmelody.frontend.cfp.compute_cfp``, references through
``jaxmelody.frontend.pitch`` (``resample_reference`` onto the 16 ms frame
grid, ``hz_to_class`` for the target), exactly as evaluation and prediction
do.

Built datasets hold, per example (T = number of 16 ms frames of the clip):
  cfp       float32 [3, 256, T]  channels [spectrum, GCoS, GC]
  target    int32   [T]          class per frame (0 = no melody)
  f0_hz     float32 [T]          reference f0 on the frame grid (0 = none)
  times     float64 [T]          frame centre times, (k + 1) * 0.016 s
  track_id  text                 the corpus's clip name (also the key)
"""

import dataclasses
import functools
import hashlib
import json
import os
import pathlib
from typing import Iterable

from absl import logging
import numpy as np
import tensorflow_datasets as tfds
from tensorflow_datasets.core import shuffle as tfds_shuffle

from jaxmelody import errors
from jaxmelody.frontend import audio as audio_lib
from jaxmelody.frontend import cfp as cfp_lib
from jaxmelody.frontend import feature_config as features_lib
from jaxmelody.frontend.feature_config import FEATURES
from jaxmelody.frontend import pitch

# The resampler of every builder: the authors' ADC2004 scores need polyphase.
RES_TYPE = 'polyphase'

# A built dataset stores CFP features and targets, so it is only valid for
# the code that computed them. Its fingerprint (written beside the data as
# FINGERPRINT_FILE) hashes the feature configuration and these sources;
# jaxmelody.data.datasets rebuilds a dataset whose fingerprint differs.
# Only the sources' contents count, in this order: moving or renaming a file
# must not invalidate built data.
FINGERPRINT_SOURCES = tuple(
    pathlib.Path(module.__file__).resolve()
    for module in (features_lib, cfp_lib, audio_lib, pitch)) + (
        pathlib.Path(__file__).resolve(),)
FINGERPRINT_FILE = 'jaxmelody_fingerprint.json'

# TFDS buffers a split's serialized examples in memory and spills them to
# temporary files through tf.io.gfile (TensorFlow) beyond 1 GB: MIR-1K's
# train split (~1.2 GB) would crash there without TensorFlow. Keeping splits
# in memory instead costs RAM of the size of the largest split being built.
tfds_shuffle.MAX_MEM_BUFFER_SIZE = max(tfds_shuffle.MAX_MEM_BUFFER_SIZE,
                                       64 << 30)


def fingerprint(builder_cls) -> str:
  """Hash of what a builder's examples depend on besides the corpus.

  The feature configuration (``feature_config.FEATURES``, read at call
  time), the resampler, and the contents (not the names or locations) of
  the sources in ``FINGERPRINT_SOURCES``, the builder's own module (its split
  lists and label rules) and any ``EXTRA_SOURCES`` the builder class names,
  in that order.
  """
  digest = hashlib.sha256()
  described = {'features': dataclasses.asdict(features_lib.FEATURES),
               'res_type': RES_TYPE}
  digest.update(json.dumps(described, sort_keys=True).encode())
  for path in (*FINGERPRINT_SOURCES, pathlib.Path(builder_cls.code_path),
               *getattr(builder_cls, 'EXTRA_SOURCES', ())):
    digest.update(pathlib.Path(path).read_bytes())
  return digest.hexdigest()[:16]


def write_fingerprint(builder) -> None:
  """Records ``fingerprint`` of a just-built dataset beside its data."""
  path = pathlib.Path(os.fspath(builder.data_dir)) / FINGERPRINT_FILE
  path.write_text(json.dumps({'fingerprint': fingerprint(type(builder))}))


def stored_fingerprint(builder) -> str | None:
  """The fingerprint a built dataset was written with (None: none stored)."""
  path = pathlib.Path(os.fspath(builder.data_dir)) / FINGERPRINT_FILE
  try:
    return json.loads(path.read_text())['fingerprint']
  except (OSError, ValueError, KeyError, TypeError):
    return None


def info(builder, **kwargs) -> tfds.core.DatasetInfo:
  """DatasetInfo of a melody builder: README/CITATIONS from its folder.

  Shuffling is off, so examples are stored in the generator's order (sorted
  track ids): evaluation reports list clips in name order, and training
  shuffles anyway.
  """
  return builder.dataset_info_from_configs(features=features(),
                                           disable_shuffling=True, **kwargs)


def features() -> tfds.features.FeaturesDict:
  """The feature spec of every melody dataset (variable length T).

  Arrays are stored as raw bytes (``Encoding.BYTES``): the default encoding
  turns each float into a protobuf list element, slow to write and to read;
  bytes decode to the same arrays and shapes without TensorFlow.
  """
  def tensor(shape, dtype):
    return tfds.features.Tensor(shape=shape, dtype=dtype,
                                encoding=tfds.features.Encoding.BYTES)

  return tfds.features.FeaturesDict({
      'cfp': tensor((3, FEATURES.n_bins, None), np.float32),
      'target': tensor((None,), np.int32),
      'f0_hz': tensor((None,), np.float32),
      'times': tensor((None,), np.float64),
      'track_id': tfds.features.Text(),
  })


def encode(track_id: str, samples: np.ndarray, ref_times: np.ndarray | None,
           ref_f0: np.ndarray) -> dict[str, object]:
  """Makes one example from 16 kHz mono samples and a reference melody.

  Args:
    track_id: clip name.
    samples: float32 [n] at ``FEATURES.sample_rate``.
    ref_times: float [N] annotation times (s), or None when ``ref_f0`` is
      already on the frame grid (length T).
    ref_f0: float [N] (or [T]) f0 in Hz, 0 = no melody.

  Returns:
    The example dict described in the module docstring.
  """
  cfp = cfp_lib.compute_cfp(samples)
  times = FEATURES.frame_times(cfp.shape[-1])
  if ref_times is None:
    f0 = np.asarray(ref_f0, dtype=np.float64)
    if f0.shape != times.shape:
      raise errors.DatasetError(f'{track_id}: {f0.shape[0]} f0 values for '
                                f'{times.shape[0]} frames')
  else:
    f0 = pitch.resample_reference(ref_times, ref_f0, times)
  return {'cfp': cfp, 'target': pitch.hz_to_class(f0),
          'f0_hz': f0.astype(np.float32), 'times': times,
          'track_id': track_id}


def encode_file(track_id: str, audio_path: pathlib.Path,
                ref_times: np.ndarray, ref_f0: np.ndarray):
  """Loads a corpus file (mono by channel mean, 16 kHz) and encodes it.

  Returns:
    (key, example): the key is the track id, never a path.
  """
  samples = audio_lib.load_audio(audio_path, res_type=RES_TYPE)
  return track_id, encode(track_id, samples, ref_times, ref_f0)


def encode_pair(item, read_labels):
  """(key, example) of a ``(track_id, (audio path, label path))`` item.

  ``read_labels(label_path) -> (times, f0_hz)``. A module-level function, so
  Beam workers can unpickle it.
  """
  track_id, (audio_path, label_path) = item
  times, f0 = read_labels(label_path)
  return encode_file(track_id, audio_path, times, f0)


class MelodyBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
  """Base of the corpus builders: single-process or Apache Beam generation.

  A build whose download config names a Beam runner or Beam options
  (``tfds.download.DownloadConfig(beam_runner=..., beam_options=...)``,
  ``config.data.beam_options``) generates its examples as a Beam pipeline,
  each clip's CFP on whichever worker gets it; otherwise in this process.
  The examples are the same either way (``testing.BuilderTestCase`` checks).
  """

  _beam = False

  def _generate_splits(self, dl_manager, download_config):
    # The one place TFDS shows a builder its download config.
    self._beam = bool(download_config.beam_runner
                      or download_config.beam_options)
    return super()._generate_splits(dl_manager, download_config)

  def examples(self, items, make):
    """``make(item) -> (key, example)`` over items in order.

    Returns:
      An iterator; in a Beam build a Beam PTransform whose keys are the
      items' positions instead: TFDS's Beam writer stores an unshuffled
      dataset sorted by integer key, so the order (track ids) stays that
      of a single-process build. ``make`` must pickle (module-level).
    """
    if not self._beam:
      return map(make, items)
    beam = tfds.core.lazy_imports.apache_beam
    return (beam.Create(list(enumerate(items)))
            | beam.Map(functools.partial(_indexed, make=make)))


def _indexed(index_item, make):
  index, item = index_item
  return index, make(item)[1]


def manual_dir(dl_manager, name: str, instructions: str) -> pathlib.Path:
  """The corpus folder, or a DatasetError that says how to provide it."""
  where = getattr(dl_manager, '_manual_dir', None)
  try:
    return pathlib.Path(os.fspath(dl_manager.manual_dir))
  except AssertionError as e:  # TFDS's way of saying "missing or empty"
    raise errors.DatasetError(
        f'{name}: manual folder {where} is missing or empty. '
        f'{" ".join(instructions.split())}') from e


def require_dir(path: pathlib.Path, name: str, instructions: str) -> None:
  """Raises DatasetError unless ``path`` is a folder."""
  if not path.is_dir():
    raise errors.DatasetError(
        f'{name}: expected folder {path} is missing. '
        f'{" ".join(instructions.split())}')


def pair_files(name: str, audio_dir: pathlib.Path, label_dir: pathlib.Path,
               label_suffix: str, instructions: str, audio_glob: str = '*',
               audio_id=lambda stem: stem
               ) -> dict[str, tuple[pathlib.Path, pathlib.Path]]:
  """Matches audio files to label files by track id.

  The track id of a label file is its name less ``label_suffix``; that of an
  audio file is ``audio_id(stem)``.

  Returns:
    {track_id: (audio path, label path)}, sorted by track id.

  Raises:
    errors.DatasetError: no clips, or a clip without its label file (and the
      other way round), listing a few of the culprits.
  """
  require_dir(audio_dir, name, instructions)
  require_dir(label_dir, name, instructions)
  audio = {audio_id(p.stem): p for p in sorted(audio_dir.glob(audio_glob))
           if p.suffix.lower() in audio_lib.AUDIO_EXTENSIONS}
  labels = {p.name[:-len(label_suffix)]: p for p in label_dir.iterdir()
            if p.name.endswith(label_suffix)}
  if not audio:
    raise errors.DatasetError(
        f'{name}: no audio files in {audio_dir}. '
        f'{" ".join(instructions.split())}')
  _complain(name, 'audio without a label file',
            sorted(set(audio) - set(labels)), label_dir, instructions)
  _complain(name, 'label files without audio', sorted(set(labels) - set(audio)),
            audio_dir, instructions)
  return {k: (audio[k], labels[k]) for k in sorted(audio)}


def _complain(name, what, missing, folder, instructions):
  if missing:
    shown = ', '.join(missing[:5]) + (' ...' if len(missing) > 5 else '')
    raise errors.DatasetError(
        f'{name}: incomplete corpus in {folder}: {len(missing)} {what} '
        f'({shown}). {" ".join(instructions.split())}')


def warn_if_partial(name: str, found: int, expected: int) -> None:
  """Logs a warning when a corpus has fewer clips than the published one."""
  if found != expected:
    logging.warning('%s: found %d clips, the full corpus has %d; building the '
                    'splits from what is there.', name, found, expected)


def split_ids(ids: Iterable[str], is_test) -> tuple[list[str], list[str]]:
  """Splits track ids into sorted (test, rest) lists by ``is_test(id)``."""
  ids = sorted(ids)
  return [i for i in ids if is_test(i)], [i for i in ids if not is_test(i)]
