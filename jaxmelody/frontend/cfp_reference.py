"""NumPy reference of the CFP front end: the authors' math, vectorised.

Float64 and three full complex FFTs per frame, as the released code, but
vectorised over frames (no per-frame Python loop) and processed in chunks of
frames so memory stays bounded. It shares only the host-side constants
(filterbanks, window taps, window norms, padding) with
``jaxmelody.frontend.cfp``; the golden test checks both against the authors' features.
"""

import numpy as np

from jaxmelody.frontend import cfp
from jaxmelody.frontend.feature_config import FEATURES, FeatureConfig


def _nonlinear(x: np.ndarray, gamma: float, cutoff: int) -> np.ndarray:
  """The original's ``nonlinear_func``: relu, zero both ends, power (in place)."""
  np.maximum(x, 0.0, out=x)
  x[:, :cutoff] = 0.0
  x[:, -cutoff:] = 0.0
  return np.power(x, gamma, out=x)


def cfp_numpy(audio, *, config: FeatureConfig = FEATURES,
              chunk_frames: int = 512) -> np.ndarray:
  """CFP features of 16 kHz mono ``audio`` with numpy.fft in float64.

  Args:
    audio: float array [n] at ``config.sample_rate``.
    config: feature constants.
    chunk_frames: frames per vectorised block.

  Returns:
    float32 array [3, n_bins, T], same layout as ``cfp.compute_cfp``.
  """
  audio = np.asarray(audio, np.float32)
  n, hop = config.n_fft, config.hop
  n_frames = config.n_frames(len(audio))
  freq_fb, quef_fb = cfp.filterbanks(config)
  window = cfp.frame_window(config)
  width = len(window)
  signal = cfp.padded_signal(audio.astype(np.float64), n_frames, config)
  inv_norm = 1.0 / cfp.frame_norms(len(audio), config)
  tc_idx = int(round(config.sample_rate / config.fmax))
  fc_idx = int(round(config.fmin / config.freq_resolution))
  g_spec, g_gc, g_gcos = config.gammas
  n_freq, n_quef = freq_fb.shape[1], quef_fb.shape[1]

  out = np.empty((n_frames, 3, config.n_bins))
  frames_view = np.lib.stride_tricks.sliding_window_view(signal, width)[::hop]
  for start in range(0, n_frames, chunk_frames):
    stop = min(start + chunk_frames, n_frames)
    frames = frames_view[start:stop] * window * inv_norm[start:stop, None]
    spec = np.abs(np.fft.fft(frames, n=n, axis=1)) ** g_spec
    ceps = _nonlinear(np.real(np.fft.fft(spec, axis=1)) / np.sqrt(n),
                      g_gc, tc_idx)
    gcos = _nonlinear(np.real(np.fft.fft(ceps, axis=1)) / np.sqrt(n),
                      g_gcos, fc_idx)
    out[start:stop, 0] = spec[:, :n_freq] @ freq_fb.T
    out[start:stop, 1] = gcos[:, :n_freq] @ freq_fb.T
    out[start:stop, 2] = ceps[:, :n_quef] @ quef_fb.T
  out = np.log1p(out).transpose(1, 2, 0)  # [3, n_bins, T]
  lo = out.min(axis=(1, 2), keepdims=True)
  span = out.max(axis=(1, 2), keepdims=True) - lo
  scaled = np.where(span > 0, (out - lo) / np.where(span > 0, span, 1.0), 0.0)
  return scaled.astype(np.float32)
