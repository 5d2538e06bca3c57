"""Where a dense10 training step's time goes: a jax.profiler breakdown.

Usage (from the repository root)::

  python -m benchmarks.train_profile [--batch 4] [--top 12] [--variants ...]

For each variant of ``train_speed.VARIANTS`` (default: plain, plain_tuned,
fast), a fresh worker process compiles ``train.train_step`` (loss, gradients
and the Adam update) on a synthetic batch of ``--batch`` clips x 256 frames,
runs it once, then records two steps with ``jax.profiler`` (a Perfetto trace)
and counts the minor page faults of the steps (``getrusage``). It prints per
variant: the step's wall time, page faults per step, the time of XLA's
operations summed by kind, and the slowest operations with what they compute
(from the compiled HLO's metadata). Operation times add up to more than the
wall time where XLA runs two operations at once (one per core).

Kinds: ``conv forward`` / ``conv backward`` (convolutions and their
gradients, as XLA emits them), ``matmul`` (dot products: folded_train's
convolution gradients), ``elementwise`` (every other fusion: BatchNorm,
SELU, concatenation, padding, copies and the loss). Rewrites its section
of benchmarks/RESULTS.md unless ``--no_results``.
"""

import argparse
import collections
import gzip
import json
import os
import pathlib
import re
import resource
import sys
import tempfile
import time

if __name__ == '__main__' and not __package__:
  # `python benchmarks/train_profile.py` from the repository root: rerun as
  # the module, so that the repository's packages import.
  os.execv(sys.executable,
           [sys.executable, '-m', 'benchmarks.train_profile', *sys.argv[1:]])
# pylint: disable=wrong-import-position
from benchmarks import train_speed

SECTION = "Where the training step's time goes (train_profile.py)"


def _kind(hlo: str, name: str) -> tuple[str, str]:
  """(kind, short description) of the HLO instruction ``name``."""
  match = re.search(r'%' + re.escape(name) + r' = (\S+) .*', hlo)
  if not match:
    return 'other', ''
  line = match.group(0)
  shape = match.group(1).split('{')[0]
  op = re.search(r'op_name="([^"]*)"', line)
  op = op.group(1) if op else ''
  backward = 'transpose(' in op
  if 'conv_general_dilated' in op or name.startswith('convolution'):
    kind = 'conv backward' if backward else 'conv forward'
  elif 'dot_general' in op or name.startswith(('dot', 'ynn_fusion')):
    kind = 'matmul'
  else:
    kind = 'elementwise'
  last = op.rsplit('/', 1)[-1] if op else name
  return kind, f'{shape} {last}{" (backward)" if backward else ""}'


def op_profile(hlo: str, run, runs: int = 2, top: int = 12) -> dict:
  """Times of XLA's operations in one call of a compiled function.

  Records ``runs`` calls of ``run`` (a function of no arguments that calls
  the compiled program once and waits for it; call it once before, so
  nothing compiles here) with ``jax.profiler`` (a Perfetto trace) and counts
  their minor page faults (``getrusage``). ``hlo``: the program's compiled
  HLO text, which names each operation's kind.

  Returns:
    {'wall_ms': per call, 'faults': per call, 'kinds': {kind: ms per call},
    'top': the ``top`` slowest operations as [ms, kind, description]}.
  """
  import jax
  trace_dir = tempfile.mkdtemp(prefix='op_profile_')
  faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
  start = time.perf_counter()
  jax.profiler.start_trace(trace_dir, create_perfetto_trace=True)
  for _ in range(runs):
    run()
  jax.profiler.stop_trace()
  wall = (time.perf_counter() - start) / runs
  faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / runs
  trace = sorted(pathlib.Path(trace_dir).rglob('*.json.gz'))[-1]
  events = json.load(gzip.open(trace))
  events = events['traceEvents'] if isinstance(events, dict) else events
  per_op = collections.Counter()
  for e in events:
    if e.get('ph') == 'X' and 'dur' in e and not e['name'].startswith(
        ('Thunk', '$', 'Slinky', 'PjRt', 'Pjit')):
      per_op[e['name']] += e['dur'] / (1e3 * runs)  # ms per call
  kinds, rows = collections.Counter(), []
  for name, ms in per_op.items():
    kind, what = _kind(hlo, name)
    kinds[kind] += ms
    rows.append((ms, kind, what or name))
  rows.sort(reverse=True)
  return {'wall_ms': wall * 1e3, 'faults': faults, 'kinds': dict(kinds),
          'top': rows[:top]}


def _worker(args) -> None:
  import jax
  from jax.sharding import NamedSharding, PartitionSpec as P
  from configs import dense10
  from jaxmelody.training import train
  config = dense10.get_config()
  config.train.fast_step = train_speed.VARIANTS[args.worker][0]
  config.train.batch_size = args.batch
  mesh = train.make_mesh()
  state = train.create_train_state(config, mesh)
  step = train.jit_train_step(mesh)
  batch = jax.device_put(
      train_speed.synthetic_batch(args.batch, config.data.crop_frames),
      NamedSharding(mesh, P('data')))
  hlo = step.lower(state, batch).compile().as_text()
  live = [state]

  def run():  # the step donates its state: feed each call the last one's
    live[0], metrics = step(live[0], batch)
    jax.block_until_ready(metrics)

  run()
  r = op_profile(hlo, run, top=args.top)
  print('RESULT ' + json.dumps({**r, 'malloc': train_speed.malloc_label()}),
        flush=True)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--batch', type=int, default=4)
  parser.add_argument('--top', type=int, default=12)
  parser.add_argument('--variants', default='plain,plain_tuned,fast')
  parser.add_argument('--no_results', action='store_true')
  parser.add_argument('--worker', choices=sorted(train_speed.VARIANTS),
                      help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.worker:
    _worker(args)
    return
  from benchmarks.report import load_avg, machine_info
  lines = [f'Command: `python -m benchmarks.train_profile'
           f'{" " + " ".join(sys.argv[1:]) if sys.argv[1:] else ""}`  ',
           f'Machine: {machine_info()}  ',
           f'Load average before: {load_avg()}  ',
           f'dense10 train step (loss, gradients, Adam), batch {args.batch} x '
           '256 frames; times in ms per step; operation times summed over '
           'both cores.', '']
  for name in args.variants.split(','):
    r = train_speed.run_variant(
        name, 0, False, module='benchmarks.train_profile',
        extra=['--batch', str(args.batch), '--top', str(args.top)])
    kinds = ', '.join(f'{k} {v:.0f}' for k, v in sorted(
        r['kinds'].items(), key=lambda kv: -kv[1]))
    lines += [f'### {name} (malloc: {r["malloc"]})', '',
              f'Step wall time {r["wall_ms"]:.0f} ms, '
              f'{r["faults"]:.0f} minor page faults per step. By kind: '
              f'{kinds}.', '', '| ms | kind | operation |', '|---|---|---|']
    lines += [f'| {ms:.1f} | {kind} | `{what}` |' for ms, kind, what in r['top']]
    lines.append('')
    print('\n'.join(lines[-len(r['top']) - 6:]), flush=True)
  lines.append(f'Load average after: {load_avg()}')
  if not args.no_results:
    from benchmarks.report import update_results
    update_results(SECTION, '\n'.join(lines))


if __name__ == '__main__':
  main()
