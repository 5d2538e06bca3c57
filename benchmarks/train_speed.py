"""Training throughput of dense10: frames per second per device.

Usage (from the repository root)::

  python benchmarks/train_speed.py [--steps 3] [--dtypes float32,bfloat16]

For each compute dtype (``config.model.dtype``) it builds configs/dense10.py's
train state and the jitted, data-parallel ``train.jit_train_step`` over all
devices, feeds synthetic arrays of the default batch (16 clips x 256 frames,
inputs uniform in [0, 1) like min-max-scaled CFP, random targets), runs one
step to compile, then times ``--steps`` steps (each blocked until done) and
reports the median as frames/s per device = batch x frames / step time /
devices. On a 2-core CPU one step takes tens of seconds: keep ``--steps``
small. Prints the figures and rewrites this script's section of
benchmarks/RESULTS.md.
"""

import argparse
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
# pylint: disable=g-import-not-at-top,wrong-import-position
import jax
from jax.sharding import NamedSharding, PartitionSpec as P
from benchmarks.inference_speed import load_avg, machine_info, update_results
from jaxmelody import predict
from jaxmelody import train
from jaxmelody.features import FEATURES


def synthetic_batch(batch: int, frames: int, seed: int = 0) -> dict:
  """Arrays shaped like the input pipeline's batches.

  Returns:
    {'x': float32 [B, 256, frames, 3], 'target': int32 [B, frames],
     'mask': float32 [B, frames]}.
  """
  rng = np.random.default_rng(seed)
  return {
      'x': rng.random((batch, FEATURES.n_bins, frames, 3), dtype=np.float32),
      'target': rng.integers(0, FEATURES.n_classes, (batch, frames),
                             dtype=np.int32),
      'mask': np.ones((batch, frames), np.float32)}


def measure(config, steps: int) -> dict:
  """Compiles one train step, then times ``steps`` more.

  Returns:
    {'compile_s', 'step_s' (median), 'steps_s' (all), 'frames_per_s_per_device',
     'loss' (last), 'load'}.
  """
  mesh = train.make_mesh()
  state = train.create_train_state(config, mesh)
  step_fn = train.jit_train_step(mesh)
  frames = config.data.crop_frames
  batch = jax.device_put(synthetic_batch(config.train.batch_size, frames),
                         NamedSharding(mesh, P('data')))
  start = time.perf_counter()
  state, metrics = step_fn(state, batch)
  jax.block_until_ready(metrics)
  compile_s = time.perf_counter() - start
  times = []
  for _ in range(steps):
    start = time.perf_counter()
    state, metrics = step_fn(state, batch)
    jax.block_until_ready(metrics)
    times.append(time.perf_counter() - start)
  step_s = float(np.median(times))
  per_device = config.train.batch_size * frames / step_s / mesh.size
  return {'compile_s': compile_s, 'step_s': step_s, 'steps_s': times,
          'frames_per_s_per_device': per_device,
          'loss': float(metrics['loss']), 'load': load_avg()}


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--steps', type=int, default=3,
                      help='timed steps per dtype (after one compile step)')
  parser.add_argument('--dtypes', default='float32,bfloat16')
  parser.add_argument('--no_results', action='store_true',
                      help='do not rewrite benchmarks/RESULTS.md')
  args = parser.parse_args()

  config = predict.default_config()  # configs/dense10.py
  devices = jax.devices()
  lines = [
      f'Command: `python benchmarks/train_speed.py'
      f'{" " + " ".join(sys.argv[1:]) if sys.argv[1:] else ""}`  ',
      f'Machine: {machine_info()}  ',
      f'Load average before: {load_avg()}  ',
      f'dense10, batch {config.train.batch_size} x '
      f'{config.data.crop_frames} frames, synthetic arrays, '
      f'{len(devices)} {devices[0].platform} device(s); median of '
      f'{args.steps} step(s) after one compile step.', '',
      '| dtype | compile + 1st step (s) | step (s, median) | frames/s per '
      'device | load avg after |', '|---|---|---|---|---|']
  for dtype in args.dtypes.split(','):
    config.model.dtype = dtype
    r = measure(config, args.steps)
    steps = ', '.join(f'{s:.1f}' for s in r['steps_s'])
    print(f'{dtype}: compile {r["compile_s"]:.1f} s, steps [{steps}] s, '
          f'median {r["step_s"]:.2f} s -> {r["frames_per_s_per_device"]:.0f} '
          f'frames/s per device (loss {r["loss"]:.3f}; load {r["load"]})',
          flush=True)
    lines.append(f'| {dtype} (CPU) | {r["compile_s"]:.1f} | {r["step_s"]:.2f} |'
                 f' {r["frames_per_s_per_device"]:.0f} | {r["load"]} |')
  lines.append('| float32 / bfloat16 (GPU) | not measured | not measured | '
               'not measured | no accelerator lent to this task |')
  body = '\n'.join(lines)
  print(body)
  if not args.no_results:
    update_results('Training speed (train_speed.py)', body)


if __name__ == '__main__':
  main()
