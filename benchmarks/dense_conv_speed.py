"""Forward speed of the dense layers' convolutions: XLA's against shifted.

Usage (from the repository root)::

  python benchmarks/dense_conv_speed.py [--batch 16] [--repeats 3]
      [--no_results]

For each of dense10's five dense layers (3x3, dilation 3/6/12/18/24, input
channels 3/13/23/33/43, 10 outputs) on a batch x 256 x 256 input, times
``jax.lax.conv_general_dilated`` (``conv_kernels.xla_conv``) against
``conv_kernels._shifted_conv`` (one matrix product to 9 x 10 columns, then
nine shifted adds), each jitted, best of ``--repeats`` after a warm-up call,
and prints their ratio and relative difference. ``conv_kernels`` uses the
shifted form for forward passes with at most ``_SHIFTED_MAX_FEATURES``
outputs and dilation > 1; this is the measurement behind that rule. Writes
its section of benchmarks/RESULTS.md unless ``--no_results``.
"""

import argparse
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# pylint: disable=g-import-not-at-top,wrong-import-position,protected-access
import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.report import load_avg, machine_info, update_results
from jaxmelody import conv_kernels
from jaxmelody import runtime

SECTION = 'Dense-layer forward convolutions (dense_conv_speed.py)'
LAYERS = ((3, 3), (13, 6), (23, 12), (33, 18), (43, 24))  # (channels, rate)
FEATURES = 10


def best_time(fn, *args, repeats: int) -> float:
  """Seconds of the fastest of ``repeats`` calls after one warm-up call."""
  jax.block_until_ready(fn(*args))
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    times.append(time.perf_counter() - start)
  return min(times)


def measure(batch: int, repeats: int) -> list[dict]:
  """One row per dense layer: times (s), ratio and relative difference."""
  rng = np.random.default_rng(0)
  rows = []
  for channels, rate in LAYERS:
    x = jnp.asarray(rng.normal(size=(batch, 256, 256, channels)), jnp.float32)
    kernel = jnp.asarray(rng.normal(size=(3, 3, channels, FEATURES)),
                         jnp.float32)
    xla = jax.jit(lambda a, k, d=rate: conv_kernels.xla_conv(a, k, d))
    shifted = jax.jit(lambda a, k, d=rate: conv_kernels._shifted_conv(a, k, d))
    want = xla(x, kernel)
    diff = float(jnp.linalg.norm(shifted(x, kernel) - want)
                 / jnp.linalg.norm(want))
    t_xla = best_time(xla, x, kernel, repeats=repeats)
    t_shifted = best_time(shifted, x, kernel, repeats=repeats)
    rows.append({'channels': channels, 'rate': rate, 'xla_s': t_xla,
                 'shifted_s': t_shifted, 'ratio': t_xla / t_shifted,
                 'rel_diff': diff})
  return rows


def report(batch: int, repeats: int, rows: list[dict]) -> str:
  lines = [
      f'Command: `python benchmarks/dense_conv_speed.py --batch {batch} '
      f'--repeats {repeats}`  ',
      f'{machine_info()}  ',
      f'Load average before: {load_avg()}  ',
      f'Input {batch} x 256 x 256 x C, 3x3 kernels, {FEATURES} outputs, '
      f'float32; best of {repeats} after a warm-up call.',
      '',
      '| input channels | dilation | XLA conv (ms) | shifted (ms) '
      '| XLA / shifted | relative difference |',
      '|---|---|---|---|---|---|']
  for r in rows:
    lines.append(f'| {r["channels"]} | {r["rate"]} | {1e3 * r["xla_s"]:.0f} '
                 f'| {1e3 * r["shifted_s"]:.0f} | {r["ratio"]:.2f}x '
                 f'| {r["rel_diff"]:.1e} |')
  total_xla = sum(r['xla_s'] for r in rows)
  total_shifted = sum(r['shifted_s'] for r in rows)
  lines += ['', f'All five: XLA {1e3 * total_xla:.0f} ms, shifted '
            f'{1e3 * total_shifted:.0f} ms, '
            f'{total_xla / total_shifted:.2f}x.']
  return '\n'.join(lines)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--batch', type=int, default=16)
  parser.add_argument('--repeats', type=int, default=3)
  parser.add_argument('--no_results', action='store_true')
  args = parser.parse_args(argv)
  runtime.reexec_with_tuned_malloc()
  text = report(args.batch, args.repeats, measure(args.batch, args.repeats))
  print(text)
  if not args.no_results:
    update_results(SECTION, text)


if __name__ == '__main__':
  main()
