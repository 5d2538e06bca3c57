"""The one place that owns the audio and feature constants.

Everything else (CFP front end, label table, frame times, model input size)
derives from ``FEATURES``. The values are those of the paper authors' released
code (see ``../shared/reference/msfcn/README.md``).
"""

import dataclasses
import functools

import numpy as np


@dataclasses.dataclass(frozen=True)
class FeatureConfig:
  """Frozen description of the CFP front end and the frame grid.

  Attributes:
    sample_rate: Rate (Hz) every clip is resampled to before the CFP.
    hop: Hop between feature frames, in samples (256 = 16 ms at 16 kHz).
    freq_resolution: STFT frequency resolution in Hz; ``n_fft`` derives from it.
    window_size: Length of the symmetric Blackman-Harris window (odd).
    gammas: Power-law exponents for [spectrum, GC, GCoS].
    fmin: Lowest centre frequency of the log-frequency rows (Hz).
    fmax: Upper frequency limit of the log-frequency rows (Hz).
    bins_per_octave: Log-frequency resolution of the rows.
    n_bins: Number of log-frequency rows kept (the model's frequency height).
  """
  sample_rate: int = 16000
  hop: int = 256
  freq_resolution: float = 2.0
  window_size: int = 2049
  gammas: tuple[float, float, float] = (0.24, 0.6, 1.0)
  fmin: float = 31.0
  fmax: float = 1250.0
  bins_per_octave: int = 48
  n_bins: int = 256

  @property
  def n_fft(self) -> int:
    """FFT length: ``sample_rate / freq_resolution`` (8000 points)."""
    return int(round(self.sample_rate / self.freq_resolution))

  @property
  def frame_seconds(self) -> float:
    """Duration of one hop in seconds (0.016 s)."""
    return self.hop / self.sample_rate

  @property
  def n_classes(self) -> int:
    """Output rows of the model: ``n_bins`` pitches plus the no-melody row."""
    return self.n_bins + 1

  @property
  def min_samples(self) -> int:
    """Shortest clip (in samples at ``sample_rate``) that yields one frame."""
    return 2 * self.hop

  def n_frames(self, n_samples: int) -> int:
    """Number of frames for a clip: ``ceil(n_samples / hop) - 1``."""
    return max(0, -(-n_samples // self.hop) - 1)

  def frame_times(self, n_frames: int) -> np.ndarray:
    """Centre times in seconds of frames ``0..n_frames-1``: ``(k + 1) * hop / sr``.

    Returns:
      float64 array [n_frames].
    """
    return (np.arange(n_frames, dtype=np.float64) + 1.0) * self.frame_seconds

  @functools.cached_property
  def center_freqs(self) -> np.ndarray:
    """The 257 log-spaced centre frequencies ``fmin * 2**(i / bins_per_octave)``.

    Row ``k < n_bins`` of the CFP sits at ``center_freqs[k]``; the extra entry
    closes the last triangular filter.

    Returns:
      float64 array [n_bins + 1].
    """
    i = np.arange(self.n_bins + 1, dtype=np.float64)
    return self.fmin * 2.0 ** (i / self.bins_per_octave)


FEATURES = FeatureConfig()
