"""Tests of jaxmelody.inference.stream_decode: online decoding against decoding.decode."""

import librosa
import numpy as np
import pytest

from jaxmelody import errors
from jaxmelody.inference import decoding
from jaxmelody.inference import stream_decode


def _logits(seed, n_frames=240):
  """Logits [T, 257] with melody-like structure: runs of on/off, a wandering
  pitch peak, and noise that makes some decisions depend on later frames."""
  rng = np.random.default_rng(seed)
  logits = rng.standard_normal((n_frames, 257)) * 1.5
  logits[:, 0] += np.repeat(rng.standard_normal(n_frames // 20) * 4, 20)
  centre = np.repeat(rng.integers(40, 200, n_frames // 30), 30)
  bins = np.arange(256)[None]
  logits[:, 1:] += 5 * np.exp(-0.5 * ((bins - centre[:, None]) / 3) ** 2)
  return logits


def _stream(logits, chunk, **kwargs):
  decoder = stream_decode.StreamDecoder(**kwargs)
  f0, voicing = [], []
  for start in range(0, len(logits), chunk):
    a, b = decoder.push(logits[start:start + chunk])
    f0.append(a)
    voicing.append(b)
  a, b = decoder.flush()
  return np.concatenate(f0 + [a]), np.concatenate(voicing + [b])


@pytest.mark.parametrize('decoder', ['argmax', 'viterbi'])
@pytest.mark.parametrize('threshold', [None, 0.6])
@pytest.mark.parametrize('chunk', [1, 7, 1000])
def test_long_lag_equals_offline(decoder, threshold, chunk):
  logits = _logits(0)
  want_f0, want_voicing = decoding.decode(logits, decoder=decoder,
                                          voicing_threshold=threshold)
  got_f0, got_voicing = _stream(logits, chunk, decoder=decoder,
                                voicing_threshold=threshold,
                                lag=len(logits))
  np.testing.assert_array_equal(got_f0, want_f0)
  np.testing.assert_array_equal(got_voicing, want_voicing)


@pytest.mark.parametrize('lag', [0, 3, 16])
def test_fixed_lag_decides_each_frame_from_its_prefix(lag):
  """Frame t is the offline Viterbi path of frames 0..t + lag, at t."""
  rng = np.random.default_rng(lag)
  n_states, n_frames = 12, 60
  prob = rng.uniform(0.01, 1.0, (n_states, n_frames))
  prob /= prob.sum(axis=0)
  transition = librosa.sequence.transition_local(n_states, 5,
                                                 window='triangle')
  online = stream_decode.FixedLagViterbi(transition, lag)
  eps = np.finfo(np.float64).tiny
  got = np.concatenate([online.push(np.log(prob[:, :25].T + eps)),
                        online.push(np.log(prob[:, 25:].T + eps))])
  assert len(got) == n_frames - lag
  for t, state in enumerate(got):
    prefix = librosa.sequence.viterbi(prob[:, :t + lag + 1], transition)
    assert state == prefix[t], t
  rest = online.flush()
  np.testing.assert_array_equal(
      rest, librosa.sequence.viterbi(prob, transition)[n_frames - lag:])
  assert len(online.flush()) == 0


def test_bad_lag_and_decoder_are_refused():
  for lag in (-1, 2.5, True, '4'):
    with pytest.raises(errors.ConfigError, match='lag'):
      stream_decode.StreamDecoder('viterbi', lag=lag)
  with pytest.raises(errors.ConfigError, match='decoder'):
    stream_decode.StreamDecoder('beam')
