"""Tests for audio loading and the project's input errors."""

import librosa
import numpy as np
import pytest
import soundfile as sf

from jaxmelody import errors
from jaxmelody.frontend import audio
from jaxmelody.frontend.feature_config import FEATURES


def _tone(sr, seconds=0.5, freq=440.0):
  t = np.arange(int(sr * seconds)) / sr
  return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize('sr', [8000, 16000, 44100, 48000])
def test_load_resamples_to_16k(tmp_path, sr):
  path = tmp_path / f'tone{sr}.wav'
  sf.write(path, _tone(sr), sr)
  x = audio.load_audio(path)
  assert x.dtype == np.float32 and x.ndim == 1
  assert abs(len(x) - FEATURES.sample_rate // 2) <= 1
  # The tone survives resampling: its spectrum peaks at 440 Hz.
  spec = np.abs(np.fft.rfft(x))
  peak_hz = np.argmax(spec) * FEATURES.sample_rate / len(x)
  assert abs(peak_hz - 440.0) < 4.0


def test_stereo_is_channel_mean(tmp_path):
  left, right = _tone(16000), _tone(16000, freq=220.0)
  path = tmp_path / 'stereo.flac'
  sf.write(path, np.stack([left, right], axis=1), 16000, subtype='PCM_24')
  x = audio.load_audio(path)
  np.testing.assert_allclose(x, (left + right) / 2, atol=1e-6)


def test_ogg_reads(tmp_path):
  path = tmp_path / 'tone.ogg'
  sf.write(path, _tone(16000), 16000, format='OGG', subtype='VORBIS')
  assert len(audio.load_audio(path)) > 7000


def test_missing_file(tmp_path):
  with pytest.raises(errors.AudioError, match='does not exist'):
    audio.load_audio(tmp_path / 'nope.wav')


def test_folder_is_not_a_file(tmp_path):
  with pytest.raises(errors.AudioError, match='folder'):
    audio.load_audio(tmp_path)


def test_zero_byte_file(tmp_path):
  path = tmp_path / 'empty.wav'
  path.write_bytes(b'')
  with pytest.raises(errors.AudioError, match='empty'):
    audio.load_audio(path)


def test_corrupt_file(tmp_path):
  path = tmp_path / 'junk.wav'
  path.write_bytes(b'RIFF' + bytes(range(256)) * 8)
  with pytest.raises(errors.AudioError, match='cannot decode'):
    audio.load_audio(path)


def test_undecodable_files_say_why_in_words(tmp_path):
  text = tmp_path / 'notes.wav'
  text.write_text('not audio at all\n' * 50)
  with pytest.raises(errors.AudioError) as caught:
    audio.load_audio(text)
  assert str(caught.value) == f'{text}: cannot decode audio: it is a text ' \
      'file, not audio'
  junk = tmp_path / 'junk.wav'
  junk.write_bytes(b'RIFF' + bytes(range(256)) * 8)
  with pytest.raises(errors.AudioError) as caught:
    audio.load_audio(junk)
  assert 'no decoder recognises its contents' in str(caught.value)
  assert '()' not in str(caught.value) and ': )' not in str(caught.value)


def test_load_mono_keeps_the_files_rate(tmp_path):
  path = tmp_path / 'stereo.wav'
  left = np.sin(np.arange(4410) / 10).astype(np.float32)
  sf.write(path, np.stack([left, 0.5 * left], axis=1), 44100)
  samples, sr = audio.load_mono(path)
  assert sr == 44100
  np.testing.assert_allclose(samples, 0.75 * left, atol=1e-4)


def test_zero_samples(tmp_path):
  path = tmp_path / 'nosamples.wav'
  sf.write(path, np.zeros(0, np.float32), 16000)
  with pytest.raises(errors.AudioError, match='no samples'):
    audio.load_audio(path)


def test_too_short(tmp_path):
  path = tmp_path / 'short.wav'
  sf.write(path, np.zeros(100, np.float32), 16000)
  with pytest.raises(errors.AudioError, match='too short'):
    audio.load_audio(path)


def test_nan_samples(tmp_path):
  x = _tone(16000)
  x[100] = np.nan
  path = tmp_path / 'nan.wav'
  sf.write(path, x, 16000, subtype='FLOAT')
  with pytest.raises(errors.AudioError, match='NaN'):
    audio.load_audio(path)


def test_prepare_audio_checks():
  with pytest.raises(errors.AudioError, match='sample rate'):
    audio.prepare_audio(np.zeros(1000), 0)
  with pytest.raises(errors.AudioError, match='shape'):
    audio.prepare_audio(np.zeros((2, 2, 2)), 16000)
  out = audio.prepare_audio(np.zeros((1000, 2)), 16000)
  assert out.shape == (1000,) and out.dtype == np.float32


@pytest.mark.parametrize('sr', [8000, 22050, 44100, 48000, 11025])
@pytest.mark.parametrize('n', [1, 1000, 44101])
def test_resample_equals_librosa_polyphase_bit_for_bit(sr, n):
  samples = np.random.default_rng(n).standard_normal(n).astype(np.float32)
  want = librosa.resample(samples, orig_sr=sr, target_sr=16000,
                          res_type='polyphase')
  got = audio.resample(samples, sr, 16000)
  assert got.dtype == np.float32
  np.testing.assert_array_equal(got, want)
