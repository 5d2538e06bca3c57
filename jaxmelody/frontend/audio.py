"""Audio loading: any file soundfile/librosa reads, as 16 kHz mono float32.

Bad input raises ``errors.AudioError`` with a message that names the file
and says what is wrong; ``run.py`` prints it as one ``error:`` line.
"""

import os
import warnings

import librosa
import numpy as np
import soundfile as sf

from jaxmelody import errors
from jaxmelody.frontend.feature_config import FEATURES

AUDIO_EXTENSIONS = ('.wav', '.flac', '.ogg', '.oga', '.opus', '.mp3', '.m4a',
                    '.aif', '.aiff', '.au')


def _read(path: str):
  """Reads samples [n, channels] float32 and the rate; soundfile first."""
  try:
    samples, sr = sf.read(path, dtype='float32', always_2d=True)
    return samples, sr
  except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
    pass  # not a format libsndfile knows (e.g. some mp3/m4a): try librosa
  try:
    with warnings.catch_warnings():
      # librosa warns before falling back to audioread; the error below says
      # everything a user needs.
      warnings.simplefilter('ignore')
      samples, sr = librosa.load(path, sr=None, mono=False, dtype=np.float32)
  except Exception as e:  # audioread raises many unrelated types
    raise errors.AudioError(f'{path}: cannot decode audio: {_why(path, e)}'
                            ) from e
  samples = np.atleast_2d(samples).T  # librosa gives [channels, n]
  return samples, sr


def _why(path: str, error: Exception) -> str:
  """Words for a file neither libsndfile nor audioread could decode."""
  try:
    with open(path, 'rb') as f:
      head = f.read(4096)
  except OSError as e:
    return f'cannot read it ({e.strerror or e})'
  try:
    head.decode('utf-8')
    is_text = b'\0' not in head
  except UnicodeDecodeError:
    is_text = False
  if is_text:
    return 'it is a text file, not audio'
  # audioread's NoBackendError carries no message: no decoder (libsndfile,
  # ffmpeg, ...) recognised the contents.
  detail = f' ({type(error).__name__}: {error})' if str(error) else ''
  return ('no decoder recognises its contents (libsndfile, and ffmpeg or '
          'another audioread backend if installed): it is corrupt or not '
          f'audio{detail}')


def load_mono(path):
  """An audio file at its own sample rate, channels mixed.

  Args:
    path: any file ``load_audio`` reads.

  Returns:
    (float32 [n], sample rate in Hz).

  Raises:
    errors.AudioError: unreadable or corrupt audio.
  """
  samples, sr = _read(os.fspath(path))
  return samples.mean(axis=1), sr


def resample(samples: np.ndarray, sr: int, target_sr: int,
             res_type: str = 'polyphase') -> np.ndarray:
  """``librosa.resample(samples, orig_sr=sr, target_sr=target_sr, ...)``.

  'polyphase' repeats librosa's steps (``scipy.signal.resample_poly`` by the
  rates' reduced ratio, then ``fix_length`` to ceil(n * ratio) samples) with
  the same numbers, but without importing librosa's resampling module and
  the numba set-up behind it: about 1.5 s of a fresh process's start-up.
  Other resamplers go through librosa.

  Args:
    samples: float32 [n].
    sr, target_sr: integer sample rates in Hz.
    res_type: a librosa resampler name.

  Returns:
    float32 [ceil(n * target_sr / sr)].
  """
  if res_type != 'polyphase' or int(sr) != sr or int(target_sr) != target_sr:
    return librosa.resample(samples, orig_sr=sr, target_sr=target_sr,
                            res_type=res_type).astype(np.float32)
  from scipy import signal  # pylint: disable=g-import-not-at-top
  sr, target_sr = int(sr), int(target_sr)
  gcd = np.gcd(sr, target_sr)
  size = int(np.ceil(samples.shape[-1] * float(target_sr) / sr))
  out = signal.resample_poly(samples, target_sr // gcd, sr // gcd, axis=-1)
  out = out[..., :size]
  if out.shape[-1] < size:
    out = np.pad(out, [(0, 0)] * (out.ndim - 1) + [(0, size - out.shape[-1])])
  return np.asarray(out, dtype=np.float32)


def prepare_audio(samples, sr, *, target_sr: int = FEATURES.sample_rate,
                  res_type: str = 'polyphase', name: str = 'audio'):
  """Makes mono float32 samples at ``target_sr`` and checks they are usable.

  Args:
    samples: float array [n] or [n, channels] (soundfile's layout).
    sr: sample rate of ``samples`` in Hz.
    target_sr: rate to resample to.
    res_type: librosa resampler; 'polyphase' (scipy.signal.resample_poly)
      reproduces the authors' ADC2004 scores, 'soxr_hq' does not quite.
    name: what to call the input in error messages (a path or 'audio').

  Returns:
    float32 array [m] at ``target_sr``.

  Raises:
    errors.AudioError: empty, too short for one frame, non-finite, or a
      nonsensical sample rate.
  """
  samples = np.asarray(samples, dtype=np.float32)
  if samples.ndim == 2:
    samples = samples.mean(axis=1)  # mono by the channel mean
  elif samples.ndim != 1:
    raise errors.AudioError(
        f'{name}: expected samples of shape [n] or [n, channels], got '
        f'{samples.shape}')
  if not sr or sr <= 0:
    raise errors.AudioError(f'{name}: invalid sample rate {sr!r}')
  if samples.size == 0:
    raise errors.AudioError(f'{name}: contains no samples (zero-length audio)')
  if not np.all(np.isfinite(samples)):
    raise errors.AudioError(f'{name}: contains NaN or infinite samples')
  if sr != target_sr:
    samples = resample(samples, sr, target_sr, res_type)
  if len(samples) < FEATURES.min_samples:
    raise errors.AudioError(
        f'{name}: too short ({len(samples) / target_sr * 1000:.1f} ms); '
        f'at least {FEATURES.min_samples / FEATURES.sample_rate * 1000:.0f} '
        'ms is needed for one 16 ms frame')
  return samples


def load_audio(path, *, sr: int = FEATURES.sample_rate,
               res_type: str = 'polyphase') -> np.ndarray:
  """Loads an audio file as mono float32 at ``sr``.

  Args:
    path: wav, flac, ogg, mp3, ... (anything soundfile or librosa reads).
    sr: target sample rate.
    res_type: librosa resampler used when the file's rate differs.

  Returns:
    float32 array [n] at ``sr``.

  Raises:
    errors.AudioError: missing, unreadable, corrupt, empty, too short or
      non-finite audio.
  """
  path = os.fspath(path)
  if not os.path.exists(path):
    raise errors.AudioError(f'{path}: file does not exist')
  if os.path.isdir(path):
    raise errors.AudioError(f'{path}: is a folder, not an audio file')
  if os.path.getsize(path) == 0:
    raise errors.AudioError(f'{path}: file is empty (0 bytes)')
  samples, file_sr = _read(path)
  return prepare_audio(samples, file_sr, target_sr=sr, res_type=res_type,
                       name=path)
