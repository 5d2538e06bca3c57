"""Pitch classes, label readers and the per-frame argmax: one label rule set.

The model predicts one of ``FEATURES.n_classes`` (257) classes per frame:
class 0 is "no melody" and class m >= 1 is ``31 * 2**(m / 48)`` Hz. This is
the CFP's 257 centre frequencies with the first replaced by 0 Hz, the table
the released code uses (a table shifted by one bin loses ~2 OA points).
"""

import os
import warnings

import numpy as np

from jaxmelody import errors
from jaxmelody.frontend.feature_config import FEATURES

# [257] float64: class -> Hz; CLASS_HZ[0] = 0 means no melody.
CLASS_HZ = np.concatenate([[0.0], FEATURES.center_freqs[1:]])


def hz_to_class(f0_hz) -> np.ndarray:
  """Maps frequencies to classes by the nearest table entry in Hz.

  Args:
    f0_hz: array [...] of frequencies; values <= 0 mean no melody.

  Returns:
    int32 array [...]; 0 where ``f0_hz <= 0``.
  """
  f0_hz = np.asarray(f0_hz, dtype=np.float64)
  # argmin over Hz (not cents), as the authors; 0 Hz is in the table, so
  # unvoiced frames land on class 0 by the same rule.
  dist = np.abs(f0_hz[..., None] - CLASS_HZ)
  classes = np.argmin(dist, axis=-1).astype(np.int32)
  return np.where(f0_hz > 0, classes, 0).astype(np.int32)


def class_to_hz(classes) -> np.ndarray:
  """Returns the frequency (Hz, float64) of each class; class 0 -> 0 Hz."""
  return CLASS_HZ[np.asarray(classes)]


def semitones_to_hz(semitones) -> np.ndarray:
  """Fractional MIDI numbers to Hz; values <= 0 stay 0 (no pitch)."""
  p = np.asarray(semitones, dtype=np.float64)
  return np.where(p > 0, 440.0 * 2.0 ** ((p - 69.0) / 12.0), 0.0)


def _read_columns(path, n_cols: int) -> np.ndarray:
  """Reads a whitespace-separated numeric file into [N, n_cols] float64."""
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise errors.LabelError(f'{path}: label file does not exist')
  try:
    # universal newlines make CRLF files (ADC2004, MIREX05) read as LF.
    with open(path, encoding='utf-8', errors='strict') as f:
      rows = [line.replace(',', ' ').split() for line in f if line.strip()]
    values = np.array(rows, dtype=np.float64)
  except (ValueError, UnicodeDecodeError) as e:
    raise errors.LabelError(f'{path}: not a numeric label file ({e})') from e
  if values.ndim != 2 or values.shape[1] < n_cols or not len(values):
    raise errors.LabelError(
        f'{path}: expected {n_cols} column(s) per line, got shape {values.shape}')
  if not np.all(np.isfinite(values)):
    raise errors.LabelError(f'{path}: contains non-finite values')
  return values[:, :n_cols]


def read_pv(path, *, hop_s: float = 0.02, offset_s: float = 0.02):
  """Reads a semitone label file (MIR-1K .pv, iKala .pv): one value per line.

  Args:
    path: the label file.
    hop_s: time between lines (0.02 s for MIR-1K, 0.032 s for iKala).
    offset_s: time of line 0. For MIR-1K, 0.02 is the centre of the 40 ms
      window of line 0 (physically correct); the authors used 0.01.

  Returns:
    (times float64 [N], f0_hz float64 [N]), 0 Hz where unvoiced.
  """
  semitones = _read_columns(path, 1)[:, 0]
  times = offset_s + hop_s * np.arange(len(semitones), dtype=np.float64)
  return times, semitones_to_hz(semitones)


def read_ref(path):
  """Reads a MIREX-style two-column reference (time s, f0 Hz); CRLF tolerated.

  Returns:
    (times float64 [N], f0_hz float64 [N]); negative f0 (unvoiced guesses in
    some annotations) becomes 0.
  """
  values = _read_columns(path, 2)
  return values[:, 0], np.maximum(values[:, 1], 0.0)


def resample_reference(times, f0_hz, frame_times) -> np.ndarray:
  """Puts a reference melody onto the feature frame times.

  Linear interpolation with ``mir_eval.melody.resample_melody_series`` (an
  unvoiced neighbour makes the frame unvoiced), then rounded to 3 decimals as
  the authors wrote their references.

  Args:
    times: float [N] annotation times (s), increasing.
    f0_hz: float [N] annotation f0 (Hz, 0 = unvoiced).
    frame_times: float [T] target times, e.g. ``FEATURES.frame_times(T)``.

  Returns:
    float64 [T] f0 in Hz (0 = unvoiced); 0 outside the annotated span.
  """
  times = np.asarray(times, dtype=np.float64)
  f0_hz = np.asarray(f0_hz, dtype=np.float64)
  frame_times = np.asarray(frame_times, dtype=np.float64)
  if len(times) > 1 and len(frame_times) and frame_times.min() < times[0]:
    # Frames before the first annotation are unvoiced. Extend the grid
    # backwards at the annotation's own step so it stays uniform (mir_eval
    # warns on non-uniform grids and cannot extrapolate).
    step = times[1] - times[0]
    n_pad = int(np.ceil((times[0] - frame_times.min()) / step))
    times = np.concatenate([times[0] - step * np.arange(n_pad, 0, -1), times])
    f0_hz = np.concatenate([np.zeros(n_pad), f0_hz])
  voicing = (f0_hz > 0).astype(np.float64)
  # Imported here: extraction (``jaxmelody FILES``) never needs mir_eval.
  import mir_eval  # pylint: disable=g-import-not-at-top
  with warnings.catch_warnings():
    # ADC2004/MIREX05 times are rounded to 3 decimals (steps of 5 or 6 ms),
    # which mir_eval flags as non-uniform; unvoiced frames are 0 Hz, not
    # missing, so its linear interpolation is right and the warning is noise.
    warnings.filterwarnings('ignore', message='Non-uniform timescale')
    f0, _ = mir_eval.melody.resample_melody_series(
        times, f0_hz, voicing, frame_times, kind='linear')
  return np.round(np.maximum(f0, 0.0), 3)


def softmax(logits, axis: int = -1) -> np.ndarray:
  """Numerically stable softmax in NumPy."""
  z = np.asarray(logits, dtype=np.float64)
  z = z - z.max(axis=axis, keepdims=True)
  e = np.exp(z)
  return e / e.sum(axis=axis, keepdims=True)


def argmax_hz(logits):
  """Turns per-frame logits into a melody: argmax over the 257 rows.

  Args:
    logits: float [T, 257], row 0 = no melody.

  Returns:
    (f0_hz float64 [T] with 0 = no melody, voicing float64 [T] = probability
    that a melody is present, i.e. 1 - softmax row 0).
  """
  logits = np.asarray(logits)
  f0_hz = class_to_hz(np.argmax(logits, axis=-1))
  voicing = 1.0 - softmax(logits, axis=-1)[..., 0]
  return f0_hz, voicing
