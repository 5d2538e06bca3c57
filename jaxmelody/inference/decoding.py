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
  (``librosa.sequence.viterbi_binary``), against flicker;
  ``voicing_threshold`` moves that chain's decision point the same way.
"""

import functools

import librosa
import numba
import numpy as np

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
  (triangular window)."""
  return librosa.sequence.transition_local(n_pitch, 2 * max_move + 1,
                                           window='triangle')


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
  epsilon = librosa.util.tiny(prob)
  log_trans = np.log(transition + epsilon)
  log_p_init = np.log(np.full(n_states, 1.0 / n_states) + epsilon)
  # band[d + max_move, j] = log_trans[j + d, j]: from state j + d to j.
  moves = np.arange(-max_move, max_move + 1)
  src = np.arange(n_states)[None, :] + moves[:, None]
  band = np.where((src >= 0) & (src < n_states),
                  log_trans[np.clip(src, 0, n_states - 1),
                            np.arange(n_states)[None, :]], -np.inf)
  return _banded_viterbi(np.ascontiguousarray(np.log(prob + epsilon).T),
                         band, np.log(epsilon), log_p_init, max_move)


@numba.njit(cache=True)
def _banded_viterbi(log_prob, band, log_zero, log_p_init, max_move):
  """The loop of ``banded_viterbi``.

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
  voiced = librosa.sequence.viterbi_binary(
      evidence[None, :], librosa.sequence.transition_loop(2, 1.0 - switch),
      p_state=p_state)[0]
  return voiced > 0


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
