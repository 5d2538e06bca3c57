"""Tests of viterbi.py and viterbi_loops.py: librosa's paths, ties
included, in each loop; numba loaded only where it pays."""

import subprocess
import sys

import numpy as np
import pytest

from jaxmelody.frontend import pitch
from jaxmelody.inference import decoding
from jaxmelody.inference import viterbi


def test_short_clips_run_without_numba():
  """The point of the numpy loop: a fresh process decoding a short clip
  never imports numba (its start-up costs more than the decoding)."""
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
  code = ('import sys, numpy as np\n'
          'from jaxmelody.inference import decoding, viterbi_loops\n'
          'z = np.random.default_rng(0).normal(size=(11_250, 257))\n'
          'decoding.decode(z, decoder="viterbi")  # 3 minutes\n'
          'assert "numba" not in sys.modules\n'
          'viterbi_loops._NUMPY_MAX_FRAMES = 30_000  # the rest: 2 more songs\n'
          'decoding.decode(z, decoder="viterbi")\n'
          'assert "numba" not in sys.modules\n'
          'decoding.prepare(len(z), "viterbi")  # the third would pass it\n'
          'assert "numba" in sys.modules\n'
          'loop = viterbi_loops.load_numba()\n'
          'decoding.decode(z[:300], decoder="viterbi")\n'
          'assert len(loop.signatures) == 1, loop.signatures\n')
  subprocess.run([sys.executable, '-c', code], check=True)


def test_prepare_loads_numba_only_where_decoding_will_use_it():
  """In a fresh process: a short clip or argmax loads nothing; a long
  clip under Viterbi has numba's loop compiled (or loaded) beforehand."""
  code = ('import sys\n'
          'from jaxmelody.inference import decoding, viterbi_loops\n'
          'decoding.prepare(300, "viterbi")\n'
          'decoding.prepare(100_000, "argmax")\n'
          'assert "numba" not in sys.modules\n'
          'decoding.prepare(100_000, "viterbi")\n'
          'loop = viterbi_loops.load_numba()\n'
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
      viterbi.banded_viterbi(prob, decoding.pitch_transition(256, max_move),
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
  np.testing.assert_array_equal(viterbi.banded_viterbi(prob, t, 4),
                                _librosa_path(prob))


def test_banded_viterbi_jumps_out_of_the_band_as_librosa(loop):
  """With likelihoods exactly 0 librosa scores a jump beyond the band as
  log(tiny), cheaper than walking through impossible states: both jump."""
  prob = np.zeros((256, 40))
  prob[10, :20] = 1.0
  prob[200, 20:] = 1.0
  prob[100, 25] = 0.5  # a second jump, back and forth
  path = viterbi.banded_viterbi(prob, decoding.pitch_transition(), 4)
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
  path = viterbi.banded_viterbi(prob, decoding.pitch_transition(), 4)
  np.testing.assert_array_equal(path, _librosa_path(prob))
  assert path[0] == sources[0]


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
        viterbi.binary_viterbi(evidence, 1.0 - switch, p_state),
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
    viterbi.binary_viterbi(np.array([0.5, np.nan]), 0.98)
  with pytest.raises(ValueError):
    viterbi.binary_viterbi(np.array([0.5, 1.5]), 0.98)
  assert viterbi.binary_viterbi(np.zeros(0), 0.98).shape == (0,)


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
      viterbi.banded_viterbi(prob, decoding.pitch_transition(256, max_move),
                              max_move),
      _librosa_path(prob, max_move))


def test_banded_viterbi_rejects_mass_outside_the_band():
  with pytest.raises(ValueError):
    viterbi.banded_viterbi(np.full((256, 5), 0.5),
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
