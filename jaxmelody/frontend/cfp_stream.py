"""The offline front end, in pieces: resampling and CFP frames of a stream.

``StreamResampler`` is ``audio.prepare_audio``'s resampler
(``librosa.resample(res_type='polyphase')``, i.e. ``scipy.signal.resample_poly``
over the whole clip) computed chunk by chunk: each output sample is the same
FIR dot product over the same input samples, so the joined chunks equal the
whole-clip result to float32 rounding (the edges too: before the first and
after the last sample both see zeros). ``StreamCFP`` turns 16 kHz samples
into the un-normalised log1p CFP frames of ``cfp.compute_cfp`` as soon as a
frame's window has arrived; the clip-wide min-max scaling is left to the
caller, which a stream cannot do in advance (``stream.py``).
"""

import math

import jax
import numpy as np
import scipy.signal

from jaxmelody.frontend import cfp as cfp_lib
from jaxmelody.frontend.feature_config import FEATURES, FeatureConfig

# CFP frames per jitted call: powers of two up to this, so any count of ready
# frames runs without padding and at most log2(64) + 1 shapes are compiled.
MAX_CFP_CHUNK = 64


class StreamResampler:
  """``scipy.signal.resample_poly(x, up, down)`` (float32) of a stream.

  Output sample k is ``upfirdn(h, x)[k + n_pre_remove]``, which reads input
  samples q with ``0 <= m * down - q * up < len(h)``; a slice of the input
  that starts at a multiple of ``down`` keeps every filter phase aligned.
  """

  def __init__(self, orig_sr: int, target_sr: int = FEATURES.sample_rate):
    g = math.gcd(int(orig_sr), int(target_sr))
    self.up, self.down = int(target_sr) // g, int(orig_sr) // g
    self.n_in = 0  # samples received
    self.n_out = 0  # samples returned
    self._buf = np.zeros(0, np.float32)
    self._buf_start = 0  # input index of self._buf[0]
    if self.up == self.down == 1:
      return
    # The filter exactly as resample_poly designs it for float32 input.
    half_len = 10 * max(self.up, self.down)
    h = scipy.signal.firwin(2 * half_len + 1, 1.0 / max(self.up, self.down),
                            window=('kaiser', 5.0)).astype(np.float32)
    h *= self.up
    n_pre_pad = self.down - half_len % self.down
    self._h = np.concatenate([np.zeros(n_pre_pad, np.float32), h])
    self._pre_remove = (half_len + n_pre_pad) // self.down

  @property
  def lookahead(self) -> int:
    """Input samples after an output's own time that it still needs."""
    return 0 if self.up == self.down else len(self._h) // (2 * self.up) + 1

  def _outputs(self, k0: int, k1: int) -> np.ndarray:
    """Output samples [k0, k1) from the buffer (zeros past it)."""
    up, down, taps = self.up, self.down, len(self._h)
    m0, m1 = k0 + self._pre_remove, k1 + self._pre_remove
    q_lo = max(0, -(-(m0 * down - taps + 1) // up))
    q0 = (q_lo // down) * down  # phase-aligned start
    q1 = (m1 - 1) * down // up + 1
    x = self._buf[q0 - self._buf_start:q1 - self._buf_start]
    x = np.concatenate([x, np.zeros(q1 - q0 - len(x), np.float32)])
    y = scipy.signal.upfirdn(self._h, x, up, down)
    first = m0 - q0 * up // down
    return np.asarray(y[first:first + k1 - k0], np.float32)

  def push(self, x: np.ndarray, final: bool = False) -> np.ndarray:
    """Appends mono float32 samples [n]; returns the outputs now complete.

    With ``final`` the stream ends: the rest comes back (zeros past the end,
    as the whole-clip resampler pads), ``ceil(n_in * up / down)`` in all.
    """
    x = np.asarray(x, np.float32)
    self.n_in += len(x)
    if self.up == self.down:
      self.n_out += len(x)
      return x
    self._buf = np.concatenate([self._buf, x])
    if final:
      k1 = -(-self.n_in * self.up // self.down)
    else:  # the last input output k reads is (k + pre_remove) * down // up
      k1 = (self.n_in * self.up - 1) // self.down - self._pre_remove + 1
    k0 = self.n_out
    if k1 <= k0:
      return np.zeros(0, np.float32)
    out = self._outputs(k0, k1)
    self.n_out = k1
    # Keep what the next output can still read.
    m = k1 + self._pre_remove
    keep = max(0, -(-(m * self.down - len(self._h) + 1) // self.up))
    keep = (keep // self.down) * self.down
    if keep > self._buf_start:
      self._buf = self._buf[keep - self._buf_start:]
      self._buf_start = keep
    return out


class StreamCFP:
  """Un-normalised CFP frames of a 16 kHz stream, each as soon as it is final.

  Frame k is centred on sample c = (k + 1) * hop - 1 and reads up to
  c + L - 1 (L = 1024, half the window); its window norm is the full one
  once sample c + L has arrived (``cfp.frame_norms``), so it is final then.
  The last frames, whose windows reach past the end, wait for ``flush``.
  """

  def __init__(self, config: FeatureConfig = FEATURES):
    self.config = config
    self.half = (config.window_size - 1) // 2
    self.n_blocks = -(-2 * self.half // config.hop)
    self.n_samples = 0
    self.n_frames = 0  # frames returned so far
    # Padded signal as ``cfp.padded_signal`` lays it out: frame k is
    # padded[k * hop : k * hop + 2L]; self._buf starts at frame n_frames.
    self._buf = np.zeros(self.half - (config.hop - 1), np.float32)
    self._precise = cfp_lib._float64_fft_supported()  # pylint: disable=protected-access
    self._consts = cfp_lib._device_constants(config, self._precise)  # pylint: disable=protected-access
    self._cum = np.concatenate([[0.0],
                                np.cumsum(cfp_lib.frame_window(config) ** 2)])

  @property
  def lookahead(self) -> int:
    """Samples after a frame's centre that it waits for (L = 1024)."""
    return self.half

  def _inv_norms(self, k0: int, count: int, n_total=None) -> np.ndarray:
    """1 / ``cfp.frame_norms`` of frames [k0, k0 + count), same arithmetic."""
    centres = (np.arange(k0, k0 + count) + 1) * self.config.hop - 1
    lo = -np.minimum(self.half, centres)
    hi = (np.full_like(centres, self.half) if n_total is None else
          np.minimum(self.half, n_total - 1 - centres))
    norms = np.sqrt(self._cum[hi + self.half] - self._cum[lo + self.half])
    return (1.0 / norms).astype(np.float64 if self._precise else np.float32)

  def _frames(self, count: int, n_total=None) -> np.ndarray:
    """Computes the next ``count`` frames: float32 [count, 3, n_bins]."""
    hop, outs, done = self.config.hop, [], 0
    while done < count:
      size = min(MAX_CFP_CHUNK, 1 << ((count - done).bit_length() - 1))
      length = (size + self.n_blocks - 1) * hop
      signal = self._buf[done * hop:done * hop + length]
      signal = np.concatenate([signal,
                               np.zeros(length - len(signal), np.float32)])
      inv = self._inv_norms(self.n_frames + done, size, n_total)
      with jax.enable_x64(self._precise):
        outs.append(np.asarray(cfp_lib._cfp_chunk(  # pylint: disable=protected-access
            signal, inv, *self._consts, config=self.config,
            precise=self._precise)))
      done += size
    self._buf = self._buf[count * hop:]
    self.n_frames += count
    return np.concatenate(outs)

  def push(self, samples: np.ndarray) -> np.ndarray:
    """Appends 16 kHz float32 samples [n]; returns the frames now final."""
    self._buf = np.concatenate([self._buf, np.asarray(samples, np.float32)])
    self.n_samples += len(samples)
    # Frame k is final once n_samples >= (k + 1) * hop + L.
    ready = (self.n_samples - self.half) // self.config.hop - self.n_frames
    if ready <= 0:
      return np.zeros((0, 3, self.config.n_bins), np.float32)
    return self._frames(ready)

  def flush(self) -> np.ndarray:
    """The remaining frames, as ``cfp.compute_cfp`` ends the clip."""
    n = self.n_samples
    rest = self.config.n_frames(n) - self.n_frames
    if rest <= 0:
      return np.zeros((0, 3, self.config.n_bins), np.float32)
    # The original never reads the clip's last sample (cfp.padded_signal).
    last = self.half - (self.config.hop - 1) + n - 1 - self.n_frames * self.config.hop
    if 0 <= last < len(self._buf):
      self._buf[last] = 0.0
    return self._frames(rest, n_total=n)

  def warm_up(self) -> None:
    """Compiles every chunk shape, so no push triggers a compile."""
    size = 1
    while size <= MAX_CFP_CHUNK:
      length = (size + self.n_blocks - 1) * self.config.hop
      with jax.enable_x64(self._precise):
        cfp_lib._cfp_chunk(np.zeros(length, np.float32),  # pylint: disable=protected-access
                           self._inv_norms(0, size), *self._consts,
                           config=self.config, precise=self._precise)
      size *= 2
