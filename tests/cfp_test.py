"""Tests of the CFP front end on analytic cases (the authors' golden features:
cfp_golden_test.py)."""

import numpy as np
import pytest
import scipy.signal

from jaxmelody import errors
from jaxmelody.frontend import cfp
from jaxmelody.frontend.feature_config import FEATURES

SR = FEATURES.sample_rate


def _nearest_row(freq_hz: float) -> int:
  return int(np.argmin(np.abs(FEATURES.center_freqs[:FEATURES.n_bins] - freq_hz)))


def _seconds(duration: float) -> np.ndarray:
  return np.arange(int(duration * SR)) / SR


@pytest.mark.parametrize('freq_hz', [261.6, 440.0, 1000.0])
def test_pure_tone_peaks_at_its_row(freq_hz):
  audio = 0.5 * np.sin(2 * np.pi * freq_hz * _seconds(1.0))
  feats = cfp.compute_cfp(audio)
  middle = feats[:, :, 10:-10].mean(axis=2)  # away from the edge frames
  # The authors' triangular filters are not normalised (higher rows sum more
  # bins), so a main lobe spanning several rows may peak one row (36 cents)
  # off the nearest centre; more than that would be a wrong frequency axis.
  assert abs(int(np.argmax(middle[0])) - _nearest_row(freq_hz)) <= 1
  assert abs(int(np.argmax(middle[1])) - _nearest_row(freq_hz)) <= 1


@pytest.mark.parametrize('period', [80, 100])  # 200 Hz, 160 Hz
def test_pulse_train_gc_peaks_at_f0(period):
  audio = (np.arange(SR) % period == 0).astype(np.float32)
  feats = cfp.compute_cfp(audio)
  gc = feats[2, :, 10:-10].mean(axis=1)
  assert np.argmax(gc) == _nearest_row(SR / period)  # cepstral peak at q = T0


def test_sawtooth_cfp_product_peaks_at_f0():
  # GC alone also peaks at sub-harmonics and GCoS at harmonics; their
  # product, the CFP's point, keeps only f0.
  f0 = 250.0
  audio = 0.5 * scipy.signal.sawtooth(2 * np.pi * f0 * _seconds(1.0))
  feats = cfp.compute_cfp(audio)[:, :, 10:-10].mean(axis=2)
  assert np.argmax(feats[1] * feats[2]) == _nearest_row(f0)


@pytest.mark.parametrize('n_samples', [257, 1000, 16001])
def test_shapes_and_frame_counts(n_samples):
  audio = np.random.default_rng(n_samples).standard_normal(n_samples)
  feats = cfp.compute_cfp(audio.astype(np.float32))
  n_frames = -(-n_samples // FEATURES.hop) - 1
  assert feats.shape == (3, FEATURES.n_bins, n_frames)
  assert np.isfinite(feats).all()
  assert feats.min() == 0.0 and feats.max() == 1.0
  times = cfp.frame_times(n_frames)
  assert times.dtype == np.float64
  np.testing.assert_allclose(times, (np.arange(n_frames) + 1) * 256 / 16000)


def test_chunked_equals_unchunked():
  rng = np.random.default_rng(0)
  t = _seconds(1.0)
  audio = 0.1 * rng.standard_normal(len(t)) + np.sin(2 * np.pi * 300 * t)
  whole = cfp.compute_cfp(audio)  # 62 frames: one chunk padded to 64
  chunked = cfp.compute_cfp(audio, chunk_frames=16)  # 4 chunks, last padded
  assert chunked.shape == whole.shape == (3, 256, FEATURES.n_frames(len(t)))
  np.testing.assert_allclose(chunked, whole, atol=1e-5)


def test_silence_gives_zeros():
  feats = cfp.compute_cfp(np.zeros(SR // 2, np.float32))
  assert feats.shape == (3, 256, FEATURES.n_frames(SR // 2))
  assert not np.isnan(feats).any()
  assert not feats.any()


def test_resamples_other_rates():
  # The same 220 Hz tone given at 22.05 kHz and at 16 kHz: the same frame
  # grid and, away from the clip edges, the same features; the spectrum
  # peaks at the 220 Hz row.
  def tone(sr):
    return np.sin(2 * np.pi * 220 * np.arange(sr) / sr).astype(np.float32)

  feats = cfp.compute_cfp(tone(22050), 22050)
  native = cfp.compute_cfp(tone(SR), SR)
  assert feats.shape == native.shape == (3, FEATURES.n_bins,
                                         FEATURES.n_frames(SR))
  inner = slice(5, -5)
  assert np.abs(feats[..., inner] - native[..., inner]).mean() < 0.01
  peak = int(np.argmax(feats[0, :, inner].mean(axis=1)))
  assert abs(peak - _nearest_row(220.0)) <= 1


def test_bad_input_raises():
  with pytest.raises(errors.AudioError, match='NaN'):
    cfp.compute_cfp(np.full(1000, np.nan, np.float32))
  with pytest.raises(errors.AudioError, match='shape'):
    cfp.compute_cfp(np.zeros((1000, 2), np.float32))


@pytest.mark.parametrize('size', [0, 1, 2, 3, 8, 9, 255, 2048, 2049])
def test_blackman_harris_is_scipys(size):
  # cfp computes the window itself to keep scipy.signal off the command's
  # start-up; the features must not move by a bit.
  np.testing.assert_array_equal(
      cfp.blackman_harris(size),
      scipy.signal.windows.blackmanharris(size, sym=True))


def test_frame_window_taps():
  h = scipy.signal.windows.blackmanharris(FEATURES.window_size, sym=True)
  half = (FEATURES.window_size - 1) // 2
  np.testing.assert_array_equal(cfp.frame_window(),
                                h[np.arange(-half, half) + half - 1])
