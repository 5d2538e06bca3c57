"""Synthetic singing-melody mixtures whose f0 is known exactly.

A sung-like voice (notes on a scale, glides between legato notes, vibrato,
vowel formants, rests) over block chords, light percussion and noise. Used by
the ``synthetic_melody`` dataset (training demos, tests without corpora), the
dummy data of the corpus builders and the demo clip. Everything is drawn from
one ``numpy`` Generator, so a seed gives the same clip on every machine.
"""

import dataclasses

import numpy as np
from scipy import signal

from jaxmelody.frontend.feature_config import FEATURES

_SCALES = ((0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10))  # major, minor
# First three formants (Hz) of the vowels a, e, i, o, u (adult averages).
_VOWELS = np.array([[730., 1090., 2440.], [530., 1840., 2480.],
                    [270., 2290., 3010.], [570., 840., 2410.],
                    [300., 870., 2240.]])
_FORMANT_GAIN = np.array([1.0, 0.5, 0.25])
_FORMANT_BW = np.array([90., 110., 160.])
_LOWEST, _HIGHEST = 43, 81   # MIDI range of notes (98-880 Hz before vibrato)
_N_HARMONICS = 30


@dataclasses.dataclass(frozen=True)
class Notes:
  """The sung notes; ``f0_at`` evaluates the exact contour at any time.

  Attributes (float64 arrays [N], one entry per note, sorted by start):
    starts, ends: note span in seconds; a note starting where the previous
      one ends is legato and glides from it.
    semitones: MIDI pitch of the note's steady part.
    glide_s: duration of the glide into a legato note.
    vibrato_hz, vibrato_depth, vibrato_phase: sinusoidal vibrato (depth in
      semitones, faded in over the first 0.25 s of the note).
  """
  starts: np.ndarray
  ends: np.ndarray
  semitones: np.ndarray
  glide_s: np.ndarray
  vibrato_hz: np.ndarray
  vibrato_depth: np.ndarray
  vibrato_phase: np.ndarray

  def note_index(self, t) -> tuple[np.ndarray, np.ndarray]:
    """Returns (index of the sounding note int [...], voiced bool [...])."""
    t = np.asarray(t, dtype=np.float64)
    idx = np.searchsorted(self.starts, t, side='right') - 1
    safe = np.maximum(idx, 0)
    return safe, (idx >= 0) & (t < self.ends[safe])

  def f0_at(self, t) -> np.ndarray:
    """Exact f0 in Hz at times ``t`` (float [...]); 0 outside the notes."""
    t = np.asarray(t, dtype=np.float64)
    idx, voiced = self.note_index(t)
    prev = np.maximum(idx - 1, 0)
    onset = t - self.starts[idx]
    legato = (idx > 0) & (np.abs(self.starts[idx] - self.ends[prev]) < 1e-9)
    u = np.clip(onset / self.glide_s[idx], 0.0, 1.0)
    smooth = u * u * (3.0 - 2.0 * u)  # smoothstep: no kink at either end
    pitch = np.where(legato, self.semitones[prev] + smooth *
                     (self.semitones[idx] - self.semitones[prev]),
                     self.semitones[idx])
    depth = self.vibrato_depth[idx] * np.clip(onset / 0.25, 0.0, 1.0)
    pitch = pitch + depth * np.sin(2 * np.pi * self.vibrato_hz[idx] * onset +
                                   self.vibrato_phase[idx])
    return np.where(voiced, 440.0 * 2.0 ** ((pitch - 69.0) / 12.0), 0.0)


@dataclasses.dataclass(frozen=True)
class SynthClip:
  """One synthetic mixture.

  Attributes:
    audio: float32 [n] mixture at ``sr`` (peak 0.9).
    f0_hz: float64 [T] exact voice f0 at ``times``; 0 = no melody.
    times: float64 [T] ``FEATURES.frame_times(T)``, T = ``FEATURES.n_frames``.
    voice: float32 [n] the voice alone, at its level in ``audio``.
    sr: sample rate of ``audio``.
    melody: the notes, to evaluate the contour on another time grid.
  """
  audio: np.ndarray
  f0_hz: np.ndarray
  times: np.ndarray
  voice: np.ndarray
  sr: int
  melody: Notes


def _draw_melody(rng: np.random.Generator, duration_s: float, tonic: int,
                 scale: np.ndarray) -> Notes:
  """Phrases of 2-6 legato notes on a random walk over the scale, with rests."""
  # Scale degrees as MIDI numbers inside the voice's range.
  octaves = np.arange(-2, 3)[:, None] * 12
  pool = np.sort((tonic + scale[None, :] + octaves).ravel())
  pool = pool[(pool >= _LOWEST) & (pool <= _HIGHEST)]
  pos = int(np.argmin(np.abs(pool - tonic)))
  notes = []
  t = rng.uniform(0.0, min(0.4, 0.25 * duration_s))  # leading silence
  while t < duration_s - 0.1 or not notes:  # at least one note
    for _ in range(rng.integers(2, 7)):
      step = rng.choice([-4, -2, -1, -1, 0, 1, 1, 2, 4])
      pos = int(np.clip(pos + step, 0, len(pool) - 1))
      length = rng.uniform(0.15, 0.7)
      notes.append((t, min(t + length, duration_s), pool[pos]))
      t += length
      if t >= duration_s:
        break
    t += rng.uniform(0.15, 0.8)  # rest between phrases
  starts, ends, pitches = (np.array(c, dtype=np.float64) for c in zip(*notes))
  n = len(notes)
  return Notes(
      starts=starts, ends=ends, semitones=pitches,
      glide_s=np.minimum(rng.uniform(0.03, 0.12, n), 0.5 * (ends - starts)),
      vibrato_hz=rng.uniform(5.0, 6.0, n),
      vibrato_depth=rng.uniform(0.1, 0.6, n),
      vibrato_phase=rng.uniform(0.0, 2 * np.pi, n))


def _harmonics(phase: np.ndarray, n: int):
  """Yields ``(k, sin(k * phase))`` for k = 1..n.

  Chebyshev recurrence sin((k+1)x) = 2 cos(x) sin(kx) - sin((k-1)x): one sin
  and one cos in all instead of n, the bulk of the synthesis time otherwise.
  """
  prev, cur, two_cos = np.zeros_like(phase), np.sin(phase), 2 * np.cos(phase)
  for k in range(1, n + 1):
    yield k, cur
    prev, cur = cur, two_cos * cur - prev


def _smooth(x: np.ndarray, width: int) -> np.ndarray:
  """Moving average with a Hann window: removes clicks at note boundaries."""
  window = signal.windows.hann(width + 2)[1:-1]
  return signal.fftconvolve(x, window / window.sum(), mode='same')


def _voice(rng, melody: Notes, t: np.ndarray, sr: int) -> np.ndarray:
  """Harmonic voice [n]: phase = cumsum of f0, formant-shaped harmonics."""
  f0 = melody.f0_at(t)
  idx, voiced = melody.note_index(t)
  phase = 2 * np.pi * np.cumsum(f0) / sr
  gain = rng.uniform(0.6, 1.0, len(melody.starts))
  env = _smooth(voiced * gain[idx], int(0.02 * sr))
  vowels = _VOWELS[rng.integers(0, len(_VOWELS), len(melody.starts))]
  formants = np.stack([_smooth(vowels[idx, j], int(0.06 * sr))
                       for j in range(3)])                       # [3, n]
  out = np.zeros_like(t)
  for k, sin_k in _harmonics(phase, _N_HARMONICS):
    fk = k * f0
    resonance = sum(g / (1.0 + ((fk - f) / bw) ** 2) for f, g, bw
                    in zip(formants, _FORMANT_GAIN, _FORMANT_BW))
    # 1/k source tilt, formant peaks, nothing at or above 0.45 sr (no aliasing).
    out += (0.15 + resonance) / k * (fk < 0.45 * sr) * sin_k
  return env * out


def _accompaniment(rng, t: np.ndarray, sr: int, tonic: int,
                   scale: np.ndarray) -> np.ndarray:
  """Decaying harmonic triads on the scale plus noise-burst percussion [n]."""
  duration = t[-1] + 1.0 / sr
  changes = np.cumsum(rng.uniform(1.0, 2.0, int(duration) + 2))
  starts = np.concatenate([[0.0], changes[changes < duration]])
  roots = rng.choice([0, 3, 4, 5], len(starts))  # I, IV, V, vi
  degrees = (roots[:, None] + np.array([0, 2, 4])) % 7              # [C, 3]
  midi = tonic - 12 + scale[degrees] + 12 * ((roots[:, None] +
                                              np.array([0, 2, 4])) // 7)
  chord = np.searchsorted(starts, t, side='right') - 1               # [n]
  freqs = 440.0 * 2.0 ** ((midi[chord].T - 69.0) / 12.0)             # [3, n]
  phase = 2 * np.pi * np.cumsum(freqs, axis=1) / sr
  since = t - starts[chord]
  decay = np.exp(-since / rng.uniform(0.6, 1.5)) * np.minimum(since / 0.005,
                                                              1.0)
  tones = sum(k ** -1.5 * sin_k.sum(axis=0)
              for k, sin_k in _harmonics(phase, 8))
  beat = rng.uniform(0.25, 0.5)
  drums = rng.standard_normal(len(t)) * np.exp(-(t % beat) / 0.03)
  return decay * tones + rng.uniform(0.2, 0.6) * drums


def _rms(x: np.ndarray) -> float:
  return float(np.sqrt(np.mean(x ** 2)) + 1e-12)


def synthesize(seed, duration_s: float = 6.0,
               sr: int = FEATURES.sample_rate) -> SynthClip:
  """Synthesizes one mixture and its exact melody.

  Args:
    seed: anything ``np.random.default_rng`` accepts (an int or a tuple of
      ints, e.g. ``(dataset_seed, split, index)``).
    duration_s: clip length in seconds.
    sr: sample rate of the audio.

  Returns:
    A ``SynthClip``; ``f0_hz`` is on ``FEATURES``'s 16 ms frame grid for the
    clip's length at 16 kHz, whatever ``sr`` is.
  """
  rng = np.random.default_rng(seed)
  n = int(round(duration_s * sr))
  t = np.arange(n, dtype=np.float64) / sr
  tonic = int(rng.integers(52, 70))
  scale = np.array(_SCALES[rng.integers(0, 2)])
  melody = _draw_melody(rng, duration_s, tonic, scale)
  voice = _voice(rng, melody, t, sr)
  accomp = _accompaniment(rng, t, sr, tonic, scale)
  voiced = melody.note_index(t)[1]
  # Voice-to-accompaniment ratio 0..8 dB over the voiced part, like karaoke.
  voice = voice / _rms(voice[voiced] if voiced.any() else voice)
  voice *= 10.0 ** (rng.uniform(0.0, 8.0) / 20.0)
  accomp = accomp / _rms(accomp)
  noise = rng.standard_normal(n) * 10.0 ** (rng.uniform(-35.0, -20.0) / 20.0)
  mix = voice + accomp + noise
  scale_to = 0.9 / max(float(np.max(np.abs(mix))), 1e-9)
  times = FEATURES.frame_times(
      FEATURES.n_frames(int(round(n * FEATURES.sample_rate / sr))))
  return SynthClip(audio=(mix * scale_to).astype(np.float32),
                   f0_hz=melody.f0_at(times), times=times,
                   voice=(voice * scale_to).astype(np.float32), sr=sr,
                   melody=melody)
