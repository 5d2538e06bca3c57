"""Tests for the class table, label readers, resampling and decoding."""

import numpy as np
import pytest

from jaxmelody import errors
from jaxmelody.frontend.feature_config import FEATURES
from jaxmelody.frontend import pitch


def test_class_table():
  assert pitch.CLASS_HZ.shape == (FEATURES.n_classes,)
  assert pitch.CLASS_HZ[0] == 0.0
  np.testing.assert_allclose(pitch.CLASS_HZ[1], 31 * 2 ** (1 / 48))
  np.testing.assert_allclose(pitch.CLASS_HZ[48], 62.0)
  np.testing.assert_allclose(pitch.CLASS_HZ[256], 31 * 2 ** (256 / 48))


def test_hz_to_class_nearest_in_hz():
  # 62 Hz is exactly class 48; 0 and negatives are class 0.
  assert pitch.hz_to_class(62.0) == 48
  np.testing.assert_array_equal(pitch.hz_to_class([0.0, -5.0]), [0, 0])
  # Midpoint rule in Hz (not cents): just below / above the Hz midpoint.
  lo, hi = pitch.CLASS_HZ[100], pitch.CLASS_HZ[101]
  mid = (lo + hi) / 2
  np.testing.assert_array_equal(pitch.hz_to_class([mid - 1e-6, mid + 1e-6]),
                                [100, 101])
  # Far above the table: the top class; tiny positive f0: class 1 (nearest
  # voiced entry is not 0 Hz only when f0 > CLASS_HZ[1] / 2).
  assert pitch.hz_to_class(5000.0) == 256
  assert pitch.hz_to_class(20.0) == 1
  assert pitch.hz_to_class(10.0) == 0


def test_class_roundtrip():
  classes = np.arange(FEATURES.n_classes)
  np.testing.assert_array_equal(pitch.hz_to_class(pitch.class_to_hz(classes)),
                                classes)


def test_semitones_to_hz():
  np.testing.assert_allclose(pitch.semitones_to_hz([69.0, 57.0, 0.0, 81.0]),
                             [440.0, 220.0, 0.0, 880.0])


def test_read_pv(tmp_path):
  path = tmp_path / 'a.pv'
  path.write_text('0\n69\n57.5\n0\n')
  times, f0 = pitch.read_pv(path, offset_s=0.01)
  np.testing.assert_allclose(times, [0.01, 0.03, 0.05, 0.07])
  np.testing.assert_allclose(f0, [0, 440, 440 * 2 ** (-11.5 / 12), 0])
  times, _ = pitch.read_pv(path, hop_s=0.032, offset_s=0.0)
  np.testing.assert_allclose(times, [0, 0.032, 0.064, 0.096])


def test_read_ref_crlf(tmp_path):
  path = tmp_path / 'xREF.txt'
  path.write_bytes(b'0.000 0\r\n0.006 220.5\r\n0.012 221\r\n')
  times, f0 = pitch.read_ref(path)
  np.testing.assert_allclose(times, [0, 0.006, 0.012])
  np.testing.assert_allclose(f0, [0, 220.5, 221])


@pytest.mark.parametrize('content', [b'', b'abc def\n', b'1 2\n3\n'])
def test_bad_label_files(tmp_path, content):
  path = tmp_path / 'bad.txt'
  path.write_bytes(content)
  with pytest.raises(errors.LabelError, match='bad.txt'):
    pitch.read_ref(path)


def test_missing_label_file(tmp_path):
  with pytest.raises(errors.LabelError, match='does not exist'):
    pitch.read_pv(tmp_path / 'nope.pv')


def test_resample_reference_linear_and_unvoiced():
  # 20 ms grid starting at 0.02 s; 16 ms frames start at 0.016 s, before the
  # first label: they must come out unvoiced, not raise.
  times = 0.02 + 0.02 * np.arange(6)
  f0 = np.array([0, 100, 110, 120, 0, 0], dtype=float)
  frame_times = FEATURES.frame_times(8)  # 0.016 ... 0.128
  out = pitch.resample_reference(times, f0, frame_times)
  assert out.shape == (8,)
  assert out[0] == 0.0  # before the first annotation
  # t = 0.048 lies between 0.04 (100 Hz) and 0.06 (110 Hz): linear.
  np.testing.assert_allclose(out[2], 104.0, atol=1e-3)
  # t = 0.032 lies between an unvoiced and a voiced label: unvoiced.
  assert out[1] == 0.0
  assert np.all(out[frame_times > 0.1] == 0.0)


def test_decode():
  logits = np.full((3, FEATURES.n_classes), -10.0)
  logits[0, 0] = 10.0     # no melody
  logits[1, 48] = 10.0    # 62 Hz
  logits[2, 0] = 0.0      # tie-ish: row 0 vs the rest at -10
  f0, voicing = pitch.argmax_hz(logits)
  np.testing.assert_allclose(f0, [0.0, 62.0, 0.0])
  assert voicing[0] < 1e-6 and voicing[1] > 1 - 1e-6
  # Row 2: p(no melody) = 1 / (1 + 256 e^-10); voicing is the rest.
  others = (FEATURES.n_classes - 1) * np.exp(-10.0)
  np.testing.assert_allclose(voicing[2], others / (1.0 + others), rtol=1e-9)
  assert np.all((voicing >= 0) & (voicing <= 1))
