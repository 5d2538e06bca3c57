"""Streaming melody extraction: ``MelodyStream``, push samples, get frames.

  stream = jaxmelody.MelodyStream(44100, decoder='argmax')
  for chunk in chunks:                 # float samples [n] or [n, channels]
    melody = stream.push(chunk)        # the frames that became final
  melody = stream.flush()              # the rest, at the end

The offline pipeline, in pieces: the same resampler (``frontend.cfp_stream``),
the same CFP frames, the model on windows of one fixed length (compiled
once) whose edges lie a receptive radius away from the frames they give out,
so each frame sees exactly the context it sees in one pass over the clip.
A frame comes out once its right-hand receptive field has arrived.

The one thing a stream cannot know in advance is the clip's loudest CFP
value: ``cfp.compute_cfp`` divides each channel by its maximum over the
whole clip (the minimum is always 0: row 0 of every filterbank is zero).
By default a stream divides by the maximum seen so far, so frames before
the loudest moment are scaled differently from offline; given
``feature_max`` (e.g. the offline clip's), the stream equals
``extract_melody`` on the whole signal to float32 rounding (argmax
decoding, tested), Viterbi differing only by its decision lag.
"""

import numpy as np

from jaxmelody import errors
from jaxmelody.frontend import cfp_stream
from jaxmelody.frontend.feature_config import FEATURES
from jaxmelody.inference import api
from jaxmelody.inference import decoding
from jaxmelody.inference import piece_norm
from jaxmelody.inference import stream_decode
from jaxmelody.model import network

# Frames each model window gives out once running (16 ms each): the window
# is this plus twice the receptive radius, so a larger step means fewer,
# better-used passes and a longer wait.
DEFAULT_STEP = 32


class MelodyStream:
  """Melody of audio that arrives in chunks of any size.

  Attributes:
    sample_rate: rate (Hz) of the pushed samples.
    radius: the model's receptive radius (frames each side).
    window: frames per model pass (step + 2 radius), compiled once.
    feature_max: float32 [3], the CFP channel maxima in use.
  """

  def __init__(self, sample_rate: int, *,
               decoder: str = decoding.DEFAULT_DECODER,
               voicing_threshold=None, lag: int = stream_decode.DEFAULT_LAG,
               step: int = DEFAULT_STEP, feature_max=None, checkpoint=None,
               config=None):
    """Loads the model (cached per process, as ``extract_melody``).

    Args:
      sample_rate: rate of the samples ``push`` gets, in Hz.
      decoder, voicing_threshold: as ``extract_melody``.
      lag: frames a Viterbi decision waits for (``stream_decode``).
      step: frames each model pass gives out.
      feature_max: None (the running maximum) or the 3 CFP channel maxima.
      checkpoint, config: as ``extract_melody``.

    Raises:
      errors.ConfigError: per-piece BatchNorm, bad options.
      errors.AudioError: a nonsensical sample rate.
      errors.CheckpointError: no usable weights.
    """
    if isinstance(sample_rate, bool) or not isinstance(
        sample_rate, (int, np.integer)) or sample_rate <= 0:
      raise errors.AudioError(f'sample rate: must be a positive whole number '
                              f'of Hz, got {sample_rate!r}')
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or (
        step < 1):
      raise errors.ConfigError(f'step: must be a whole number of frames >= 1,'
                               f' got {step!r}')
    config = config or api.default_config()
    bn = config.model.bn_inference
    if bn != 'running':
      raise errors.ConfigError(
          f"streaming: config.model.bn_inference={bn!r} is not offered; "
          "per-piece BatchNorm normalises with statistics of the whole piece, "
          "which a stream has only at its end; use 'running' (running "
          "averages)")
    if config.eval.piece_frames:
      raise errors.ConfigError('streaming: config.eval.piece_frames must be '
                               '0 (a stream is one piece)')
    res_type = config.data.res_type
    if res_type != 'polyphase' and sample_rate != FEATURES.sample_rate:
      raise errors.ConfigError(f'streaming: resampling is polyphase only; '
                               f'config.data.res_type is {res_type!r}')
    self.sample_rate = int(sample_rate)
    self._decoder = stream_decode.StreamDecoder(decoder, voicing_threshold,
                                                lag)
    self._model = api.get_model(config, checkpoint)
    self.radius = self._model.radius
    self.step = int(step)
    self.window = self.step + 2 * self.radius
    self._resampler = cfp_stream.StreamResampler(self.sample_rate)
    self._cfp = cfp_stream.StreamCFP()
    self._fixed_max = feature_max is not None
    self.feature_max = (np.zeros(3, np.float32) if feature_max is None else
                        np.asarray(feature_max, np.float32).reshape(3))
    self._raw = np.zeros((0, 3, FEATURES.n_bins), np.float32)
    self._raw_start = 0  # frame index of self._raw[0]
    self._n_final = 0  # CFP frames computed
    self._n_logits = 0  # frames given to the decoder
    self._n_out = 0  # frames returned
    self._ended = False

  def _features(self, lo: int, hi: int) -> np.ndarray:
    """Normalised CFP [3, 256, hi - lo] of frames [lo, hi), as offline."""
    raw = self._raw[lo - self._raw_start:hi - self._raw_start]
    scale = self.feature_max[None, :, None]
    with np.errstate(invalid='ignore', divide='ignore'):
      feats = np.where(scale > 0, raw / np.where(scale > 0, scale, 1), 0)
    return np.ascontiguousarray(feats.transpose(1, 2, 0), np.float32)

  def _run(self, lo: int, hi: int, first: int) -> np.ndarray:
    """Logits of frames [first, hi - radius or hi) from one window [lo, hi)."""
    cfp = self._features(lo, hi)
    x = np.zeros((1, FEATURES.n_bins, self.window, 3), np.float32)
    x[0, :, :hi - lo] = network.cfp_to_input(cfp)
    logits = self._model.window_logits(x, hi - lo)[:hi - lo]
    logits = piece_norm.silence_to_no_melody(logits, cfp)
    return logits[first - lo:]

  def _add_frames(self, raw: np.ndarray) -> None:
    if len(raw) and not self._fixed_max:
      self.feature_max = np.maximum(self.feature_max, raw.max(axis=(0, 2)))
    self._raw = np.concatenate([self._raw, raw])
    self._n_final += len(raw)

  def _model_passes(self, end: bool) -> list[np.ndarray]:
    """Logits of every frame whose window is complete (all, at the end)."""
    out = []
    while self._n_logits < self._n_final:
      e = self._n_logits
      lo = max(0, e - self.radius)
      if lo + self.window <= self._n_final:  # a full window is there
        hi = lo + self.window
        out.append(self._run(lo, hi, e)[:hi - self.radius - e])
      elif end:  # the clip ends inside this window: as offline, padded
        out.append(self._run(lo, self._n_final, e))
      else:
        break
      self._n_logits += len(out[-1])
    # Keep the frames the next window starts from.
    keep = max(0, self._n_logits - self.radius)
    self._raw = self._raw[keep - self._raw_start:]
    self._raw_start = keep
    return out

  def _melody(self, logits: list[np.ndarray], end: bool) -> api.Melody:
    n_classes = FEATURES.n_classes
    joined = np.concatenate(logits) if logits else np.zeros((0, n_classes))
    f0, voicing = self._decoder.push(joined)
    if end:
      f0_rest, voicing_rest = self._decoder.flush()
      f0 = np.concatenate([f0, f0_rest])
      voicing = np.concatenate([voicing, voicing_rest])
    times = (np.arange(self._n_out, self._n_out + len(f0)) + 1.0) * (
        FEATURES.frame_seconds)
    self._n_out += len(f0)
    return api.Melody(times, np.asarray(f0, np.float64),
                      np.asarray(voicing, np.float64))

  def _mono(self, samples) -> np.ndarray:
    """float32 [n] mono, as ``audio.prepare_audio`` mixes (channel mean)."""
    x = np.asarray(samples, np.float32)
    if x.ndim == 2:
      x = x.mean(axis=1)
    elif x.ndim != 1:
      raise errors.AudioError(f'audio: expected samples of shape [n] or '
                              f'[n, channels], got {x.shape}')
    if not np.all(np.isfinite(x)):
      raise errors.AudioError('audio: contains NaN or infinite samples')
    return x

  def push(self, samples) -> api.Melody:
    """Adds samples; returns the frames that became final (maybe none).

    Args:
      samples: float [n] or [n, channels] at ``sample_rate``.

    Returns:
      A ``Melody`` of the next frames on the 16 ms grid, in order.

    Raises:
      errors.AudioError: wrong shape or non-finite samples; pushing after
        ``flush``.
    """
    if self._ended:
      raise errors.AudioError('stream: push after flush; start a new '
                              'MelodyStream for new audio')
    x16 = self._resampler.push(self._mono(samples))
    self._add_frames(self._cfp.push(x16))
    return self._melody(self._model_passes(end=False), end=False)

  def flush(self) -> api.Melody:
    """Ends the stream; returns every frame not returned yet.

    A stream shorter than two hops (32 ms) has no frame at all.
    """
    if self._ended:
      return self._melody([], end=False)
    self._ended = True
    x16 = self._resampler.push(np.zeros(0, np.float32), final=True)
    self._add_frames(self._cfp.push(x16))
    self._add_frames(self._cfp.flush())
    return self._melody(self._model_passes(end=True), end=True)

  def warm_up(self) -> None:
    """Compiles the model window and the CFP shapes (no compile later)."""
    self._cfp.warm_up()
    x = np.zeros((1, FEATURES.n_bins, self.window, 3), np.float32)
    self._model.window_logits(x, self.window)

  def delays_s(self) -> dict:
    """The delays (s) the design imposes on a frame, beside compute time.

    receptive: the model's right-hand receptive field (radius x 16 ms);
    cfp: the right half of the CFP window (1024 samples, 64 ms);
    step: at most this much more, waiting for a window's step of frames;
    lag: the Viterbi decision lag (0 for argmax);
    resampler: the resampling filter's right half.
    """
    hop_s = FEATURES.frame_seconds
    return {
        'receptive': self.radius * hop_s,
        'cfp': self._cfp.lookahead / FEATURES.sample_rate,
        'step': (self.step - 1) * hop_s,
        'lag': (self._decoder.lag if self._decoder.decoder == 'viterbi'
                else 0) * hop_s,
        'resampler': self._resampler.lookahead / self.sample_rate,
    }
