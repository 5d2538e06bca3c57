"""Tests for jaxmelody.data.synth: determinism, label ranges, f0 present in audio."""

import numpy as np
import pytest

from jaxmelody.data import synth
from jaxmelody.frontend.feature_config import FEATURES


@pytest.fixture(scope='module')
def clips():
  return [synth.synthesize(seed, duration_s=4.0) for seed in range(4)]


def test_deterministic_per_seed():
  a, b = synth.synthesize(7, 2.0), synth.synthesize(7, 2.0)
  np.testing.assert_array_equal(a.audio, b.audio)
  np.testing.assert_array_equal(a.f0_hz, b.f0_hz)
  c = synth.synthesize((7, 1), 2.0)  # tuple seeds are distinct streams
  assert not np.array_equal(a.audio, c.audio)


def test_different_seeds_differ(clips):
  for a, b in zip(clips, clips[1:]):
    assert not np.array_equal(a.audio, b.audio)
    assert not np.array_equal(a.f0_hz, b.f0_hz)


def test_shapes_and_frame_grid(clips):
  for clip in clips:
    n = len(clip.audio)
    assert n == 4 * FEATURES.sample_rate and clip.audio.dtype == np.float32
    t = FEATURES.n_frames(n)
    assert clip.f0_hz.shape == (t,) and clip.f0_hz.dtype == np.float64
    np.testing.assert_allclose(clip.times, FEATURES.frame_times(t))
    # The frame labels are the contour itself at the frame times.
    np.testing.assert_array_equal(clip.f0_hz, clip.melody.f0_at(clip.times))
    assert np.all(np.isfinite(clip.audio)) and np.abs(clip.audio).max() <= 0.9


def test_f0_range_and_voicing(clips):
  for clip in clips:
    voiced = clip.f0_hz > 0
    assert 0.4 < voiced.mean() < 0.97  # rests exist, but mostly singing
    assert np.all(clip.f0_hz[~voiced] == 0)
    assert clip.f0_hz[voiced].min() >= 80 and clip.f0_hz.max() <= 1000
    # Notes change pitch: not a single held tone.
    assert np.ptp(np.log2(clip.f0_hz[voiced])) > 1 / 12


def test_other_sample_rate_keeps_16k_frame_grid():
  clip = synth.synthesize(3, duration_s=1.0, sr=44100)
  assert len(clip.audio) == 44100
  assert len(clip.f0_hz) == FEATURES.n_frames(FEATURES.sample_rate)


def test_voice_f0_is_in_the_audio(clips):
  """At steady voiced frames the voice's spectrum peaks within 50 cents."""
  sr, half = FEATURES.sample_rate, 512
  window = np.hanning(2 * half)
  freqs = np.fft.rfftfreq(8 * 2 * half, 1 / sr)
  hits, total = 0, 0
  for clip in clips:
    f0 = clip.f0_hz
    steady = (f0[1:-1] > 0) & (f0[:-2] > 0) & (f0[2:] > 0)
    for k in np.flatnonzero(steady)[::7] + 1:
      centre = int(round(clip.times[k] * sr))
      seg = clip.voice[centre - half:centre + half]
      if len(seg) < 2 * half:
        continue
      spectrum = np.abs(np.fft.rfft(seg * window, 8 * 2 * half))
      band = (freqs > f0[k] * 2 ** (-2 / 12)) & (freqs < f0[k] * 2 ** (2 / 12))
      peak = freqs[band][np.argmax(spectrum[band])]
      hits += abs(12 * np.log2(peak / f0[k])) < 0.5
      # The fundamental is a real component, not the noise floor.
      hits -= spectrum[band].max() < 20 * np.median(spectrum)
      total += 1
  assert total > 20 and hits / total > 0.9
