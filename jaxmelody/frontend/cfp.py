"""The CFP (combined frequency and periodicity) front end, in JAX.

Reproduces the features of the paper authors' released code (Su & Yang's CFP
with hop 256, 31-1250 Hz, 48 bins per octave; see
``../shared/reference/msfcn/README.md``): three channels
[spectrum, GCoS, GC], each ``log1p`` then min-max scaled over the whole clip.

Per frame (N = 8000):
  S = |FFT_N(windowed frame)| ** 0.24                      (spectrum)
  GC = relu(real(FFT_N(S)) / sqrt(N)), first/last 13 quefrency bins zeroed,
       ** 0.6                                              (cepstrum)
  GCoS = relu(real(FFT_N(GC)) / sqrt(N)), first 16 bins zeroed, ** 1.0
and triangular filterbanks map S and GCoS (from frequency) and GC (from
quefrency, f = fs / q) to 256 log-frequency rows.

The authors use three full complex FFTs; we use exact real-input shortcuts:
S is the magnitude of a real frame's FFT, so S is even and real(FFT(S)) is
``N * irfft(S[:N/2+1])``; GC is not even (the zeroing is asymmetric: bins
0..12 at the head but the mirror of 1..13 at the tail), but only bins < N/2
of FFT(GC) are used, and those are exactly ``rfft(GC)``.

Precision: float32 throughout except the framing and the first FFT, which
are float64 where the backend has it (CPU, GPU; not TPU): float32 alone
leaves ~1e-4 errors after the 0.24 power (see ``_cfp_chunk``). With it the
features match the authors' to ~1e-5 (measured: 8e-6 at worst on the golden
clips), the output is float32.
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxmelody import errors
from jaxmelody.frontend import audio as audio_lib
from jaxmelody.frontend.feature_config import FEATURES, FeatureConfig

DEFAULT_CHUNK_FRAMES = 256  # frames per chunk: bounds the temporaries' memory
_MIN_CHUNK_FRAMES = 64


@functools.lru_cache(maxsize=8)
def filterbanks(config: FeatureConfig = FEATURES):
  """Builds the triangular log-frequency filterbanks as the authors do.

  Row 0 stays all zero (the loop of the original starts at 1). Frequencies
  are ``fs * linspace(0, 0.5, N/2)`` (2.0005 Hz per bin, not 2), while the
  bin range of each filter is found with the nominal resolution, as in the
  original. Python ``round`` (half to even) matches the original's rounding.

  Args:
    config: feature constants.

  Returns:
    (freq_fb float64 [n_bins, n_freq], quef_fb float64 [n_bins, n_quef]) with
    n_freq = round(fmax / fr) + 1 spectrum bins (626) and
    n_quef = round(fs / fmin) + 1 quefrency bins (517).
  """
  fs, fr = float(config.sample_rate), config.freq_resolution
  cen = config.center_freqs  # [n_bins + 1]
  n_freq = int(round(config.fmax / fr)) + 1
  n_quef = int(round(fs / config.fmin)) + 1
  freqs = fs * np.linspace(0, 0.5, int(round(config.n_fft / 2)))[:n_freq]
  with np.errstate(divide='ignore'):
    quef_freqs = fs / np.arange(n_quef, dtype=np.float64)  # f = fs / q

  def triangle(row, f, j):
    lo, mid, hi = cen[row - 1], cen[row], cen[row + 1]
    if lo < f[j] < mid:
      return (f[j] - lo) / (mid - lo)
    if mid < f[j] < hi:
      return (hi - f[j]) / (hi - mid)
    return 0.0

  freq_fb = np.zeros((config.n_bins, n_freq))
  quef_fb = np.zeros((config.n_bins, n_quef))
  for i in range(1, config.n_bins):
    left, right = int(round(cen[i - 1] / fr)), int(round(cen[i + 1] / fr)) + 1
    if left >= right - 1:  # narrower than two bins: a single 1
      freq_fb[i, left] = 1.0
    else:
      for j in range(left, right):
        freq_fb[i, j] = triangle(i, freqs, j)
    for j in range(int(round(fs / cen[i + 1])),
                   int(round(fs / cen[i - 1])) + 1):
      quef_fb[i, j] = triangle(i, quef_freqs, j)
  return freq_fb, quef_fb


# The minimum 4-term Blackman-Harris window's cosine coefficients.
_BLACKMAN_HARRIS = (0.35875, 0.48829, 0.14128, 0.01168)


def blackman_harris(size: int) -> np.ndarray:
  """The symmetric 4-term Blackman-Harris window, float64 [size].

  ``scipy.signal.windows.blackmanharris(size, sym=True)`` with scipy's own
  arithmetic (the same linspace, cosines and summation order), so the
  values are bitwise scipy's (tested): importing scipy.signal alone costs a
  fresh ``jaxmelody`` process 0.7-1.2 s.

  Args:
    size: the number of taps, >= 0.
  """
  if size <= 1:
    return np.ones(size)
  fac = np.linspace(-np.pi, np.pi, size)
  w = np.zeros(size)
  for k, a in enumerate(_BLACKMAN_HARRIS):
    w += a * np.cos(k * fac)
  return w


@functools.lru_cache(maxsize=8)
def frame_window(config: FeatureConfig = FEATURES) -> np.ndarray:
  """The window as the original applies it: float64 [window_size - 1].

  The original multiplies sample ``c + tau`` (tau in [-L, L), L = 1024) by
  ``h[L + tau - 1]``; at tau = -L that index is -1, i.e. ``h[-1]`` (numpy
  wrap-around). We reproduce those exact taps.
  """
  h = blackman_harris(config.window_size)
  half = (config.window_size - 1) // 2
  return h[np.arange(-half, half) + half - 1]


def frame_norms(n_samples: int, config: FeatureConfig = FEATURES):
  """L2 norm of the window part each frame actually uses: float64 [T]."""
  half = (config.window_size - 1) // 2
  centres = (np.arange(config.n_frames(n_samples)) + 1) * config.hop - 1
  lo = -np.minimum(half, centres)  # tau >= -(c): no samples before 0
  hi = np.minimum(half, n_samples - 1 - centres)  # as the original: < n - 1
  cum = np.concatenate([[0.0], np.cumsum(frame_window(config) ** 2)])
  return np.sqrt(cum[hi + half] - cum[lo + half])


def padded_signal(audio: np.ndarray, n_padded_frames: int,
                  config: FeatureConfig = FEATURES) -> np.ndarray:
  """Zero-pads ``audio`` so that frame k is ``out[k*hop : k*hop + 2L]``.

  The original never reads the last sample (tau < n - c - 1); dropping it
  here makes plain zero padding reproduce its edge frames.

  Returns:
    array [(n_padded_frames + n_blocks - 1) * hop], n_blocks = ceil(2L / hop).
  """
  half = (config.window_size - 1) // 2
  n_blocks = -(-2 * half // config.hop)
  total = (n_padded_frames + n_blocks - 1) * config.hop
  out = np.zeros(total, dtype=audio.dtype)
  body = audio[:len(audio) - 1]
  start = half - (config.hop - 1)  # frame 0 starts at sample hop - 1 - L
  # The first L - hop + 1 positions are the zeros before the signal.
  out[start:start + len(body)] = body[:max(0, total - start)]
  return out


def _power(x, gamma: float):
  """``x ** gamma`` for x >= 0, as exp(gamma * log x).

  XLA's CPU ``pow`` is several times slower; log(0) = -inf gives exactly 0.
  """
  if gamma == 1.0:
    return x
  return jnp.exp(gamma * jnp.log(x))


@functools.partial(jax.jit, static_argnames=('config', 'precise'))
def _cfp_chunk(signal, inv_norm, window, freq_fb, quef_fb, *, config,
               precise):
  """Un-normalised log1p CFP of one chunk of frames.

  The filterbanks and window are arguments, not closed-over constants: they
  stay device buffers uploaded once (cached per config), and the compiled
  program does not carry ~1 MB of literals that XLA would constant-fold.

  Args:
    signal: float32 [(C + n_blocks - 1) * hop] from ``padded_signal``.
    inv_norm: float [C] inverse window norm of each frame (float64 if precise).
    window: float [2L] window taps (float64 if precise).
    freq_fb: float32 [n_freq, n_bins] transposed frequency filterbank.
    quef_fb: float32 [n_quef, n_bins] transposed quefrency filterbank.
    config: feature constants (static).
    precise: compute the spectrum FFT in float64 (needs x64 enabled).

  Returns:
    float32 [C, 3, n_bins]: log1p of [spectrum, GCoS, GC].
  """
  n, hop, width = config.n_fft, config.hop, window.shape[0]
  n_frames = inv_norm.shape[0]
  n_blocks = -(-width // hop)
  blocks = signal.reshape(-1, hop)
  # Frame k = blocks k .. k + n_blocks - 1: static slices, no gather.
  frames = jnp.concatenate(
      [blocks[j:j + n_frames] for j in range(n_blocks)], axis=1)[:, :width]
  if precise:
    # The spectrum has valleys ~1e-9 below its peak (e.g. near Nyquist) that
    # float32 cannot resolve: its FFT error floor (~1e-7 of the peak), and even
    # rounding the windowed frame to float32 (~1e-8), becomes ~1e-4 errors
    # after the 0.24 power and the cepstrum. So frames, window and this one
    # FFT are float64 (the audio itself is exact in float32); the rest, whose
    # inputs are well conditioned, stays float32.
    frames = frames.astype(jnp.float64)
  frames = frames * window * inv_norm[:, None]

  g_spec, g_gc, g_gcos = config.gammas
  mag = jnp.abs(jnp.fft.rfft(frames, n=n)).astype(jnp.float32)
  spec = _power(mag, g_spec)  # [C, N/2 + 1]; float32 power: ~1e-5 at worst
  # real(FFT_N(S)) for the even S, scaled by 1 / sqrt(N). Removing the mean
  # first changes only quefrency 0 (zeroed below) but lowers the float32
  # FFT's error floor, which is relative to the input's norm, ~6x.
  centred = spec - jnp.mean(spec, axis=1, keepdims=True)
  ceps = jnp.fft.irfft(centred, n=n) * math.sqrt(n)  # [C, N]
  tc_idx = int(round(config.sample_rate / config.fmax))
  q = jnp.arange(n)
  ceps = jnp.where((q >= tc_idx) & (q < n - tc_idx), ceps, 0.0)
  gc = _power(jnp.maximum(ceps, 0.0), g_gc)

  n_freq, n_quef = freq_fb.shape[0], quef_fb.shape[0]
  gcos = jnp.real(jnp.fft.rfft(gc))[:, :n_freq] / math.sqrt(n)
  fc_idx = int(round(config.fmin / config.freq_resolution))
  gcos = jnp.where(jnp.arange(n_freq) >= fc_idx, jnp.maximum(gcos, 0.0), 0.0)
  gcos = _power(gcos, g_gcos)

  hi = jax.lax.Precision.HIGHEST  # keep the filterbank sums in full float32
  rows = [jnp.matmul(spec[:, :n_freq], freq_fb, precision=hi),
          jnp.matmul(gcos, freq_fb, precision=hi),
          jnp.matmul(gc[:, :n_quef], quef_fb, precision=hi)]
  return jnp.log1p(jnp.stack(rows, axis=1))


@functools.lru_cache(maxsize=8)
def _device_constants(config: FeatureConfig, precise: bool):
  freq_fb, quef_fb = filterbanks(config)
  with jax.enable_x64(precise):
    window = jnp.asarray(frame_window(config),
                         jnp.float64 if precise else jnp.float32)
  return (window,
          jnp.asarray(freq_fb.T, jnp.float32),
          jnp.asarray(quef_fb.T, jnp.float32))


@functools.lru_cache(maxsize=1)
def _float64_fft_supported() -> bool:
  """TPUs have no float64 FFT; there the spectrum FFT stays float32 (~1e-4)."""
  return jax.default_backend() != 'tpu'


def _minmax(x: np.ndarray) -> np.ndarray:
  """Scales to [0, 1]; a constant channel (e.g. silence) becomes zeros."""
  lo, hi = x.min(), x.max()
  return (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)


def compute_cfp(audio, sr: int = FEATURES.sample_rate, *,
                config: FeatureConfig = FEATURES,
                chunk_frames: int = DEFAULT_CHUNK_FRAMES) -> np.ndarray:
  """Computes the normalised CFP features of a mono clip.

  Frames are processed in chunks of ``chunk_frames`` (the last one padded),
  so memory is bounded for long songs and only one shape is compiled; a clip
  shorter than one chunk is padded to the next power of two instead (at least
  64 frames), which bounds the number of compiled shapes to a handful.

  Args:
    audio: float array [n] of samples at ``sr``.
    sr: sample rate of ``audio``; resampled (polyphase) if not
      ``config.sample_rate``.
    config: feature constants.
    chunk_frames: frames per jitted call.

  Returns:
    float32 array [3, n_bins, T], T = ``config.n_frames(n)``: channels
    [spectrum, GCoS, GC], each log1p then min-max scaled over the clip.
  """
  if sr != config.sample_rate:
    audio = audio_lib.prepare_audio(audio, sr, target_sr=config.sample_rate,
                                    res_type='polyphase')
  audio = np.asarray(audio, dtype=np.float32)
  if audio.ndim != 1:
    raise errors.AudioError(f'audio: expected mono samples [n], got shape '
                            f'{audio.shape}')
  if not np.all(np.isfinite(audio)):
    raise errors.AudioError('audio: contains NaN or infinite samples')
  if chunk_frames < 1:
    raise errors.ConfigError(f'chunk_frames: must be positive, got '
                             f'{chunk_frames}')
  n_frames = config.n_frames(len(audio))
  if n_frames == 0:
    return np.zeros((3, config.n_bins, 0), np.float32)

  chunk = chunk_frames
  if n_frames < chunk_frames:
    chunk = min(chunk_frames,
                max(_MIN_CHUNK_FRAMES, 1 << (n_frames - 1).bit_length()))
  n_chunks = -(-n_frames // chunk)
  signal = padded_signal(audio, n_chunks * chunk, config)
  precise = _float64_fft_supported()
  inv_norm = np.zeros(n_chunks * chunk,  # padded frames -> 0
                      np.float64 if precise else np.float32)
  inv_norm[:n_frames] = 1.0 / frame_norms(len(audio), config)
  consts = _device_constants(config, precise)
  hop = config.hop
  chunk_len = len(signal) - (n_chunks - 1) * chunk * hop
  outs = []
  # x64 only while tracing/running this function; everything but the one
  # spectrum FFT stays float32 (inputs are float32 and constants weak-typed).
  with jax.enable_x64(precise):
    for c in range(n_chunks):
      start = c * chunk
      outs.append(_cfp_chunk(signal[start * hop:start * hop + chunk_len],
                             inv_norm[start:start + chunk], *consts,
                             config=config, precise=precise))
    feats = np.concatenate([np.asarray(o) for o in outs])[:n_frames]
  feats = np.stack([_minmax(feats[:, ch]) for ch in range(3)])  # [3, T, F]
  return np.ascontiguousarray(feats.transpose(0, 2, 1), dtype=np.float32)


def frame_times(n_frames: int, config: FeatureConfig = FEATURES) -> np.ndarray:
  """Centre time (s) of each frame: float64 [n_frames], (k + 1) * hop / sr."""
  return config.frame_times(n_frames)
