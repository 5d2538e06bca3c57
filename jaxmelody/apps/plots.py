"""Pictures and sounds of an extracted melody, for ``--plot`` and ``--sonify``."""

import mir_eval
import numpy as np

from jaxmelody.frontend.feature_config import FEATURES

_MAX_COLUMNS = 2000  # time columns drawn; longer clips are max-pooled


def plot_melody(path, cfp, times, f0_hz, *, title: str) -> None:
  """Writes a PNG of the CFP spectrum channel with the melody over it.

  Args:
    path: output file (written as PNG whatever its name).
    cfp: float [3, 256, T] features; channel 0 (the spectrum) is drawn.
    times: float [T] frame times (s).
    f0_hz: float [T] melody (0 = no melody, not drawn).
    title: the figure's title (e.g. the file name).
  """
  # Figure without pyplot: no global state, no GUI backend, thread-safe.
  from matplotlib import ticker  # pylint: disable=g-import-not-at-top
  from matplotlib.backends.backend_agg import FigureCanvasAgg  # pylint: disable=g-import-not-at-top
  from matplotlib.figure import Figure  # pylint: disable=g-import-not-at-top

  spec = np.asarray(cfp[0], np.float32)          # [256, T]
  times = np.asarray(times, np.float64)
  n = spec.shape[1]
  step = max(1, -(-n // _MAX_COLUMNS))
  if step > 1:  # max-pool time so a long song stays a small picture
    pad = (-n) % step
    spec = np.pad(spec, ((0, 0), (0, pad)), mode='edge')
    spec = spec.reshape(spec.shape[0], -1, step).max(axis=2)
  half = FEATURES.frame_seconds / 2
  t_edges = np.linspace(times[0] - half, times[-1] + half, spec.shape[1] + 1)
  rows = np.arange(FEATURES.n_bins + 1) - 0.5   # row k sits at centre k
  f_edges = FEATURES.fmin * 2.0 ** (rows / FEATURES.bins_per_octave)

  duration = t_edges[-1] - t_edges[0]
  fig = Figure(figsize=(float(np.clip(duration / 2, 8, 24)), 4.8))
  FigureCanvasAgg(fig)
  ax = fig.add_subplot()
  mesh = ax.pcolormesh(t_edges, f_edges, spec, shading='flat', cmap='magma',
                       vmin=0.0, vmax=1.0, rasterized=True)
  melody = np.where(np.asarray(f0_hz) > 0, f0_hz, np.nan)  # gaps = no melody
  ax.plot(times, melody, color='#3ff0ff', linewidth=1.4,
          label='extracted melody (f0)')
  ax.set_yscale('log')
  ax.set_ylim(f_edges[0], f_edges[-1])
  ax.yaxis.set_major_locator(ticker.FixedLocator(
      [50, 100, 200, 400, 800, 1200]))
  ax.yaxis.set_major_formatter(ticker.ScalarFormatter())
  ax.yaxis.set_minor_formatter(ticker.NullFormatter())
  ax.set_xlabel('time (s)')
  ax.set_ylabel('frequency (Hz, log scale)')
  ax.set_title(f'{title}: melody over the CFP spectrum')
  ax.legend(loc='upper right', framealpha=0.8)
  fig.colorbar(mesh, ax=ax, pad=0.01,
               label='spectrum level (log, scaled 0-1 per clip)')
  fig.tight_layout()
  fig.savefig(path, format='png', dpi=100)


def sonify_mix(samples, sr: int, times, f0_hz) -> np.ndarray:
  """The melody as a sine tone mixed over the input, peak-normalised.

  Args:
    samples: float [n] input audio at ``sr``.
    sr: sample rate (Hz).
    times: float [T] frame times (s).
    f0_hz: float [T] melody (0 = no melody).

  Returns:
    float32 [n] in [-0.9, 0.9]: half input, half melody tone.
  """
  samples = np.asarray(samples, np.float64)
  f0_hz = np.asarray(f0_hz, np.float64)
  voiced = f0_hz > 0
  # Hold the pitch through gaps so the interpolation fades the amplitude in
  # and out instead of gliding the pitch down to 0 Hz.
  held = f0_hz.copy()
  if voiced.any():
    idx = np.where(voiced, np.arange(len(f0_hz)), 0)
    np.maximum.accumulate(idx, out=idx)
    held = f0_hz[idx]
    held[:np.argmax(voiced)] = f0_hz[np.argmax(voiced)]
  tone = mir_eval.sonify.pitch_contour(
      np.asarray(times, np.float64), held, sr,
      amplitudes=voiced.astype(np.float64), length=len(samples))
  peak = np.max(np.abs(samples)) if len(samples) else 0.0
  mix = 0.5 * tone + 0.5 * (samples / peak if peak > 0 else samples)
  top = np.max(np.abs(mix)) if len(mix) else 0.0
  if top > 0:
    mix *= 0.9 / top
  return mix.astype(np.float32)
