"""Speed of the JAX CFP front end against the NumPy reference of the same math.

Usage (from the repository root)::

  python -m benchmarks.cfp_speed [--seconds 60] [--repeats 3] [--no_results]

Both run on a 60 s synthetic clip (noise plus gliding harmonic tones, fixed
seed); JAX is warmed up once (compilation), then each is timed best of
``--repeats``. Prints both real-time factors (audio seconds per wall second),
the largest difference between the two, and as its last line
``speedup: <numpy seconds / jax seconds>``. Rewrites its section of
benchmarks/RESULTS.md (command, machine, load average, the printed lines)
unless --no_results.
"""

import os
import sys
import time

import jax
import numpy as np

if __name__ == '__main__' and not __package__:
  # `python benchmarks/cfp_speed.py` from the repository root: rerun as
  # the module, so that the repository's packages import.
  os.execv(sys.executable,
           [sys.executable, '-m', 'benchmarks.cfp_speed', *sys.argv[1:]])
# pylint: disable=wrong-import-position
from jaxmelody.frontend import cfp
from jaxmelody.frontend import cfp_reference
from jaxmelody.frontend.feature_config import FEATURES


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


def main():
  from benchmarks.report import (best_time, load_avg, machine_info,
                                 parse_args, update_results)
  args = parse_args(__doc__, seconds=60.0, repeats=3)
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
  jax_out = cfp.compute_cfp(audio)  # compiles
  say(f'jax first call (compile + run): {time.perf_counter() - start:.2f} s')
  np_out = cfp_reference.cfp_numpy(audio)
  jax_s = best_time(lambda: cfp.compute_cfp(audio), args.repeats,
                    warm_up=False)
  np_s = best_time(lambda: cfp_reference.cfp_numpy(audio), args.repeats,
                   warm_up=False)

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
    command = ' '.join(['python -m benchmarks.cfp_speed', *sys.argv[1:]])
    update_results('CFP front end (cfp_speed.py)', '\n'.join([
        f'Command: `{command}`  ', f'Machine: {machine_info()}  ',
        f'Load average before: {load_before}; after: {load_avg()}', '',
        '```', *lines, '```']))


if __name__ == '__main__':
  main()
