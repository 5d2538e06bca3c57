"""Build time and size on disk of the TFDS datasets.

  python -m benchmarks.dataset_build [--datasets mir1k/centered,mir1k/msfcn,adc2004,synthetic_melody]
      [--manual_root ../shared/data] [--no_results]

Builds each dataset from scratch into a fresh temporary data_dir (never
into a folder that training reads), and prints its build time (wall clock,
one build), its size on disk (every file of the built version folder) and
its splits. ``mir1k/msfcn`` is mir1k with the authors' label times
(``config.data.mir1k_label_offset_s=0.01``). Rewrites its section of
benchmarks/RESULTS.md unless --no_results.
"""

import argparse
import os
import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
# pylint: disable=g-import-not-at-top,wrong-import-position

if __name__ == '__main__' and not __package__:
  # `python benchmarks/dataset_build.py` from the repository root: rerun as
  # the module, so that the repository's packages import.
  os.execv(sys.executable,
           [sys.executable, '-m', 'benchmarks.dataset_build', *sys.argv[1:]])
# pylint: disable=wrong-import-position
from configs import dense10
from jaxmelody.data import datasets

SECTION = 'Dataset builds (dataset_build.py)'
DEFAULT = 'mir1k/centered,mir1k/msfcn,adc2004,synthetic_melody'


def data_config(spec: str, manual_root: str, data_dir: str):
  """config.data for 'name' or 'mir1k/<label config>'."""
  config = dense10.get_config().data
  name, _, variant = spec.partition('/')
  config.name = name
  config.manual_root = manual_root
  config.data_dir = data_dir
  if name == 'mir1k':
    offsets = {v: k for k, v in datasets.MIR1K_CONFIGS.items()}
    config.mir1k_label_offset_s = offsets[variant or 'centered']
  return name, config


def build_one(spec: str, manual_root: str) -> tuple[float, int, dict]:
  """(seconds, bytes on disk, {split: clips}) of one fresh build."""
  with tempfile.TemporaryDirectory() as tmp:
    name, config = data_config(spec, manual_root, tmp)
    tick = time.perf_counter()
    builder = datasets.build(name, config)
    seconds = time.perf_counter() - tick
    splits = {k: v.num_examples for k, v in builder.info.splits.items()}
    return seconds, datasets.disk_size(builder), splits


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--datasets', default=DEFAULT)
  parser.add_argument('--manual_root', default=str(ROOT.parent / 'shared' /
                                                   'data'))
  parser.add_argument('--no_results', action='store_true')
  args = parser.parse_args(argv)
  rows = ['| dataset | splits (clips) | build time (s) | size on disk (MB) |',
          '|---|---|---|---|']
  for spec in args.datasets.split(','):
    seconds, size, splits = build_one(spec, args.manual_root)
    shown = ', '.join(f'{k} {v}' for k, v in sorted(splits.items()))
    rows.append(f'| `{spec}` | {shown} | {seconds:.0f} | {size / 1e6:.0f} |')
    print(rows[-1], flush=True)
  if not args.no_results:
    from benchmarks.report import (load_avg, machine_info,
                                            update_results)
    update_results(SECTION, f'Command: `python -m benchmarks.dataset_build '
                   f'--datasets {args.datasets}`  \nMachine: {machine_info()}'
                   f'  \nLoad average after: {load_avg()}\n\n'
                   + '\n'.join(rows))


if __name__ == '__main__':
  main()
