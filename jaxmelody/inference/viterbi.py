"""Two Viterbi decoders with librosa's paths, at a fraction of its cost.

``librosa.sequence`` is the reference (every test compares against it),
but a melody needs only two special cases of it:

- ``banded_viterbi``: ``librosa.sequence.viterbi`` when the transition
  matrix is banded (a pitch moves a few classes per frame): O(T n M) work
  instead of the dense O(T n^2); the loop runs in numpy or numba
  (``viterbi_loops``);
- ``binary_viterbi``: ``librosa.sequence.viterbi_binary`` of one state
  (melody on/off), a scalar loop.

Both use librosa's arithmetic: the same ``log(x + tiny)`` terms, float64
sums and the first of equal maxima, so the paths are librosa's, ties
included.
"""

import numpy as np

from jaxmelody.inference import viterbi_loops

# librosa's epsilon in every log(x + epsilon): ``librosa.util.tiny`` of the
# float64 arrays it is added to.
_TINY = np.finfo(np.float64).tiny


def banded_viterbi(prob, transition, max_move: int) -> np.ndarray:
  """``librosa.sequence.viterbi`` for a transition matrix that is banded.

  The pitch chain moves at most ``max_move`` states per frame, so each
  state has 2 max_move + 1 predecessors worth a product: O(T n M) work, not
  librosa's dense O(T n^2). The arithmetic is librosa's: the same logs
  (``log(x + tiny)``, a uniform initial distribution), the same float64
  sums, the first of equal maxima (``np.argmax``), and the zero
  transitions outside the band still count as log(tiny), the way librosa
  scores them (their best is the best of the states outside the band, so a
  running maximum from each side finds it). The path is therefore
  librosa's, ties included (tested against it).

  Args:
    prob: float [n_states, T] observation likelihoods in [0, 1].
    transition: float [n_states, n_states] row-stochastic, zero where
      ``|i - j| > max_move``.
    max_move: the band's half-width.

  Returns:
    int [T] the most likely state sequence.

  Raises:
    ValueError: ``transition`` has mass outside the band, or shapes differ.
  """
  prob = np.asarray(prob, np.float64)
  n_states = prob.shape[0]
  offset = np.arange(n_states)[None, :] - np.arange(n_states)[:, None]
  if (transition.shape != (n_states, n_states)
      or np.any(transition[np.abs(offset) > max_move] != 0)):
    raise ValueError(f'transition: shape {transition.shape} for {n_states} '
                     f'states, or mass beyond {max_move} states from the '
                     'diagonal')
  if prob.shape[1] == 0:
    return np.zeros(0, np.int64)
  epsilon = _TINY
  log_p_init = np.log(np.full(n_states, 1.0 / n_states) + epsilon)
  return viterbi_loops.run(np.ascontiguousarray(np.log(prob + epsilon).T),
                       _log_band(transition, max_move), np.log(epsilon),
                       log_p_init, max_move)


def _log_band(transition, max_move: int) -> np.ndarray:
  """``log(transition + tiny)`` on the band, as the Viterbi loops read it.

  Returns:
    float64 [2 max_move + 1, n]: row d + max_move, column j holds
    ``log(transition[j + d, j] + tiny)`` (from state j + d to j); -inf where
    j + d is not a state.
  """
  n_states = transition.shape[0]
  log_trans = np.log(transition + _TINY)
  moves = np.arange(-max_move, max_move + 1)
  src = np.arange(n_states)[None, :] + moves[:, None]
  return np.where((src >= 0) & (src < n_states),
                  log_trans[np.clip(src, 0, n_states - 1),
                            np.arange(n_states)[None, :]], -np.inf)


def binary_viterbi(evidence, stay: float, p_state: float = 0.5
                   ) -> np.ndarray:
  """``librosa.sequence.viterbi_binary`` of one state.

  librosa decodes the two-state chain (off, on) with observation
  likelihoods [1 - evidence, evidence], the transition matrix
  ``transition_loop(2, stay)``, the marginal [1 - p_state, p_state] and the
  initial distribution [0.5, 0.5] (``viterbi_discriminative``): log(x +
  tiny) of each, the log marginal subtracted from the log likelihoods.
  ``_two_state_loop`` runs librosa's recursion on those very logs, the same
  float64 sums and the first of equal maxima: the same path, ties included
  (tested against librosa).

  Args:
    evidence: float [T] in [0, 1], the probability of the on state.
    stay: the probability of keeping the state from one frame to the next.
    p_state: the on state's marginal probability.

  Returns:
    int64 [T] states: 1 = on.

  Raises:
    ValueError: evidence outside [0, 1] or not a number (librosa raises on
      those too).
  """
  evidence = np.asarray(evidence, np.float64)
  if not np.all((evidence >= 0) & (evidence <= 1)):
    raise ValueError('evidence: probabilities in [0, 1] expected')
  if not len(evidence):
    return np.zeros(0, np.int64)
  log_p_init = np.log(np.array([0.5, 0.5]) + _TINY)
  return _two_state_loop(two_state_log_prob(evidence, p_state),
                         np.log(two_state_transition(stay) + _TINY),
                         log_p_init)


def two_state_transition(stay: float) -> np.ndarray:
  """``librosa.sequence.transition_loop(2, stay)``, float64 [2, 2]."""
  stay = np.float64(stay)
  # (1 - stay) / (2 - 1) off the diagonal, as transition_loop computes it.
  return np.array([[stay, 1.0 - stay], [1.0 - stay, stay]])


def two_state_log_prob(evidence, p_state: float) -> np.ndarray:
  """The on/off chain's log likelihoods, float64 [T, 2] (off, on):
  ``log([1 - evidence, evidence] + tiny) - log([1 - p_state, p_state] +
  tiny)``, as ``viterbi_binary`` forms them."""
  evidence = np.asarray(evidence, np.float64)
  p_state = np.float64(p_state)
  log_marginal = np.log(np.array([1.0 - p_state, p_state]) + _TINY)
  return np.log(np.stack([1.0 - evidence, evidence], axis=-1) + _TINY
                ) - log_marginal


def _two_state_loop(log_prob, log_trans, log_p_init) -> np.ndarray:
  """librosa's Viterbi recursion for two states, in plain Python floats.

  Two states need no arrays: Python's float arithmetic is numpy's float64,
  and a scalar loop takes ~1 us per frame where numpy's per-call overhead
  takes ~20 (and numba its start-up).

  Args:
    log_prob: float64 [T, 2] log likelihoods, T >= 1.
    log_trans: float64 [2, 2] log transitions, [from, to].
    log_p_init: float64 [2] log initial distribution.

  Returns:
    int64 [T] states.
  """
  (t00, t01), (t10, t11) = log_trans.tolist()
  rows = log_prob.tolist()
  v0, v1 = (rows[0][0] + float(log_p_init[0]),
            rows[0][1] + float(log_p_init[1]))
  # Per frame, bit s: state s was reached from state 1 (else from 0).
  from_1 = bytearray(len(rows))
  for t in range(1, len(rows)):
    # From 1 only if strictly better: argmax keeps the first of equal maxima.
    a, b = v0 + t00, v1 + t10
    into_0, bits = (b, 1) if b > a else (a, 0)
    a, b = v0 + t01, v1 + t11
    if b > a:
      into_1, bits = b, bits | 2
    else:
      into_1 = a
    from_1[t] = bits
    v0, v1 = rows[t][0] + into_0, rows[t][1] + into_1
  states = np.zeros(len(rows), np.int64)
  state = 1 if v1 > v0 else 0
  for t in range(len(rows) - 1, -1, -1):
    states[t] = state
    state = (from_1[t] >> state) & 1
  return states
