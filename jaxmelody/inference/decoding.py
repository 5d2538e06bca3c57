"""From per-frame class scores to a melody: argmax, threshold or Viterbi.

The model scores 257 classes per 16 ms frame: class 0 = no melody, class
m >= 1 = ``pitch.CLASS_HZ[m]`` (48 per octave). Three ways to decide:

- ``argmax`` with no threshold: the most likely class (the paper's rule);
- ``argmax`` with ``voicing_threshold=P``: a frame has a melody when the
  voicing probability 1 - p(no melody) is at least P, and then its pitch is
  the most likely pitch class (P trades missed frames for false alarms);
- ``viterbi``: the most likely pitch path under a prior that favours small
  pitch moves (``librosa.sequence.viterbi``'s path over p(pitch | melody),
  computed on the band of allowed moves by ``banded_viterbi``), which
  suppresses one-frame octave jumps, and melody on/off from a two-state
  chain over the voicing probability that keeps it on or off for a while
  (``librosa.sequence.viterbi_binary``'s path, by ``binary_viterbi``),
  against flicker; ``voicing_threshold`` moves that chain's decision point
  the same way.

librosa stays the reference of the tests but is not imported here:
``librosa.sequence`` pulls in scipy.signal and librosa.util's numba ufuncs,
about 1.3 s of a fresh ``jaxmelody`` process's start-up. The priors and
the log terms are librosa's arithmetic, so the paths are identical. For
the same reason numba is loaded only once a process has decoded enough
frames to gain from it (``_use_numba``).
"""

import functools
import sys

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from jaxmelody import errors
from jaxmelody.frontend import pitch

DECODERS = ('argmax', 'viterbi')
# The default of predict, extract_melody, the commands and --mode=eval:
# Viterbi, because it raised the bundled model's validation OA from 84.74
# to 85.73 (README, Status). Validation during training keeps argmax.
DEFAULT_DECODER = 'viterbi'

# Viterbi priors. A pitch may move up to this many classes (4 per semitone)
# per frame, more likely the smaller the move; melody switches on or off
# with this probability per frame.
VITERBI_MAX_MOVE = 4
VITERBI_SWITCH = 0.02

# librosa's epsilon in every log(x + epsilon): ``librosa.util.tiny`` of the
# float64 arrays it is added to.
_TINY = np.finfo(np.float64).tiny
# The pitch chain's loop runs in numpy (~19 us per frame) or in numba (~6
# us per frame, after a start-up of ~0.6 s in a fresh process: import,
# target set-up, loading the cached machine code); benchmarks/
# time_to_melody.py prints all three. A process runs numpy until its
# chains would total this many frames (0.6 s / 13 us; 12 min of audio),
# then numba: never more than twice the cheaper choice in hindsight, and a
# single song in a fresh process skips numba's start-up.
_NUMPY_MAX_FRAMES = 45_000
_numpy_frames = 0  # frames this process has decoded with the numpy loop


def check(decoder: str, voicing_threshold) -> None:
  """Raises ConfigError for an unknown decoder or a threshold outside (0, 1)."""
  if decoder not in DECODERS:
    raise errors.ConfigError(f'decoder: {decoder!r} is not one of {DECODERS}')
  if voicing_threshold is not None and not 0 < voicing_threshold < 1:
    raise errors.ConfigError(f'voicing threshold: {voicing_threshold} must be '
                             'between 0 and 1 (exclusive)')


@functools.lru_cache(maxsize=4)
def pitch_transition(n_pitch: int = len(pitch.CLASS_HZ) - 1,
                     max_move: int = VITERBI_MAX_MOVE) -> np.ndarray:
  """[n, n] row-stochastic prior over pitch classes: a pitch moves up to
  ``max_move`` classes per frame, the smaller the move the likelier
  (triangular window).

  Bitwise ``librosa.sequence.transition_local(n_pitch, 2 * max_move + 1,
  window='triangle')`` (tested): the same symmetric triangle (scipy's
  ``triang``: 2 k / (width + 1)), cut at the edges (no wrap), each full row
  divided by its own sum.
  """
  width = 2 * max_move + 1
  if n_pitch < width:
    raise ValueError(f'{n_pitch} pitch classes, fewer than the {width} '
                     'of one move window')
  k = np.arange(1, (width + 1) // 2 + 1)
  half = 2 * k / (width + 1.0)
  triangle = np.concatenate([half, half[-2::-1]])  # [width], peak in middle
  transition = np.zeros((n_pitch, n_pitch))
  for i in range(n_pitch):
    lo, hi = max(0, i - max_move), min(n_pitch, i + max_move + 1)
    transition[i, lo:hi] = triangle[lo - i + max_move:hi - i + max_move]
  transition /= transition.sum(axis=1, keepdims=True)
  return transition


def decode(logits, *, decoder: str = 'argmax', voicing_threshold=None,
           max_move: int = VITERBI_MAX_MOVE,
           switch: float = VITERBI_SWITCH):
  """Decodes a clip's logits.

  Args:
    logits: float [T, 257], row 0 = no melody.
    decoder: 'argmax' or 'viterbi'.
    voicing_threshold: None (the decoder's own voicing decision) or P in
      (0, 1): a frame is voiced when 1 - p(no melody) >= P (argmax); for
      Viterbi the no-melody score is weighted so that P = 0.5 is neutral.
    max_move, switch: Viterbi's priors (the module's constants by default;
      ``experiments/decoder_sweep.py`` compares others on validation).

  Returns:
    (f0_hz float64 [T] with 0 = no melody, voicing float64 [T] = probability
    that a melody is present, 1 - softmax row 0).

  Raises:
    errors.ConfigError: unknown decoder or bad threshold.
  """
  check(decoder, voicing_threshold)
  logits = np.asarray(logits, np.float64)
  probs = pitch.softmax(logits, axis=-1)
  voicing = 1.0 - probs[:, 0]
  if len(logits) == 0:
    return np.zeros(0), voicing
  if decoder == 'argmax':
    if voicing_threshold is None:
      classes = np.argmax(logits, axis=-1)
    else:
      best_pitch = 1 + np.argmax(logits[:, 1:], axis=-1)
      classes = np.where(voicing >= voicing_threshold, best_pitch, 0)
  else:
    # Two chains, each without a bias towards the other's states (one HMM
    # over all 257 classes would charge every voiced frame its pitch-move
    # entropy, so it drops voiced frames).
    voiced = viterbi_voicing(probs, voicing_threshold, switch)
    classes = np.where(voiced, viterbi_pitch(probs, max_move), 0)
  return pitch.class_to_hz(classes), voicing


def viterbi_pitch(probs, max_move: int = VITERBI_MAX_MOVE) -> np.ndarray:
  """The most likely pitch class path, int [T] in 1..256.

  Args:
    probs: float64 [T, 257] class probabilities, row 0 = no melody.
    max_move: the prior's widest move per frame (``pitch_transition``).
  """
  return 1 + banded_viterbi(
      pitch_given_voiced(probs).T,
      pitch_transition(probs.shape[-1] - 1, max_move), max_move)


def pitch_given_voiced(probs) -> np.ndarray:
  """p(pitch | melody), float64 [T, 256] in [0, 1]: the pitch chain's input.

  Args:
    probs: float64 [T, 257] class probabilities, row 0 = no melody.
  """
  # Normalised by the pitch rows' own sum (1 - p0 rounds differently and
  # let values exceed 1, which librosa rejects); clipped for underflow.
  pitch_mass = probs[:, 1:].sum(axis=-1, keepdims=True)
  return np.clip(probs[:, 1:] / np.maximum(pitch_mass, 1e-300), 0.0, 1.0)


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
  return _viterbi_loop(np.ascontiguousarray(np.log(prob + epsilon).T),
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


def prepare(n_frames: int, decoder: str) -> None:
  """Loads what decoding a clip of ``n_frames`` will need, ahead of time.

  Viterbi runs numba's loop once a process's chains are long enough
  (``_use_numba``); its start-up (import, target set-up, the cached machine
  code) costs a fresh process 0.5-1 s, which a caller that would otherwise
  wait (for audio to decode) pays now.
  """
  if decoder == 'viterbi' and _use_numba(n_frames):
    _numba_loop()
    viterbi_pitch(np.full((2, len(pitch.CLASS_HZ)), 1 / len(pitch.CLASS_HZ)))


def _use_numba(n_steps: int) -> bool:
  """Whether a chain of ``n_steps`` frames runs in numba (same path)."""
  # Once numba is in the process (librosa's resampling loads it), its loop
  # is the cheaper one at any length.
  return ('numba' in sys.modules
          or _numpy_frames + n_steps > _NUMPY_MAX_FRAMES)


def _viterbi_loop(log_prob, band, log_zero, log_p_init, max_move):
  """``_banded_viterbi_loop``, in numba or in numpy (identical paths)."""
  global _numpy_frames  # pylint: disable=global-statement
  if _use_numba(len(log_prob)):
    return _numba_loop()(log_prob, band, log_zero, log_p_init, max_move)
  _numpy_frames += len(log_prob)
  return _banded_viterbi_numpy(log_prob, band, log_zero, log_p_init,
                               max_move)


@functools.cache
def _numba_loop():
  """``_banded_viterbi_loop`` compiled by numba, cached on disk.

  numba keeps the machine code next to this file (``__pycache__``) or, where
  that is not writable (an installed package), in its user cache folder
  ($NUMBA_CACHE_DIR overrides).
  """
  import numba  # pylint: disable=g-import-not-at-top
  return numba.njit(cache=True)(_banded_viterbi_loop)


def _banded_viterbi_loop(log_prob, band, log_zero, log_p_init, max_move):
  """The loop of ``banded_viterbi``, for numba (``_numba_loop``).

  Args:
    log_prob: float64 [T, n] log likelihoods, T >= 1.
    band: float64 [2 M + 1, n] log transitions into state j from j + d
      (row d + M); -inf where j + d is not a state.
    log_zero: the log score of a transition outside the band, log(tiny).
    log_p_init: float64 [n] log initial distribution.
    max_move: M.

  Returns:
    int64 [T] states.
  """
  n_steps, n = log_prob.shape
  ptr = np.zeros((n_steps, n), np.int32)
  value = log_prob[0] + log_p_init
  new = np.empty(n)
  low_val, low_arg = np.empty(n), np.zeros(n, np.int64)
  high_val, high_arg = np.empty(n), np.zeros(n, np.int64)
  for t in range(1, n_steps):
    # Best source among states 0..i (low) and i..n-1 (high) for a jump out
    # of the band, the first index winning ties as np.argmax does.
    for i in range(n):
      score = value[i] + log_zero
      if i == 0 or score > low_val[i - 1]:
        low_val[i], low_arg[i] = score, i
      else:
        low_val[i], low_arg[i] = low_val[i - 1], low_arg[i - 1]
    for i in range(n - 1, -1, -1):
      score = value[i] + log_zero
      if i == n - 1 or score >= high_val[i + 1]:
        high_val[i], high_arg[i] = score, i
      else:
        high_val[i], high_arg[i] = high_val[i + 1], high_arg[i + 1]
    for j in range(n):
      # Sources in increasing order: below the band, the band, above it;
      # only a strictly better score replaces the best so far.
      best, arg = -np.inf, -1
      if j - max_move - 1 >= 0:
        best, arg = low_val[j - max_move - 1], low_arg[j - max_move - 1]
      for d in range(-max_move, max_move + 1):
        k = j + d
        if 0 <= k < n:
          score = value[k] + band[d + max_move, j]
          if score > best:
            best, arg = score, k
      if j + max_move + 1 < n and high_val[j + max_move + 1] > best:
        best, arg = high_val[j + max_move + 1], high_arg[j + max_move + 1]
      ptr[t, j] = arg
      new[j] = log_prob[t, j] + best
    value[:] = new
  states = np.zeros(n_steps, np.int64)
  states[-1] = np.argmax(value)
  for t in range(n_steps - 2, -1, -1):
    states[t] = ptr[t + 1, states[t + 1]]
  return states


def _banded_viterbi_numpy(log_prob, band, log_zero, log_p_init, max_move):
  """``_banded_viterbi_loop`` with numpy: one frame at a time, all states
  at once (the same sums and the same choice among equal scores).

  Per frame each state's best source in the band is the first maximum of
  its 2 M + 1 sums (sources in increasing order, as the loop scans them). A
  jump from outside the band scores at most max(value) + log_zero; only
  when that reaches some state's best in the band (likelihoods of exactly 0,
  in practice) does ``_with_jumps`` weigh the jumps exactly.
  """
  n_steps, n = log_prob.shape
  m = max_move
  ptr = np.zeros((n_steps, n), np.int32)
  states = np.arange(n)
  band_t = np.ascontiguousarray(band.T)  # [n, 2 M + 1]
  padded = np.full(n + 2 * m, -np.inf)
  sources = sliding_window_view(padded, 2 * m + 1)  # [j, d + M]: value[j + d]
  sums = np.empty_like(band_t)
  value = log_prob[0] + log_p_init
  for t in range(1, n_steps):
    padded[m:m + n] = value
    np.add(sources, band_t, out=sums)
    arg = sums.argmax(axis=1)
    best = sums[states, arg]
    src = states + (arg - m)
    jump = value + log_zero
    if jump.max() >= best.min():
      best, src = _with_jumps(jump, best, src, m)
    ptr[t] = src
    value = log_prob[t] + best
  path = np.zeros(n_steps, np.int64)
  path[-1] = np.argmax(value)
  for t in range(n_steps - 2, -1, -1):
    path[t] = ptr[t + 1, path[t + 1]]
  return path


def _with_jumps(jump, best, src, m):
  """The best sources of one frame with jumps from outside the band.

  Args:
    jump: float64 [n] the score of a jump out of each state (value +
      log_zero).
    best, src: float64 [n], int [n] each state's best score and source in
      the band.
    m: the band's half-width.

  Returns:
    (best, src) as ``_banded_viterbi_loop`` decides: a jump from below the
    band (a lower source) wins ties against the band, one from above only
    a strictly better score; among jumps, the lowest source of the maximum.
  """
  n = len(jump)
  index = np.arange(n)
  # Best among states 0..i: the first index of the running maximum.
  low_val = np.maximum.accumulate(jump)
  rises = np.concatenate([[True], jump[1:] > low_val[:-1]])
  low_arg = np.maximum.accumulate(np.where(rises, index, 0))
  # Best among states i..n-1: the lowest index of the maximum, i.e. the
  # last to reach it scanning down from n - 1.
  down = jump[::-1]
  down_val = np.maximum.accumulate(down)
  reaches = np.concatenate([[True], down[1:] >= down_val[:-1]])
  high_val = down_val[::-1]
  high_arg = (n - 1 - np.maximum.accumulate(np.where(reaches, index, 0))
              )[::-1]
  best, src = best.copy(), src.copy()
  j = index[m + 1:]  # states with sources below their band
  below = j - m - 1
  take = ~(best[j] > low_val[below])
  best[j[take]], src[j[take]] = low_val[below][take], low_arg[below][take]
  j = index[:n - m - 1]  # states with sources above their band
  above = j + m + 1
  take = high_val[above] > best[j]
  best[j[take]], src[j[take]] = high_val[above][take], high_arg[above][take]
  return best, src


def viterbi_voicing(probs, voicing_threshold=None,
                    switch: float = VITERBI_SWITCH) -> np.ndarray:
  """Melody on/off per frame, bool [T], from a two-state chain.

  Args:
    probs: float64 [T, 257] class probabilities, row 0 = no melody.
    voicing_threshold: None: the evidence is what argmax decides on, the
      best pitch against no melody (0.5 = a tie); P: the voicing
      probability 1 - p0 against P.
    switch: probability per frame that the melody switches on or off.
  """
  evidence = voicing_evidence(probs, voicing_threshold)
  p_state = 0.5 if voicing_threshold is None else voicing_threshold
  return binary_viterbi(evidence, 1.0 - switch, p_state) > 0


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
  stay = np.float64(stay)
  # transition_loop(2, stay): (1 - stay) / (2 - 1) off the diagonal.
  transition = np.array([[stay, 1.0 - stay], [1.0 - stay, stay]])
  p_state = np.float64(p_state)
  log_marginal = np.log(np.array([1.0 - p_state, p_state]) + _TINY)
  log_prob = np.log(np.stack([1.0 - evidence, evidence], axis=-1) + _TINY
                    ) - log_marginal
  log_p_init = np.log(np.array([0.5, 0.5]) + _TINY)
  return _two_state_loop(log_prob, np.log(transition + _TINY), log_p_init)


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


def voicing_evidence(probs, voicing_threshold=None) -> np.ndarray:
  """The per-frame evidence for a melody that the voicing decision weighs.

  Args:
    probs: float64 [T, 257] class probabilities, row 0 = no melody.
    voicing_threshold: None or P (see ``decode``).

  Returns:
    float64 [T] in [0, 1]. Without a threshold, best / (best + p0): the
    most likely pitch class against no melody, what argmax decides on (a
    melody iff > 0.5); with P, the voicing probability 1 - p0 (a melody iff
    >= P). Viterbi's on/off chain reads this same number against 0.5 or P
    and only overrides short runs.
  """
  if voicing_threshold is None:
    best = probs[:, 1:].max(axis=-1)
    return best / (best + probs[:, 0])
  return 1.0 - probs[:, 0]


def confidence(logits, voicing_threshold=None) -> np.ndarray:
  """The confidence ``--confidence`` writes: ``voicing_evidence`` of logits.

  Args:
    logits: float [T, 257], row 0 = no melody.
    voicing_threshold: None or P, as given to ``decode``.

  Returns:
    float64 [T]: the number the decoder's melody/no-melody decision used
    (argmax: a melody iff > 0.5, or >= P; Viterbi: the same evidence,
    smoothed over time by its on/off chain).
  """
  logits = np.asarray(logits, np.float64)
  if not len(logits):
    return np.zeros(0)
  return voicing_evidence(pitch.softmax(logits, axis=-1), voicing_threshold)
