"""Tests of jaxmelody.inference.stream: the stream against extract_melody on the clip.

A smoke-size model with random weights stands in for the pretrained one:
these tests check that streaming reproduces the offline computation, not
melody accuracy. Random weights give logits without a clear winner, so
frames compare by voicing probability (a smooth function of the logits,
to 1e-7: a window one frame short of the receptive field moves it ~5e-6)
and by pitch, allowing a float32 near-tie of the top two logits.
"""

import importlib

import numpy as np
import pytest

import jaxmelody
from jaxmelody.data import synth
from jaxmelody import errors
from jaxmelody.frontend import cfp_stream
from jaxmelody.frontend.feature_config import FEATURES
from jaxmelody.inference import api
from jaxmelody.inference import stream


@pytest.fixture(scope='module')
def setup(tmp_path_factory, save_random_weights):
  """(smoke config, checkpoint folder)."""
  config = importlib.import_module('configs.smoke').get_config()
  ckpt = tmp_path_factory.mktemp('smoke_weights')
  save_random_weights(config.model, ckpt)
  return config, str(ckpt)


def _stream(samples, sr, chunk, setup, **kwargs):
  config, ckpt = setup
  s = jaxmelody.MelodyStream(sr, config=config, checkpoint=ckpt, **kwargs)
  parts = [s.push(samples[i:i + chunk]) for i in range(0, len(samples), chunk)]
  parts.append(s.flush())
  return s, api.Melody(*[np.concatenate([getattr(p, f) for p in parts])
                         for f in ('times', 'f0_hz', 'voicing')])


def _clip_max(samples, sr, setup):
  """The offline clip's CFP channel maxima (one push of everything)."""
  return _stream(samples, sr, len(samples), setup, decoder='argmax')[0] \
      .feature_max


@pytest.mark.parametrize('sr', [16000, 44100, 48000])
def test_stream_equals_extract_melody(setup, sr):
  config, ckpt = setup
  samples = synth.synthesize(7, 3.1, sr=sr).audio.astype(np.float32)
  want = api.extract_melody(samples, sr, config=config, checkpoint=ckpt,
                            decoder='argmax')
  feature_max = _clip_max(samples, sr, setup)
  # 10 ms to 2 s, odd sizes, and steps that make windows of every kind.
  for chunk_s, step in ((0.01, 1), (0.0173, 32), (0.5, 5), (2.0, 32)):
    chunk = max(1, int(round(chunk_s * sr))) | 1
    got = _stream(samples, sr, chunk, setup, decoder='argmax', step=step,
                  feature_max=feature_max)[1]
    assert len(got.f0_hz) == len(want.f0_hz) == FEATURES.n_frames(
        int(np.ceil(len(samples) * 16000 / sr)))
    np.testing.assert_allclose(got.times, want.times)
    np.testing.assert_allclose(got.voicing, want.voicing, rtol=0, atol=1e-7)
    differ = got.f0_hz != want.f0_hz
    # A pitch may only differ where the voicing is an exact-rounding tie.
    assert differ.sum() <= 2, (chunk, step, np.flatnonzero(differ))


def test_running_max_equals_offline_when_the_loudest_part_comes_first(setup):
  sr = 16000
  samples = synth.synthesize(3, 2.5, sr=sr).audio.astype(np.float32)
  samples[8000:] *= 0.05  # loud first half second, then quiet
  config, ckpt = setup
  want = api.extract_melody(samples, sr, config=config, checkpoint=ckpt,
                            decoder='argmax')
  s, got = _stream(samples, sr, 9001, setup, decoder='argmax')
  np.testing.assert_allclose(s.feature_max, _clip_max(samples, sr, setup))
  np.testing.assert_allclose(got.voicing, want.voicing, rtol=0, atol=1e-7)


def test_frames_come_out_once_their_context_has_arrived(setup):
  sr = 16000
  samples = synth.synthesize(5, 4.0, sr=sr).audio.astype(np.float32)
  config, ckpt = setup
  s = jaxmelody.MelodyStream(sr, config=config, checkpoint=ckpt,
                             decoder='argmax', step=4)
  s.warm_up()
  model, traces = api.get_model(config, ckpt), None
  traces = model.traces
  n_out, hop, half = 0, FEATURES.hop, 1024
  for i in range(0, len(samples), 160):
    n_out += len(s.push(samples[i:i + 160]).f0_hz)
    n = min(i + 160, len(samples))
    final_cfp = max(0, (n - half) // hop)
    # Nothing before its right-hand context; at most a step behind it.
    assert n_out <= max(0, final_cfp - s.radius)
    if final_cfp >= s.window:
      assert n_out >= final_cfp - s.radius - s.step
  assert model.traces == traces  # the window was compiled once, by warm_up
  rest = s.flush()
  assert n_out + len(rest.f0_hz) == FEATURES.n_frames(len(samples))
  assert len(s.flush().f0_hz) == 0
  with pytest.raises(errors.AudioError, match='after flush'):
    s.push(samples[:100])
  delays = s.delays_s()
  assert delays['receptive'] == pytest.approx(s.radius * 0.016)
  assert delays['cfp'] == pytest.approx(0.064) and delays['lag'] == 0


def test_short_and_silent_streams_end_cleanly(setup):
  config, ckpt = setup
  s = jaxmelody.MelodyStream(16000, config=config, checkpoint=ckpt)
  assert len(s.push(np.zeros(100, np.float32)).f0_hz) == 0
  assert len(s.flush().f0_hz) == 0  # shorter than one frame: no frames
  _, silent = _stream(np.zeros(16000, np.float32), 16000, 1600, setup)
  assert len(silent.f0_hz) == FEATURES.n_frames(16000)
  assert not silent.f0_hz.any()


def test_bad_options_and_input_are_refused(setup):
  config, ckpt = setup
  batch = config.copy_and_resolve_references()
  batch.model.bn_inference = 'batch'
  with pytest.raises(errors.ConfigError, match='per-piece BatchNorm'):
    stream.MelodyStream(16000, config=batch, checkpoint=ckpt)
  for sr in (0, -44100, 16000.5):
    with pytest.raises(errors.AudioError, match='sample rate'):
      stream.MelodyStream(sr, config=config, checkpoint=ckpt)
  with pytest.raises(errors.ConfigError, match='step'):
    stream.MelodyStream(16000, config=config, checkpoint=ckpt, step=0)
  with pytest.raises(errors.ConfigError, match='lag'):
    stream.MelodyStream(16000, config=config, checkpoint=ckpt, lag=-1)
  s = stream.MelodyStream(16000, config=config, checkpoint=ckpt)
  with pytest.raises(errors.AudioError, match='NaN'):
    s.push(np.full(100, np.nan))
  with pytest.raises(errors.AudioError, match='shape'):
    s.push(np.zeros((2, 2, 2)))


@pytest.mark.parametrize('sr', [8000, 22050, 44100, 48000])
def test_chunked_resampling_equals_the_whole_clip(sr):
  import librosa  # pylint: disable=g-import-not-at-top
  x = np.random.default_rng(sr).standard_normal(int(sr * 0.77)).astype(
      np.float32)
  want = librosa.resample(x, orig_sr=sr, target_sr=16000,
                          res_type='polyphase')
  for chunk in (1, 13, 441, 100000):
    r = cfp_stream.StreamResampler(sr)
    got = np.concatenate([r.push(x[i:i + chunk])
                          for i in range(0, len(x), chunk)]
                         + [r.push(np.zeros(0, np.float32), final=True)])
    np.testing.assert_allclose(got, want, atol=1e-7)
