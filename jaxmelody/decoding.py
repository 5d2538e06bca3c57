"""From per-frame class scores to a melody: argmax, threshold or Viterbi.

The model scores 257 classes per 16 ms frame: class 0 = no melody, class
m >= 1 = ``pitch.CLASS_HZ[m]`` (48 per octave). Three ways to decide:

- ``argmax`` with no threshold: the most likely class (the paper's rule);
- ``argmax`` with ``voicing_threshold=P``: a frame has a melody when the
  voicing probability 1 - p(no melody) is at least P, and then its pitch is
  the most likely pitch class (P trades missed frames for false alarms);
- ``viterbi``: the most likely class sequence under a transition prior that
  favours small pitch moves and keeps voicing on or off for a while
  (``librosa.sequence.viterbi``), which suppresses one-frame octave jumps
  and flicker; ``voicing_threshold`` shifts its voicing decision the same way.
"""

import functools

import librosa
import numpy as np

from jaxmelody import errors
from jaxmelody import pitch

DECODERS = ('argmax', 'viterbi')

# Viterbi prior. A pitch may move up to this many classes (4 per semitone)
# per frame, more likely the smaller the move; voicing switches on or off
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
def transition_matrix(n_classes: int = len(pitch.CLASS_HZ),
                      max_move: int = VITERBI_MAX_MOVE,
                      switch: float = VITERBI_SWITCH) -> np.ndarray:
  """[K, K] row-stochastic prior: state 0 = no melody, 1.. = pitches.

  Pitch to pitch follows a triangular window of half-width ``max_move``
  classes; voicing switches with probability ``switch``, and a melody that
  starts may start on any pitch.
  """
  n_pitch = n_classes - 1
  local = librosa.sequence.transition_local(n_pitch, 2 * max_move + 1,
                                            window='triangle')
  t = np.empty((n_classes, n_classes))
  t[0, 0] = 1.0 - switch
  t[0, 1:] = switch / n_pitch
  t[1:, 0] = switch
  t[1:, 1:] = (1.0 - switch) * local
  return t


def decode(logits, *, decoder: str = 'argmax', voicing_threshold=None):
  """Decodes a clip's logits.

  Args:
    logits: float [T, 257], row 0 = no melody.
    decoder: 'argmax' or 'viterbi'.
    voicing_threshold: None (the decoder's own voicing decision) or P in
      (0, 1): a frame is voiced when 1 - p(no melody) >= P (argmax); for
      Viterbi the no-melody score is weighted so that P = 0.5 is neutral.

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
    emission = probs.T.copy()
    if voicing_threshold is not None:
      emission[0] *= voicing_threshold / (1.0 - voicing_threshold)
    classes = librosa.sequence.viterbi(
        emission, transition_matrix(logits.shape[-1]))
  return pitch.class_to_hz(classes), voicing
