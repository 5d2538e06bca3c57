"""Decoders: argmax (the paper's), a voicing threshold, Viterbi."""

import numpy as np
import pytest

from jaxmelody import errors
from jaxmelody.frontend import pitch
from jaxmelody.inference import decoding


def _logits(classes, confidence=6.0, n=257):
  """Logits whose argmax is `classes` (one per frame)."""
  z = np.zeros((len(classes), n))
  z[np.arange(len(classes)), classes] = confidence
  return z


def test_argmax_is_the_most_likely_class():
  classes = np.array([0, 40, 41, 0, 100])
  f0, voicing = decoding.decode(_logits(classes), decoder='argmax')
  np.testing.assert_array_equal(f0, pitch.class_to_hz(classes))
  assert np.all(voicing[classes > 0] > 0.5) and np.all(voicing[classes == 0]
                                                       < 0.5)


def test_threshold_trades_voicing():
  # Frame 0: no-melody most likely but only 40%; frame 1: pitch 60 likely.
  z = np.full((2, 257), -20.0)
  z[0, 0], z[0, 50], z[0, 51] = np.log(0.4), np.log(0.35), np.log(0.25)
  z[1, 0], z[1, 60] = np.log(0.1), np.log(0.9)
  f0, voicing = decoding.decode(z, decoder='argmax')
  assert f0[0] == 0 and f0[1] == pitch.CLASS_HZ[60]
  np.testing.assert_allclose(voicing, [0.6, 0.9], atol=1e-6)
  low, _ = decoding.decode(z, decoder='argmax', voicing_threshold=0.5)
  assert low[0] == pitch.CLASS_HZ[50]  # voiced now, at the best pitch
  high, _ = decoding.decode(z, decoder='argmax',
                            voicing_threshold=0.95)
  assert np.all(high == 0)


def test_viterbi_removes_a_one_frame_octave_jump():
  classes = np.array([0] * 3 + [60] * 10 + [108] + [60] * 10 + [0] * 3)
  z = _logits(classes, confidence=3.0)
  z[13, 60] = 2.5   # the jump frame still gives the true pitch some weight
  f0_arg, _ = decoding.decode(z, decoder='argmax')
  f0_vit, _ = decoding.decode(z, decoder='viterbi')
  assert f0_arg[13] == pitch.CLASS_HZ[108]
  assert f0_vit[13] == pitch.CLASS_HZ[60]
  np.testing.assert_array_equal(f0_vit[classes != 108],
                                f0_arg[classes != 108])


def test_viterbi_rows_are_probabilities_and_favour_small_moves():
  t = decoding.pitch_transition()
  assert t.shape == (256, 256)
  np.testing.assert_allclose(t.sum(axis=1), 1.0)
  assert t[60, 60] > t[60, 61] > t[60, 62] > 0
  assert t[60, 60 + decoding.VITERBI_MAX_MOVE + 1] == 0


def test_viterbi_keeps_voicing_argmax_keeps_and_removes_flicker():
  """A long melody with a slightly uncertain pitch is all voiced (a single
  HMM over 257 classes drops such frames); a one-frame dropout is filled."""
  classes = np.array([0] * 20 + [80] * 60 + [0] * 20)
  z = np.full((100, 257), -10.0)
  z[:, 0] = np.where(classes == 0, 2.0, 0.0)       # p(no melody) ~ 0.2
  for k in (79, 80, 81):  # the melody's weight spread over 3 classes
    z[classes > 0, k] = 0.5 + (k == 80)
  z[50, 0] = 3.0  # one frame where no melody wins
  f0_arg, _ = decoding.decode(z, decoder='argmax')
  f0_vit, _ = decoding.decode(z, decoder='viterbi')
  assert f0_arg[50] == 0 and np.all(f0_arg[classes > 0][:30] > 0)
  np.testing.assert_array_equal(f0_vit, pitch.class_to_hz(classes))


def test_viterbi_priors_can_be_changed():
  """A larger switch probability lets the one-frame dropout through; a wider
  pitch move follows a two-semitone step that the default smooths over."""
  classes = np.array([0] * 20 + [80] * 60 + [0] * 20)
  z = np.full((100, 257), -10.0)
  z[:, 0] = np.where(classes == 0, 2.0, 0.0)
  z[classes > 0, 80] = 1.5
  z[50, 0] = 3.0
  assert decoding.decode(z, decoder='viterbi')[0][50] > 0
  assert decoding.decode(z, decoder='viterbi', switch=0.45)[0][50] == 0
  step = np.array([60] * 10 + [68] + [60] * 10)  # one frame 2 semitones up
  z = np.full((len(step), 257), -10.0)
  z[np.arange(len(step)), step] = 3.0
  z[10, 60] = -2.0  # the step frame gives the held pitch a little weight
  assert decoding.decode(z, decoder='viterbi')[0][10] == pitch.CLASS_HZ[60]
  wide = decoding.decode(z, decoder='viterbi', max_move=8)[0]
  assert wide[10] == pitch.CLASS_HZ[68]


@pytest.mark.parametrize('decoder,threshold', [('beam', None),
                                               ('argmax', 1.0),
                                               ('viterbi', 0.0)])
def test_bad_settings_are_errors(decoder, threshold):
  with pytest.raises(errors.ConfigError):
    decoding.decode(_logits([0, 1]), decoder=decoder,
                    voicing_threshold=threshold)


def test_empty_clip():
  f0, voicing = decoding.decode(np.zeros((0, 257)), decoder='viterbi')
  assert f0.shape == voicing.shape == (0,)


def test_viterbi_on_frames_certain_of_no_melody():
  """p(no melody) = 1 to float64 rounding: valid probabilities for librosa."""
  z = np.full((50, 257), -800.0)
  z[:, 0] = 0.0
  z[20:30, 60] = 5.0
  f0, _ = decoding.decode(z, decoder='viterbi')
  assert np.all(f0[:20] == 0) and np.all(f0[20:30] == pitch.CLASS_HZ[60])


@pytest.mark.parametrize('n_pitch, max_move', [(256, 4), (256, 1),
                                               (256, 8), (9, 4), (40, 2)])
def test_pitch_transition_is_librosas(n_pitch, max_move):
  import librosa  # pylint: disable=g-import-not-at-top
  np.testing.assert_array_equal(
      decoding.pitch_transition(n_pitch, max_move),
      librosa.sequence.transition_local(n_pitch, 2 * max_move + 1,
                                        window='triangle'))


@pytest.mark.parametrize('threshold', [None, 0.3, 0.8])
def test_confidence_is_what_argmax_and_viterbi_decide_on(threshold, loop):
  """Argmax: a melody exactly where the confidence is > 0.5 (or >= P);
  Viterbi: the on/off chain over the confidence gives its melody frames."""
  import librosa  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(7)
  # Runs of frames with one level of no-melody evidence each, so the chain
  # keeps some on/off decisions and overrides others.
  z = rng.normal(0.0, 2.0, (400, 257))
  z[:, 0] += np.repeat(rng.normal(3.0, 3.0, 40), 10)
  conf = decoding.confidence(z, threshold)
  f0, voicing = decoding.decode(z, decoder='argmax',
                                voicing_threshold=threshold)
  voiced = conf >= threshold if threshold else conf > 0.5
  np.testing.assert_array_equal(f0 > 0, voiced)
  assert 0 < voiced.mean() < 1
  if threshold:
    np.testing.assert_allclose(conf, voicing)
  f0, _ = decoding.decode(z, decoder='viterbi', voicing_threshold=threshold)
  chain = librosa.sequence.viterbi_binary(
      conf[None], librosa.sequence.transition_loop(
          2, 1 - decoding.VITERBI_SWITCH), p_state=threshold or 0.5)[0]
  np.testing.assert_array_equal(f0 > 0, chain > 0)


def test_confidence_of_no_frames():
  assert decoding.confidence(np.zeros((0, 257))).shape == (0,)


def test_the_config_asks_for_the_packages_default_decoding():
  """default_config states the commands' default; decoding the library's."""
  from jaxmelody import default_config  # pylint: disable=g-import-not-at-top
  eval_config = default_config.get_config().eval
  assert eval_config.decoder == decoding.DEFAULT_DECODER
  assert decoding.from_config(eval_config) == (decoding.DEFAULT_DECODER, None)
  eval_config.voicing_threshold = 0.6
  assert decoding.from_config(eval_config, 'argmax') == ('argmax', 0.6)
  assert decoding.from_config(eval_config, None, 0.3) == (
      decoding.DEFAULT_DECODER, 0.3)
  with pytest.raises(errors.ConfigError):
    decoding.from_config(eval_config, 'beam')
