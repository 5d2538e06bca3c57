"""Training throughput of each Table III model, on one machine in one run.

Usage (from the repository root)::

  python -m benchmarks.model_train_speed [--models ...] [--steps 3]
      [--rounds 2] [--quick] [--no_results]

The training runs of the four models took sittings on different CPUs, so
their own logged frames/s do not compare; this times them side by side.
Each model's ``configs/<model>.py:all740`` (the recipe Table III uses)
trains as ``run.py`` does (the fast step, huge-page malloc), measured as
``train_speed.py`` measures its ``fast`` variant: a fresh process per model
and round, synthetic arrays of the recipe's batch (16 clips x 256 frames),
one step to compile, then ``--steps`` timed steps. Rounds alternate the
order (A B C C B A ...) so a machine that speeds up or slows down favours
no model; each figure is the median over all of a model's timed steps.

The last line printed is ``cost_vs_dense10:`` with each model's step time
over dense10's. Rewrites its section of benchmarks/RESULTS.md unless
``--quick`` or ``--no_results``.
"""

import argparse
import importlib
import json
import os
import sys

# pylint: disable=g-import-not-at-top,wrong-import-position
if __name__ == '__main__' and not __package__:
  # `python benchmarks/model_train_speed.py`: rerun as the module, so that
  # the repository's packages import.
  os.execv(sys.executable, [sys.executable, '-m',
                            'benchmarks.model_train_speed', *sys.argv[1:]])
from benchmarks import train_speed

MODELS = ('dense10', 'dense20', 'densenet', 'da_reversed')
SECTION = 'Training speed per Table III model (model_train_speed.py)'
RECIPE = 'all740'


def model_config(model: str, quick: bool = False):
  """``configs/<model>.py:all740``, or a 2 x 32-frame batch when quick."""
  config = importlib.import_module(f'configs.{model}').get_config(RECIPE)
  if quick:
    config.train.batch_size = 2
    config.data.crop_frames = 32
  return config


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--models', default=','.join(MODELS),
                      help=f'comma-separated, of {list(MODELS)}; dense10 '
                      'first or not, it is the base')
  parser.add_argument('--steps', type=int, default=3,
                      help='timed steps per model and round')
  parser.add_argument('--rounds', type=int, default=2,
                      help='alternating-order rounds')
  parser.add_argument('--quick', action='store_true',
                      help='a tiny batch, to check the script runs; no '
                      'RESULTS.md update')
  parser.add_argument('--no_results', action='store_true',
                      help='do not rewrite benchmarks/RESULTS.md')
  parser.add_argument('--worker', help=argparse.SUPPRESS)
  parser.add_argument('--model', choices=MODELS, help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.worker:  # one model's measurement, in its own process
    result = train_speed.measure(model_config(args.model, args.quick),
                                 args.steps)
    result['malloc'] = train_speed.malloc_label()
    print('RESULT ' + json.dumps(result), flush=True)
    return
  models = [m for m in args.models.split(',') if m]
  unknown = sorted(set(models) - set(MODELS))
  if unknown or 'dense10' not in models or args.steps < 1:
    parser.error(f'--models must include dense10, of {list(MODELS)} '
                 f'(unknown: {unknown}); --steps at least 1')
  from benchmarks.report import load_avg, machine_info
  lines = [f'Command: `python -m benchmarks.model_train_speed'
           f'{" " + " ".join(sys.argv[1:]) if sys.argv[1:] else ""}`  ',
           f'Machine: {machine_info()}  ',
           f'Load average before: {load_avg()}  ']
  extra = ['--steps', str(args.steps)] + (['--quick'] if args.quick else [])
  rows = train_speed.alternating_rounds(
      models, args.rounds,
      lambda model: train_speed.run_variant(
          'fast', args.steps, args.quick,
          module='benchmarks.model_train_speed',
          extra=['--model', model, *extra]),
      lambda model, r: '')
  first = rows[models[0]]
  batch = '2 x 32' if args.quick else '16 x 256'
  lines += [
      f'configs/<model>.py:{RECIPE}, fast step, malloc {first["malloc"]}, '
      f'batch {batch} frames of synthetic arrays, {first["devices"]} '
      f'{first["platform"]} device(s); a fresh process per model and round '
      f'({max(1, args.rounds)} round(s), alternating order), median of '
      f'{args.steps} step(s) per round after one compile step; load '
      f'average after: {load_avg()}.', '',
      '| model | compile + 1st step (s) | step (s) | frames/s per round | '
      'frames/s per device | step time vs dense10 |',
      '|---|---|---|---|---|---|']
  base = rows['dense10']['step_s']
  for model, r in rows.items():
    per_round = ' / '.join(f'{x:.0f}' for x in r['per_round'])
    lines.append(f'| {model} | {r["compile_s"]:.1f} | {r["step_s"]:.2f} | '
                 f'{per_round} | {r["frames_per_s_per_device"]:.0f} | '
                 f'{r["step_s"] / base:.2f}x |')
  body = '\n'.join(lines)
  print(body)
  if not (args.quick or args.no_results):
    from benchmarks.report import update_results
    update_results(SECTION, body)
  print('cost_vs_dense10: ' + ', '.join(
      f'{m} {r["step_s"] / base:.2f}' for m, r in rows.items()))


if __name__ == '__main__':
  main()
