"""Forward speed of the dense layers' convolutions: XLA's against shifted.

Usage (from the repository root)::

  python -m benchmarks.dense_conv_speed [--batch 16] [--repeats 3]
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
import os
import sys

# pylint: disable=protected-access
import jax
import jax.numpy as jnp
import numpy as np

if __name__ == '__main__' and not __package__:
  # `python benchmarks/dense_conv_speed.py` from the repository root: rerun as
  # the module, so that the repository's packages import.
  os.execv(sys.executable,
           [sys.executable, '-m', 'benchmarks.dense_conv_speed', *sys.argv[1:]])
# pylint: disable=wrong-import-position
from benchmarks.report import best_time, load_avg, machine_info, update_results
from jaxmelody.model import conv_kernels
from jaxmelody import runtime

SECTION = 'Dense-layer forward convolutions (dense_conv_speed.py)'
LAYERS = ((3, 3), (13, 6), (23, 12), (33, 18), (43, 24))  # (channels, rate)
FEATURES = 10


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
    t_xla = best_time(lambda: xla(x, kernel), repeats)
    t_shifted = best_time(lambda: shifted(x, kernel), repeats)
    rows.append({'channels': channels, 'rate': rate, 'xla_s': t_xla,
                 'shifted_s': t_shifted, 'ratio': t_xla / t_shifted,
                 'rel_diff': diff})
  return rows


def report(batch: int, repeats: int, rows: list[dict]) -> str:
  lines = [
      f'Command: `python -m benchmarks.dense_conv_speed --batch {batch} '
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
