"""From per-frame class scores to a melody: argmax, threshold or Viterbi.

The model scores 257 classes per 16 ms frame: class 0 = no melody, class
m >= 1 = ``pitch.CLASS_HZ[m]`` (48 per octave). Three ways to decide:

- ``argmax`` with no threshold: the most likely class (the paper's rule);
- ``argmax`` with ``voicing_threshold=P``: a frame has a melody when the
  voicing probability 1 - p(no melody) is at least P, and then its pitch is
  the most likely pitch class (P trades missed frames for false alarms);
- ``viterbi``: the most likely pitch path under a prior that favours small
  pitch moves (``librosa.sequence.viterbi`` over p(pitch | melody)), which
  suppresses one-frame octave jumps, and melody on/off from a two-state
  chain over the voicing probability that keeps it on or off for a while
  (``librosa.sequence.viterbi_binary``), against flicker;
  ``voicing_threshold`` moves that chain's decision point the same way.
"""

import functools

import librosa
import numpy as np

from jaxmelody import errors
from jaxmelody import pitch

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
      ``benchmarks/decoder_sweep.py`` compares others on validation).

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
  # Normalised by the pitch rows' own sum (1 - p0 rounds differently and
  # let values exceed 1, which librosa rejects); clipped for underflow.
  pitch_mass = probs[:, 1:].sum(axis=-1, keepdims=True)
  given_voiced = np.clip(probs[:, 1:] / np.maximum(pitch_mass, 1e-300),
                         0.0, 1.0)
  return 1 + librosa.sequence.viterbi(
      given_voiced.T, pitch_transition(probs.shape[-1] - 1, max_move))


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
  if voicing_threshold is None:
    best = probs[:, 1:].max(axis=-1)
    evidence, p_state = best / (best + probs[:, 0]), 0.5
  else:
    evidence, p_state = 1.0 - probs[:, 0], voicing_threshold
  voiced = librosa.sequence.viterbi_binary(
      evidence[None, :], librosa.sequence.transition_loop(2, 1.0 - switch),
      p_state=p_state)[0]
  return voiced > 0
