"""From per-frame class scores to a melody: argmax, threshold or Viterbi.

The model scores 257 classes per 16 ms frame: class 0 = no melody, class
m >= 1 = ``pitch.CLASS_HZ[m]`` (48 per octave). Three ways to decide:

- ``argmax`` with no threshold: the most likely class (the paper's rule);
- ``argmax`` with ``voicing_threshold=P``: a frame has a melody when the
  voicing probability 1 - p(no melody) is at least P, and then its pitch is
  the most likely pitch class (P trades missed frames for false alarms);
- ``viterbi``: the most likely pitch path under a prior that favours small
  pitch moves (``librosa.sequence.viterbi``'s path over p(pitch | melody),
  computed on the band of allowed moves), which suppresses one-frame
  octave jumps, and melody on/off from a two-state chain over the voicing
  probability that keeps it on or off for a while
  (``librosa.sequence.viterbi_binary``'s path), against flicker;
  ``voicing_threshold`` moves that chain's decision point the same way.

The chains themselves are ``viterbi.py``'s: librosa's paths, ties
included, without importing librosa (``librosa.sequence`` pulls in
scipy.signal and librosa.util's numba ufuncs, about 1.3 s of a fresh
``jaxmelody`` process's start-up).

  check(decoder, voicing_threshold): raises ConfigError on bad settings
  from_config(config.eval, decoder, voicing_threshold): the settings asked for
  decode(logits, decoder=..., voicing_threshold=...) -> (f0_hz, voicing)
  confidence(logits, voicing_threshold) -> what the voicing decision used
  prepare(n_frames, decoder): loads what decoding will need, ahead of time
  pitch_transition, viterbi_pitch, viterbi_voicing, pitch_given_voiced,
  voicing_evidence: the pieces of ``decode``
"""

import functools

import numpy as np

from jaxmelody import errors
from jaxmelody.frontend import pitch
from jaxmelody.inference import viterbi
from jaxmelody.inference import viterbi_loops

DECODERS = ('argmax', 'viterbi')
# The default of predict, extract_melody, the commands and --mode=eval:
# Viterbi, because it raised validation OA on every checkpoint tried
# (docs/training.md, "Inference options on validation") and the robustness
# rule kept it (docs/reproduction.md). config.eval.decoder states the same
# default for the commands (a test pins the two together).
DEFAULT_DECODER = 'viterbi'
# Validation during training decodes with the paper's argmax, the rule every
# checkpoint choice so far was made under.
VALIDATION_DECODER = 'argmax'

# Viterbi priors. A pitch may move up to this many classes (4 per semitone)
# per frame, more likely the smaller the move; melody switches on or off
# with this probability per frame.
VITERBI_MAX_MOVE = 4
VITERBI_SWITCH = 0.02


def from_config(eval_config, decoder: str | None = None,
                voicing_threshold: float | None = None):
  """(decoder, voicing_threshold) a config's ``eval`` asks for, checked.

  ``eval_config.voicing_threshold`` 0 means the decoder's own decision
  (None); ``decoder`` and ``voicing_threshold``, where not None, override
  the config's (a command's flags).
  """
  decoder = decoder or eval_config.decoder
  if voicing_threshold is None:
    voicing_threshold = eval_config.voicing_threshold or None
  check(decoder, voicing_threshold)
  return decoder, voicing_threshold


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


def decode(logits, *, decoder: str = DEFAULT_DECODER, voicing_threshold=None,
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
  return 1 + viterbi.banded_viterbi(
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


def prepare(n_frames: int, decoder: str) -> None:
  """Loads what decoding a clip of ``n_frames`` will need, ahead of time.

  Viterbi runs numba's loop once a process's chains are long enough
  (``viterbi_loops.uses_numba``); its start-up (import, target set-up, the
  cached machine code) costs a fresh process 0.5-1 s, which a caller that
  would otherwise wait (for audio to decode) pays now.
  """
  if decoder == 'viterbi' and viterbi_loops.uses_numba(n_frames):
    viterbi_loops.load_numba()
    viterbi_pitch(np.full((2, len(pitch.CLASS_HZ)), 1 / len(pitch.CLASS_HZ)))


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
  return viterbi.binary_viterbi(evidence, 1.0 - switch, p_state) > 0


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
