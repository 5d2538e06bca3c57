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
  f0, voicing = decoding.decode(_logits(classes))
  np.testing.assert_array_equal(f0, pitch.class_to_hz(classes))
  assert np.all(voicing[classes > 0] > 0.5) and np.all(voicing[classes == 0]
                                                       < 0.5)


def test_threshold_trades_voicing():
  # Frame 0: no-melody most likely but only 40%; frame 1: pitch 60 likely.
  z = np.full((2, 257), -20.0)
  z[0, 0], z[0, 50], z[0, 51] = np.log(0.4), np.log(0.35), np.log(0.25)
  z[1, 0], z[1, 60] = np.log(0.1), np.log(0.9)
  f0, voicing = decoding.decode(z)
  assert f0[0] == 0 and f0[1] == pitch.CLASS_HZ[60]
  np.testing.assert_allclose(voicing, [0.6, 0.9], atol=1e-6)
  low, _ = decoding.decode(z, voicing_threshold=0.5)
  assert low[0] == pitch.CLASS_HZ[50]  # voiced now, at the best pitch
  high, _ = decoding.decode(z, voicing_threshold=0.95)
  assert np.all(high == 0)


def test_viterbi_removes_a_one_frame_octave_jump():
  classes = np.array([0] * 3 + [60] * 10 + [108] + [60] * 10 + [0] * 3)
  z = _logits(classes, confidence=3.0)
  z[13, 60] = 2.5   # the jump frame still gives the true pitch some weight
  f0_arg, _ = decoding.decode(z)
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
  f0_arg, _ = decoding.decode(z)
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


@pytest.fixture(params=['numpy', 'numba'])
def loop(request, monkeypatch):
  """Runs a test with each of the two Viterbi loops (numpy for short clips
  in a fresh process, numba for long ones): both must be librosa's."""
  monkeypatch.setattr(decoding, '_use_numba',
                      lambda n_steps: request.param == 'numba')
  return request.param


def test_short_clips_run_without_numba():
  """The point of the numpy loop: a fresh process decoding a short clip
  never imports numba (its start-up costs more than the decoding)."""
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  code = ('import sys, numpy as np\n'
          'from jaxmelody.inference import decoding\n'
          'z = np.random.default_rng(0).normal(size=(300, 257))\n'
          'decoding.decode(z, decoder="viterbi")\n'
          'decoding.decode(z, decoder="viterbi", voicing_threshold=0.6)\n'
          'assert "numba" not in sys.modules\n'
          'assert "librosa" not in sys.modules\n'
          'assert "scipy.signal" not in sys.modules\n')
  subprocess.run([sys.executable, '-c', code], check=True)


def test_numba_loads_once_the_process_has_decoded_enough_frames():
  """A song in a fresh process stays in numpy; numba takes over once the
  frames decoded so far would pass the break-even, and stays."""
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  code = ('import sys, numpy as np\n'
          'from jaxmelody.inference import decoding\n'
          'z = np.random.default_rng(0).normal(size=(11_250, 257))\n'
          'decoding.decode(z, decoder="viterbi")  # 3 minutes\n'
          'assert "numba" not in sys.modules\n'
          'decoding._NUMPY_MAX_FRAMES = 30_000  # the rest: 2 more songs\n'
          'decoding.decode(z, decoder="viterbi")\n'
          'assert "numba" not in sys.modules\n'
          'decoding.prepare(len(z), "viterbi")  # the third would pass it\n'
          'assert "numba" in sys.modules\n'
          'loop = decoding._numba_loop()\n'
          'decoding.decode(z[:300], decoder="viterbi")\n'
          'assert len(loop.signatures) == 1, loop.signatures\n')
  subprocess.run([sys.executable, '-c', code], check=True)


def test_prepare_loads_numba_only_where_decoding_will_use_it():
  """In a fresh process: a short clip or argmax loads nothing; a long
  clip under Viterbi has numba's loop compiled (or loaded) beforehand."""
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  code = ('import sys\n'
          'from jaxmelody.inference import decoding\n'
          'decoding.prepare(300, "viterbi")\n'
          'decoding.prepare(100_000, "argmax")\n'
          'assert "numba" not in sys.modules\n'
          'decoding.prepare(100_000, "viterbi")\n'
          'loop = decoding._numba_loop()\n'
          'assert len(loop.signatures) == 1, loop.signatures\n'
          'import numpy as np\n'
          'z = np.random.default_rng(0).normal(size=(5000, 257))\n'
          'decoding.decode(z, decoder="viterbi")\n'
          'assert len(loop.signatures) == 1, loop.signatures  # the same\n')
  subprocess.run([sys.executable, '-c', code], check=True)


def _librosa_path(prob, max_move=decoding.VITERBI_MAX_MOVE):
  """The reference: librosa's dense Viterbi with the pitch chain's prior."""
  import librosa  # pylint: disable=g-import-not-at-top
  return librosa.sequence.viterbi(
      prob, decoding.pitch_transition(prob.shape[0], max_move)).astype(int)


@pytest.mark.parametrize('seed', range(4))
@pytest.mark.parametrize('max_move', [1, 4, 8])
def test_banded_viterbi_is_librosas_on_random_posteriors(seed, max_move, loop):
  rng = np.random.default_rng(seed)
  # Sharp rows (a power of uniform noise) give the path long, moving runs.
  prob = rng.random((256, 300)) ** 8
  prob /= prob.sum(axis=0)
  np.testing.assert_array_equal(
      decoding.banded_viterbi(prob, decoding.pitch_transition(256, max_move),
                              max_move),
      _librosa_path(prob, max_move))


@pytest.mark.parametrize('levels', [1, 2, 3])
def test_banded_viterbi_breaks_ties_as_librosa(levels, loop):
  """Few distinct likelihoods (one level: every state ties every frame):
  equal scores everywhere, where the first best source must win."""
  rng = np.random.default_rng(levels)
  prob = rng.integers(0, levels, (256, 200)) / max(levels - 1, 1)
  if levels == 1:
    prob = np.full((256, 200), 0.5)
  t = decoding.pitch_transition()
  np.testing.assert_array_equal(decoding.banded_viterbi(prob, t, 4),
                                _librosa_path(prob))


def test_banded_viterbi_jumps_out_of_the_band_as_librosa(loop):
  """With likelihoods exactly 0 librosa scores a jump beyond the band as
  log(tiny), cheaper than walking through impossible states: both jump."""
  prob = np.zeros((256, 40))
  prob[10, :20] = 1.0
  prob[200, 20:] = 1.0
  prob[100, 25] = 0.5  # a second jump, back and forth
  path = decoding.banded_viterbi(prob, decoding.pitch_transition(), 4)
  np.testing.assert_array_equal(path, _librosa_path(prob))
  assert np.abs(np.diff(path)).max() > decoding.VITERBI_MAX_MOVE


@pytest.mark.parametrize('sources', [(0, 1, 2, 250, 251), (250, 253, 255),
                                     (3, 4, 5)])
def test_banded_viterbi_ties_between_jumps_as_librosa(sources, loop):
  """Several equally good states outside the band, below and/or above the
  target: librosa takes the first."""
  prob = np.zeros((256, 2))
  prob[list(sources), 0] = 1.0
  prob[128, 1] = 1.0
  path = decoding.banded_viterbi(prob, decoding.pitch_transition(), 4)
  np.testing.assert_array_equal(path, _librosa_path(prob))
  assert path[0] == sources[0]


@pytest.mark.parametrize('n_pitch, max_move', [(256, 4), (256, 1),
                                               (256, 8), (9, 4), (40, 2)])
def test_pitch_transition_is_librosas(n_pitch, max_move):
  import librosa  # pylint: disable=g-import-not-at-top
  np.testing.assert_array_equal(
      decoding.pitch_transition(n_pitch, max_move),
      librosa.sequence.transition_local(n_pitch, 2 * max_move + 1,
                                        window='triangle'))


def _librosa_voicing(evidence, switch, p_state):
  """The reference of ``binary_viterbi``: librosa's two-state chain."""
  import librosa  # pylint: disable=g-import-not-at-top
  return librosa.sequence.viterbi_binary(
      np.asarray(evidence)[None, :],
      librosa.sequence.transition_loop(2, 1.0 - switch),
      p_state=p_state)[0].astype(np.int64)


def _evidences():
  """Evidence sequences for the on/off chain: noise, runs, and ties."""
  rng = np.random.default_rng(3)
  yield rng.random(500)
  yield np.repeat(rng.random(60), rng.integers(1, 12, 60))  # runs
  yield rng.random(300) ** 6  # mostly off
  yield 1.0 - rng.random(300) ** 6  # mostly on
  yield np.full(50, 0.5)  # every score ties
  yield rng.integers(0, 3, 300) / 2.0  # 0, 0.5 and 1: exact ties and zeros
  yield np.array([0.7])  # one frame
  yield np.array([0.6, 0.6, 0.7, 0.7, 0.6])  # at the thresholds


@pytest.mark.parametrize('p_state', [0.5, 0.6, 0.7])
@pytest.mark.parametrize('switch', [decoding.VITERBI_SWITCH, 0.2, 0.5])
def test_binary_viterbi_is_librosas(p_state, switch):
  for evidence in _evidences():
    np.testing.assert_array_equal(
        decoding.binary_viterbi(evidence, 1.0 - switch, p_state),
        _librosa_voicing(evidence, switch, p_state))


@pytest.mark.parametrize('threshold', [None, 0.6, 0.7])
def test_viterbi_voicing_is_librosas_on_random_posteriors(threshold):
  rng = np.random.default_rng(11)
  z = rng.normal(0.0, 2.0, (600, 257))
  z[:, 0] += np.repeat(rng.normal(3.0, 3.0, 60), 10)
  probs = pitch.softmax(z, axis=-1)
  evidence = decoding.voicing_evidence(probs, threshold)
  np.testing.assert_array_equal(
      decoding.viterbi_voicing(probs, threshold),
      _librosa_voicing(evidence, decoding.VITERBI_SWITCH,
                       threshold or 0.5) > 0)


def test_binary_viterbi_rejects_what_librosa_rejects():
  with pytest.raises(ValueError):
    decoding.binary_viterbi(np.array([0.5, np.nan]), 0.98)
  with pytest.raises(ValueError):
    decoding.binary_viterbi(np.array([0.5, 1.5]), 0.98)
  assert decoding.binary_viterbi(np.zeros(0), 0.98).shape == (0,)


@pytest.mark.parametrize('seed', range(3))
@pytest.mark.parametrize('max_move', [1, 4])
def test_banded_viterbi_sparse_likelihoods_as_librosa(seed, max_move, loop):
  """Mostly exact zeros (some frames all zero): many frames where jumps
  out of the band compete with the band and with each other."""
  rng = np.random.default_rng(seed)
  prob = np.where(rng.random((256, 300)) < 0.01,
                  rng.integers(1, 4, (256, 300)) / 3, 0.0)
  prob[:, rng.integers(0, 300, 20)] = 0.0
  np.testing.assert_array_equal(
      decoding.banded_viterbi(prob, decoding.pitch_transition(256, max_move),
                              max_move),
      _librosa_path(prob, max_move))


def test_banded_viterbi_rejects_mass_outside_the_band():
  with pytest.raises(ValueError):
    decoding.banded_viterbi(np.full((256, 5), 0.5),
                            decoding.pitch_transition(256, 8), 4)


def test_viterbi_is_librosas_on_model_posteriors(loop):
  """The bundled model's posteriors of the demo clip: the decoder's inputs to
  the pitch and on/off chains, decoded by librosa and by the banded loop."""
  from jaxmelody.frontend import audio  # pylint: disable=g-import-not-at-top
  from jaxmelody.frontend import cfp  # pylint: disable=g-import-not-at-top
  from jaxmelody.inference import api  # pylint: disable=g-import-not-at-top
  model = api.get_model(api.default_config())
  logits = model.logits(cfp.compute_cfp(audio.load_audio(api.DEMO_AUDIO)))
  probs = pitch.softmax(np.asarray(logits, np.float64), axis=-1)
  reference = 1 + _librosa_path(decoding.pitch_given_voiced(probs).T)
  np.testing.assert_array_equal(decoding.viterbi_pitch(probs), reference)
  # Ties in real posteriors: every frame's two best pitches made equal.
  flat = probs.copy()
  best = 1 + np.argsort(probs[:, 1:], axis=-1)[:, -2:]
  rows = np.arange(len(probs))
  flat[rows, best[:, 0]] = flat[rows, best[:, 1]]
  np.testing.assert_array_equal(
      decoding.viterbi_pitch(flat),
      1 + _librosa_path(decoding.pitch_given_voiced(flat).T))
  # The on/off chain on the same posteriors, with and without thresholds.
  for threshold in (None, 0.6, 0.7):
    evidence = decoding.voicing_evidence(probs, threshold)
    np.testing.assert_array_equal(
        decoding.viterbi_voicing(probs, threshold),
        _librosa_voicing(evidence, decoding.VITERBI_SWITCH,
                         threshold or 0.5) > 0)


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
  f0, voicing = decoding.decode(z, voicing_threshold=threshold)
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
