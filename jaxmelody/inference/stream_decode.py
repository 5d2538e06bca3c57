"""Decoding logits as they arrive: argmax per frame, or fixed-lag Viterbi.

``decoding.decode`` sees the whole clip. A stream decides each frame once
``lag`` later frames have been seen: ``FixedLagViterbi`` runs librosa's
Viterbi recursion (``librosa.sequence._viterbi``: the same log terms, the same
first-maximum tie rule) one frame at a time and, ``lag`` frames on, traces
back from the best current state to the frame it is about to give out. At the
end of the stream the rest is traced back from the best last state, as
offline. With a lag at least the stream's length it is offline Viterbi
exactly; a short lag may decide a frame that later evidence would revise.
"""

import numpy as np

from jaxmelody import errors
from jaxmelody.frontend import pitch
from jaxmelody.inference import decoding
from jaxmelody.inference import viterbi

# Frames (16 ms each) a Viterbi decision waits for.
DEFAULT_LAG = 32


class FixedLagViterbi:
  """Online Viterbi over T x n log-likelihood rows with a fixed decision lag.

  Attributes:
    lag: frames after a frame that are seen before it is decided.
  """

  def __init__(self, transition: np.ndarray, lag: int, p_init=None):
    """Args: transition [n, n] row-stochastic; lag >= 0; p_init [n] or None
    (uniform), as ``librosa.sequence.viterbi``."""
    n = transition.shape[0]
    p_init = np.full(n, 1.0 / n) if p_init is None else np.asarray(p_init)
    eps = np.finfo(np.float64).tiny  # librosa's tiny() of float64 input
    self._log_trans = np.log(transition + eps)
    self._log_p_init = np.log(p_init + eps)
    self.lag = int(lag)
    self._value = None  # forward log scores of the newest frame [n]
    self._ptr = []  # back-pointers of the undecided frames after the first
    self._n_seen = 0
    self._n_out = 0

  def _trace(self, count: int) -> np.ndarray:
    """States of the oldest ``count`` undecided frames, traced back from the
    best current state."""
    # Only the pointers between undecided frames are followed.
    del self._ptr[:len(self._ptr) - (self._n_seen - self._n_out - 1)]
    state = int(np.argmax(self._value))
    path = [state]
    for ptr in reversed(self._ptr):
      state = int(ptr[state])
      path.append(state)
    path.reverse()  # the undecided frames, oldest first
    return np.asarray(path[:count], np.int64)

  def push(self, log_prob: np.ndarray) -> np.ndarray:
    """Adds rows [t, n] of log-likelihoods; returns the newly decided states."""
    out = []
    for row in np.asarray(log_prob, np.float64):
      if self._value is None:
        self._value = row + self._log_p_init
      else:
        # trans_out[k, j] = V[k] + log A[k, j]; the first best k wins ties.
        trans_out = self._value[:, None] + self._log_trans
        ptr = np.argmax(trans_out, axis=0)
        self._value = row + trans_out[ptr, np.arange(len(ptr))]
        self._ptr.append(ptr)
      self._n_seen += 1
      if self._n_seen - self._n_out > self.lag:
        out.append(self._trace(1)[0])
        self._n_out += 1
    return np.asarray(out, np.int64)

  def flush(self) -> np.ndarray:
    """Decides every remaining frame (the best path into the last one)."""
    rest = self._n_seen - self._n_out
    if rest <= 0:
      return np.zeros(0, np.int64)
    path = self._trace(rest)
    self._n_out = self._n_seen
    self._ptr = []
    return path


class StreamDecoder:
  """``decoding.decode`` for logits that arrive in pieces.

  The Viterbi decoder keeps ``decoding``'s two chains (pitch given melody,
  melody on/off) and priors; each frame comes out once both are decided.
  """

  def __init__(self, decoder: str = decoding.DEFAULT_DECODER,
               voicing_threshold=None, lag: int = DEFAULT_LAG):
    decoding.check(decoder, voicing_threshold)
    if isinstance(lag, bool) or not isinstance(lag, (int, np.integer)) or lag < 0:
      raise errors.ConfigError(f'lag: must be a whole number of frames >= 0, '
                               f'got {lag!r}')
    self.decoder, self.threshold, self.lag = decoder, voicing_threshold, lag
    self._voicing = np.zeros(0)  # voicing of frames not yet given out
    self._classes = np.zeros(0, np.int64)  # argmax: decided, not given out
    if decoder == 'viterbi':
      self._pitch = FixedLagViterbi(decoding.pitch_transition(), lag)
      self._on = FixedLagViterbi(
          viterbi.two_state_transition(1.0 - decoding.VITERBI_SWITCH),
          lag, p_init=np.array([0.5, 0.5]))
      self._pitches = np.zeros(0, np.int64)
      self._voiced = np.zeros(0, bool)

  def _viterbi_rows(self, probs):
    """Log-likelihood rows of both chains, as ``decoding.viterbi_*``."""
    eps = np.finfo(np.float64).tiny  # librosa's, as in FixedLagViterbi
    evidence = decoding.voicing_evidence(probs, self.threshold)
    p_state = 0.5 if self.threshold is None else self.threshold
    return (np.log(decoding.pitch_given_voiced(probs) + eps),
            viterbi.two_state_log_prob(evidence, p_state))

  def _take(self, pitches, voiced):
    """Appends decided states; returns the classes of frames both decided."""
    self._pitches = np.concatenate([self._pitches, pitches])
    self._voiced = np.concatenate([self._voiced, voiced > 0])
    n = min(len(self._pitches), len(self._voiced))
    classes = np.where(self._voiced[:n], 1 + self._pitches[:n], 0)
    self._pitches, self._voiced = self._pitches[n:], self._voiced[n:]
    return classes

  def _out(self, classes):
    """(f0_hz, voicing) of the next len(classes) frames."""
    n = len(classes)
    voicing, self._voicing = self._voicing[:n], self._voicing[n:]
    return pitch.class_to_hz(np.asarray(classes, np.int64)), voicing

  def push(self, logits):
    """Adds logits [t, 257]; returns (f0_hz, voicing) of the decided frames."""
    logits = np.asarray(logits, np.float64).reshape(-1, len(pitch.CLASS_HZ))
    probs = pitch.softmax(logits, axis=-1)
    self._voicing = np.concatenate([self._voicing, 1.0 - probs[:, 0]])
    if self.decoder == 'argmax':
      if self.threshold is None:
        classes = np.argmax(logits, axis=-1)
      else:
        classes = np.where(1.0 - probs[:, 0] >= self.threshold,
                           1 + np.argmax(logits[:, 1:], axis=-1), 0)
      return self._out(classes)
    pitch_rows, voicing_rows = self._viterbi_rows(probs)
    return self._out(self._take(self._pitch.push(pitch_rows),
                                self._on.push(voicing_rows)))

  def flush(self):
    """(f0_hz, voicing) of every frame not given out yet."""
    if self.decoder == 'argmax':
      return self._out(np.zeros(0, np.int64))
    return self._out(self._take(self._pitch.flush(), self._on.flush()))
