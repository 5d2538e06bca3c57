"""Speed of the JAX CFP front end against the NumPy reference of the same math.

Usage (from the repository root)::

  python benchmarks/cfp_speed.py [--seconds 60] [--repeats 3] [--no_results]

Both run on a 60 s synthetic clip (noise plus gliding harmonic tones, fixed
seed); JAX is warmed up once (compilation), then each is timed best of
``--repeats``. Prints both real-time factors (audio seconds per wall second),
the largest difference between the two, and as its last line
``speedup: <numpy seconds / jax seconds>``. Rewrites its section of
benchmarks/RESULTS.md (command, machine, load average, the printed lines)
unless --no_results.
"""

import argparse
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
# pylint: disable=g-import-not-at-top,wrong-import-position
import jax
from jaxmelody import cfp_numpy
from jaxmelody import cfp
from jaxmelody.features import FEATURES


def synthetic_clip(seconds: float, seed: int = 0) -> np.ndarray:
  """Noise plus three harmonic tones with vibrato: float32 [seconds * sr]."""
  rng = np.random.default_rng(seed)
  sr = FEATURES.sample_rate
  t = np.arange(int(seconds * sr)) / sr
  audio = 0.02 * rng.standard_normal(len(t))
  for f0, rate in ((110.0, 0.3), (220.0, 5.0), (440.0, 0.1)):
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.03 * np.sin(2 * np.pi * rate * t)))
    phase /= sr
    for h in range(1, 6):
      audio += 0.1 / h * np.sin(h * phase)
  return audio.astype(np.float32)


def best_time(fn, repeats: int) -> tuple[float, np.ndarray]:
  """Best wall time of ``repeats`` calls of ``fn`` and its last result."""
  best, out = float('inf'), None
  for _ in range(repeats):
    start = time.perf_counter()
    out = fn()
    best = min(best, time.perf_counter() - start)
  return best, out


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--seconds', type=float, default=60.0)
  parser.add_argument('--repeats', type=int, default=3)
  parser.add_argument('--no_results', action='store_true')
  args = parser.parse_args()
  from benchmarks.report import (load_avg, machine_info,
                                          update_results)
  load_before = load_avg()
  lines = []

  def say(line):
    print(line, flush=True)
    lines.append(line)

  audio = synthetic_clip(args.seconds)
  say(f'clip: {args.seconds:.0f} s, {FEATURES.n_frames(len(audio))} frames; '
      f'jax {jax.__version__} on {jax.default_backend()}, '
      f'{jax.device_count()} device(s); numpy {np.__version__}')

  start = time.perf_counter()
  cfp.compute_cfp(audio)  # compiles
  say(f'jax first call (compile + run): {time.perf_counter() - start:.2f} s')
  jax_s, jax_out = best_time(lambda: cfp.compute_cfp(audio), args.repeats)
  np_s, np_out = best_time(lambda: cfp_numpy.cfp_numpy(audio), args.repeats)

  diff = float(np.abs(jax_out - np_out).max())
  say(f'numpy (float64, complex FFTs): {np_s:.3f} s, '
      f'real-time factor {args.seconds / np_s:.1f}x')
  say(f'jax (jit, chunked): {jax_s:.3f} s, '
      f'real-time factor {args.seconds / jax_s:.1f}x')
  say(f'max |jax - numpy|: {diff:.2e}')
  if not diff <= 1e-4:
    raise SystemExit(f'error: cfp_speed: JAX and NumPy disagree by {diff:.2e}')
  say(f'speedup: {np_s / jax_s:.2f}')
  if not args.no_results:
    command = ' '.join(['python benchmarks/cfp_speed.py', *sys.argv[1:]])
    update_results('CFP front end (cfp_speed.py)', '\n'.join([
        f'Command: `{command}`  ', f'Machine: {machine_info()}  ',
        f'Load average before: {load_before}; after: {load_avg()}', '',
        '```', *lines, '```']))


if __name__ == '__main__':
  main()
