"""Training throughput of dense10: the plain step against the fast one.

Usage (from the repository root)::

  python -m benchmarks.train_speed [--steps 3] [--variants ...] [--quick]

Each variant runs in a fresh worker process (so that its environment, and
the malloc setting in particular, is its own): it builds configs/dense10.py's
train state and the jitted, data-parallel ``train.jit_train_step`` over all
devices, feeds synthetic arrays of the default batch (16 clips x 256 frames,
inputs uniform in [0, 1) like min-max-scaled CFP, random targets), runs one
step to compile, then times ``--steps`` steps (each blocked until done):
frames/s per device = batch x frames / median step time / devices.

Variants (``--variants``, comma-separated):

- ``plain``: the flax module differentiated as written
  (``config.train.fast_step=False``) in the environment as it is;
- ``plain_tuned``: the same with huge-page malloc (``jaxmelody.runtime``);
- ``fast_untuned``: ``model.folded_train`` without the malloc setting;
- ``fast``: ``model.folded_train`` with huge-page malloc (what ``run.py``
  trains with);
- ``fast_eigen_st``, ``fast_ynn_dot``: ``fast`` under an XLA:CPU flag
  (``XLA_FLAGS``, in the table): Eigen single-threaded, or YNNPACK for
  matrix products only (convolutions back to Eigen).

``--rounds R`` runs the variants R times, forward then backward order
(A B C C B A ...), so that a machine that speeds up or slows down during
the run does not favour one variant; each figure is the median over all its
timed steps, and every round's frames/s is shown.

The last two lines printed are ``frames_per_s: N`` (``fast``) and
``speedup: X`` (``fast`` over ``plain``, both from this run). The script
rewrites its section of benchmarks/RESULTS.md unless ``--quick`` or
``--no_results``.
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
# pylint: disable=g-import-not-at-top,wrong-import-position

if __name__ == '__main__' and not __package__:
  # `python benchmarks/train_speed.py` from the repository root: rerun as
  # the module, so that the repository's packages import.
  os.execv(sys.executable,
           [sys.executable, '-m', 'benchmarks.train_speed', *sys.argv[1:]])
# pylint: disable=wrong-import-position
from jaxmelody import runtime

VARIANTS = {  # name: (fast_step, huge-page malloc, XLA_FLAGS)
    'plain': (False, False, ''),
    'plain_tuned': (False, True, ''),
    'fast_untuned': (True, False, ''),
    'fast': (True, True, ''),
    'fast_eigen_st': (True, True, '--xla_cpu_multi_thread_eigen=false'),
    'fast_ynn_dot': (True, True,
                     '--xla_cpu_experimental_ynn_fusion_type=individual_dot'),
}
SECTION = 'Training speed (train_speed.py)'


def synthetic_batch(batch: int, frames: int, seed: int = 0) -> dict:
  """Arrays shaped like the input pipeline's batches.

  Returns:
    {'x': float32 [B, 256, frames, 3], 'target': int32 [B, frames],
     'mask': float32 [B, frames]}.
  """
  from jaxmelody.frontend.feature_config import FEATURES
  rng = np.random.default_rng(seed)
  return {
      'x': rng.random((batch, FEATURES.n_bins, frames, 3), dtype=np.float32),
      'target': rng.integers(0, FEATURES.n_classes, (batch, frames),
                             dtype=np.int32),
      'mask': np.ones((batch, frames), np.float32)}


def measure(config, steps: int) -> dict:
  """Compiles one train step, then times ``steps`` more (in this process).

  Returns:
    {'compile_s', 'step_s' (median), 'steps_s', 'frames_per_s_per_device',
     'loss' (last), 'devices', 'platform'}.
  """
  import jax
  from jax.sharding import NamedSharding, PartitionSpec as P
  from jaxmelody.training import train
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
  return {'compile_s': compile_s, 'step_s': step_s, 'steps_s': times,
          'frames_per_s_per_device': (config.train.batch_size * frames
                                      / step_s / mesh.size),
          'loss': float(metrics['loss']), 'devices': mesh.size,
          'platform': jax.default_backend()}


def _worker(args) -> None:
  from configs import dense10
  config = dense10.get_config()
  config.train.fast_step = VARIANTS[args.worker][0]
  if args.quick:
    config.train.batch_size = 2
    config.data.crop_frames = 32
  result = measure(config, args.steps)
  result['malloc'] = malloc_label()
  print('RESULT ' + json.dumps(result), flush=True)


def malloc_label() -> str:
  """This process's GLIBC_TUNABLES, or 'default'."""
  return os.environ.get(runtime.TUNABLES, '') or 'default'


def run_variant(name: str, steps: int, quick: bool,
                module: str = 'benchmarks.train_speed', extra=()) -> dict:
  """Runs one variant's ``--worker`` in a fresh process with its own
  environment; returns the JSON its ``RESULT`` line carries."""
  env = {k: v for k, v in os.environ.items()
         if k not in (runtime.TUNABLES, runtime.OPT_OUT)}
  if VARIANTS[name][1]:
    env = runtime.tuned_environ(env)
  elif runtime.TUNABLES in os.environ and not runtime.is_tuned(os.environ):
    env[runtime.TUNABLES] = os.environ[runtime.TUNABLES]
  flags = VARIANTS[name][2]
  env['XLA_FLAGS'] = ' '.join(f for f in (env.get('XLA_FLAGS', ''), flags) if f)
  cmd = [sys.executable, '-m', module, '--worker', name, *extra]
  if module == 'benchmarks.train_speed':
    cmd += ['--steps', str(steps)] + (['--quick'] if quick else [])
  out = subprocess.run(cmd, env=env,
                       cwd=ROOT, capture_output=True, text=True, check=False)
  lines = [l for l in out.stdout.splitlines() if l.startswith('RESULT ')]
  if out.returncode or not lines:
    raise SystemExit(f'error: variant {name} failed:\n{out.stderr[-3000:]}')
  return json.loads(lines[-1][len('RESULT '):])


def alternating_rounds(names, rounds: int, measure_one, label) -> dict:
  """Measures each name ``rounds`` times, forward then backward order
  (A B C C B A ...), so a machine that speeds up or slows down during the
  run favours none; prints each measurement as ``label(name, result)``.

  Returns:
    {name: its rounds pooled (``pooled``)}, in the order of ``names``.
  """
  runs = {name: [] for name in names}
  for round_ in range(max(1, rounds)):
    for name in names if round_ % 2 == 0 else names[::-1]:
      r = measure_one(name)
      runs[name].append(r)
      steps = ', '.join(f'{s:.2f}' for s in r['steps_s'])
      print(f'{name}: compile {r["compile_s"]:.1f} s, steps [{steps}] s -> '
            f'{r["frames_per_s_per_device"]:.0f} frames/s per device'
            f'{label(name, r)}', flush=True)
  return {name: pooled(rs) for name, rs in runs.items()}


def pooled(results: list[dict]) -> dict:
  """One variant's rounds as one result: the median over all timed steps,
  the first round's compile time, each round's frames/s."""
  first = results[0]
  frames = first['frames_per_s_per_device'] * first['step_s']
  step_s = float(np.median([t for r in results for t in r['steps_s']]))
  return dict(first, step_s=step_s, frames_per_s_per_device=frames / step_s,
              per_round=[r['frames_per_s_per_device'] for r in results])


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--steps', type=int, default=3,
                      help='timed steps per variant (after one compile step)')
  parser.add_argument('--variants', default='plain,plain_tuned,fast',
                      help=f'comma-separated, of {sorted(VARIANTS)}')
  parser.add_argument('--rounds', type=int, default=1,
                      help='run the variants this many times, alternating '
                      'forward and backward order')
  parser.add_argument('--quick', action='store_true',
                      help='a tiny batch, to check the script runs; no '
                      'RESULTS.md update')
  parser.add_argument('--no_results', action='store_true',
                      help='do not rewrite benchmarks/RESULTS.md')
  parser.add_argument('--worker', choices=sorted(VARIANTS),
                      help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.worker:
    _worker(args)
    return
  names = [v for v in args.variants.split(',') if v]
  unknown = sorted(set(names) - set(VARIANTS))
  if unknown or not {'plain', 'fast'} <= set(names):
    parser.error(f'--variants must include plain and fast, of '
                 f'{sorted(VARIANTS)}; unknown: {unknown}')
  from benchmarks.report import load_avg, machine_info
  head = [f'Command: `python -m benchmarks.train_speed'
          f'{" " + " ".join(sys.argv[1:]) if sys.argv[1:] else ""}`  ',
          f'Machine: {machine_info()}  ',
          f'Load average before: {load_avg()}  ']
  rows = alternating_rounds(
      names, args.rounds,
      lambda name: run_variant(name, args.steps, args.quick),
      lambda name, r: f' (malloc {r["malloc"]}; loss {r["loss"]:.3f})')
  first = rows[names[0]]
  batch = '2 x 32' if args.quick else '16 x 256'
  lines = head + [
      f'dense10, batch {batch} frames, synthetic arrays, {first["devices"]} '
      f'{first["platform"]} device(s); each variant in its own process '
      f'({max(1, args.rounds)} round(s), alternating order), median of its '
      f'{args.steps} step(s) per round after one compile step; load average '
      f'after: {load_avg()}.', '',
      '| variant | formulation | malloc (GLIBC_TUNABLES) | XLA_FLAGS | '
      'compile + 1st step (s) | step (s) | frames/s per round | '
      'frames/s per device | vs plain |',
      '|---|---|---|---|---|---|---|---|---|']
  base = rows['plain']['frames_per_s_per_device']
  for name, r in rows.items():
    form = 'folded_train' if VARIANTS[name][0] else 'flax module'
    fps = r['frames_per_s_per_device']
    per_round = ' / '.join(f'{x:.0f}' for x in r['per_round'])
    lines.append(f'| {name} | {form} | {r["malloc"]} | '
                 f'{VARIANTS[name][2] or "-"} | {r["compile_s"]:.1f} | '
                 f'{r["step_s"]:.2f} | {per_round} | {fps:.0f} | '
                 f'{fps / base:.2f}x |')
  body = '\n'.join(lines)
  print(body)
  if not (args.quick or args.no_results):
    from benchmarks.report import update_results
    update_results(SECTION, body)
  fast = rows['fast']['frames_per_s_per_device']
  print(f'frames_per_s: {fast:.0f}')
  print(f'speedup: {fast / base:.2f}')


if __name__ == '__main__':
  main()
