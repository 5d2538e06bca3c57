"""Real-world degradations of a mixture, drawn at random and applied exactly.

The robustness validation set (``datasets_builders/robustness``) renders
MIR-1K's validation clips under these conditions; training augmentation
draws from the same families with independent seeds. The signal processing
is pedalboard's and audiomentations'; this module only draws parameters and
chains the effects.

Families (``FAMILIES``; several drawn for one clip apply in this order,
room first and delivery last, as a recording would meet them):

- ``reverb``: ``pedalboard.Reverb``, room size 0.3-0.9, damping 0.2-0.8,
  wet level 0.1-0.4 over a dry level of 0.7-1.0.
- ``eq``: a low shelf (80-400 Hz) or a high shelf (1.5-5 kHz) of -12 to
  +12 dB, or band-limiting (high-pass at 150-400 Hz and low-pass at
  2.5-5 kHz, a small loudspeaker or a phone line).
- ``noise``: ``audiomentations.AddColorNoise`` at 10-20 dB SNR, spectral
  slope -6 to +6 dB per octave (brown to violet).
- ``gain``: -20 to +6 dB.
- ``mp3``: MP3 at 64-96 kbit/s (``audiomentations.Mp3Compression``, LAME)
  at 44.1 kHz, as music files are encoded, and back to the clip's rate.
- ``resample``: a round trip through 44.1 kHz with a cheap interpolator
  (``pedalboard.Resample``: zero-order hold, linear, Catmull-Rom or
  Lagrange).

Every rendering ends clipped to [-1, 1], as a decoded file would be (so a
level raised by ``gain`` may clip). None of the effects shifts the signal in
time (filters shift phase by at most a few samples, a fraction of a 16 ms
frame), so the clip's labels still hold.

Functions:
  draw(rng, max_conditions=2, families=FAMILIES) -> tuple[Condition, ...]
  apply(samples, conditions, sr) -> float32 [n]
"""

import dataclasses
import random

import audiomentations
import librosa
import numpy as np
import pedalboard

FAMILIES = ('reverb', 'eq', 'noise', 'gain', 'mp3', 'resample')
CODEC_RATE = 44100
_INTERPOLATORS = ('ZeroOrderHold', 'Linear', 'CatmullRom', 'Lagrange')


@dataclasses.dataclass(frozen=True)
class Condition:
  """One drawn effect: its family and its parameters (name -> value)."""
  family: str
  params: tuple[tuple[str, object], ...]

  def __getitem__(self, name):
    return dict(self.params)[name]

  def __str__(self) -> str:
    def fmt(v):
      return f'{v:.3g}' if isinstance(v, float) else str(v)
    inner = ','.join(f'{k}={fmt(v)}' for k, v in self.params)
    return f'{self.family}({inner})'


def _draw_one(rng: np.random.Generator, family: str) -> Condition:
  u = lambda lo, hi: float(rng.uniform(lo, hi))  # noqa: E731
  if family == 'reverb':
    params = dict(room=u(0.3, 0.9), damping=u(0.2, 0.8), wet=u(0.1, 0.4),
                  dry=u(0.7, 1.0))
  elif family == 'eq':
    kind = str(rng.choice(['low_shelf', 'high_shelf', 'band_limit']))
    if kind == 'band_limit':
      params = dict(kind=kind, low_hz=u(150, 400), high_hz=u(2500, 5000))
    else:
      cutoff = u(80, 400) if kind == 'low_shelf' else u(1500, 5000)
      params = dict(kind=kind, cutoff_hz=cutoff, gain_db=u(-12, 12))
  elif family == 'noise':
    params = dict(snr_db=u(10, 20), slope_db=u(-6, 6),
                  seed=int(rng.integers(2**31)))
  elif family == 'gain':
    params = dict(gain_db=u(-20, 6))
  elif family == 'mp3':
    params = dict(kbps=int(rng.choice([64, 80, 96])))
  elif family == 'resample':
    params = dict(interpolator=str(rng.choice(_INTERPOLATORS)))
  else:
    raise ValueError(f'unknown degradation family {family!r}; one of '
                     f'{FAMILIES}')
  return Condition(family, tuple(params.items()))


def draw(rng: np.random.Generator, max_conditions: int = 2,
         families: tuple[str, ...] = FAMILIES) -> tuple[Condition, ...]:
  """Draws 1 to ``max_conditions`` distinct families and their parameters.

  Returns:
    The conditions in ``FAMILIES`` order (the order ``apply`` uses).
  """
  count = int(rng.integers(1, max_conditions + 1))
  chosen = set(rng.choice(len(families), size=count, replace=False).tolist())
  picked = [families[i] for i in sorted(chosen)]
  return tuple(_draw_one(rng, f) for f in FAMILIES if f in picked)


def _seeded(transform, samples, sr, seed):
  """Runs an audiomentations transform with its global RNGs seeded.

  audiomentations draws from ``random`` and ``numpy.random``; seeding them
  here (and restoring them after) makes the rendering a function of the
  condition alone.
  """
  py_state, np_state = random.getstate(), np.random.get_state()
  random.seed(seed)
  np.random.seed(seed)
  try:
    return transform(samples, sample_rate=sr)
  finally:
    random.setstate(py_state)
    np.random.set_state(np_state)


def _apply_one(x: np.ndarray, c: Condition, sr: int) -> np.ndarray:
  if c.family == 'reverb':
    return pedalboard.Reverb(room_size=c['room'], damping=c['damping'],
                             wet_level=c['wet'], dry_level=c['dry'])(x, sr)
  if c.family == 'eq':
    if c['kind'] == 'band_limit':
      board = pedalboard.Pedalboard([
          pedalboard.HighpassFilter(cutoff_frequency_hz=c['low_hz']),
          pedalboard.LowpassFilter(cutoff_frequency_hz=c['high_hz'])])
      return board(x, sr)
    shelf = (pedalboard.LowShelfFilter if c['kind'] == 'low_shelf'
             else pedalboard.HighShelfFilter)
    return shelf(cutoff_frequency_hz=c['cutoff_hz'], gain_db=c['gain_db'])(
        x, sr)
  if c.family == 'noise':
    noise = audiomentations.AddColorNoise(
        min_snr_db=c['snr_db'], max_snr_db=c['snr_db'],
        min_f_decay=c['slope_db'], max_f_decay=c['slope_db'], p=1.0)
    return _seeded(noise, x, sr, c['seed'])
  if c.family == 'gain':
    return pedalboard.Gain(gain_db=c['gain_db'])(x, sr)
  if c.family == 'mp3':
    codec = audiomentations.Mp3Compression(
        min_bitrate=c['kbps'], max_bitrate=c['kbps'],
        backend='fast-mp3-augment', p=1.0)
    up = librosa.resample(x, orig_sr=sr, target_sr=CODEC_RATE,
                          res_type='soxr_hq')
    coded = _seeded(codec, up.astype(np.float32), CODEC_RATE, 0)
    down = librosa.resample(coded, orig_sr=CODEC_RATE, target_sr=sr,
                            res_type='soxr_hq')
    return librosa.util.fix_length(down, size=x.shape[-1])
  if c.family == 'resample':
    quality = getattr(pedalboard.Resample.Quality, c['interpolator'])
    return pedalboard.Resample(target_sample_rate=CODEC_RATE,
                               quality=quality)(x, sr)
  raise ValueError(f'unknown degradation family {c.family!r}')


def apply(samples: np.ndarray, conditions, sr: int) -> np.ndarray:
  """Renders mono ``samples`` (float [n] at ``sr``) under ``conditions``.

  Returns:
    float32 [n], clipped to [-1, 1].
  """
  x = np.asarray(samples, dtype=np.float32)
  for condition in conditions:
    x = np.asarray(_apply_one(x, condition, sr), dtype=np.float32)
    x = x.reshape(-1)[:samples.shape[-1]]
  return np.clip(x, -1.0, 1.0)
