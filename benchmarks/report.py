"""What every benchmark script records beside its figures, and where.

Each script in benchmarks/ prints its figures and rewrites its own
``## section`` of benchmarks/RESULTS.md (``update_results``), headed by the
machine (``machine_info``: cores, CPU model, jax version, backend, date) and
the load average before and after (``load_avg``), since machines of one type
differ from one sitting to the next.
"""

import argparse
import datetime
import json
import os
import pathlib
import platform
import resource
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / 'benchmarks' / 'RESULTS.md'
SHARED = ROOT.parent / 'shared'
# The authors' released weights (some benchmarks' default).
RELEASED = (SHARED / 'reference' / 'msfcn' /
            'train_single_for_pitch_epoch_22.pkl')


def parse_args(doc: str, **defaults) -> argparse.Namespace:
  """A benchmark's command line: ``--NAME`` per default, and --no_results.

  Args:
    doc: the benchmark's module docstring (its first line describes it).
    **defaults: each option's default; its type is the option's.
  """
  parser = argparse.ArgumentParser(description=doc.splitlines()[0])
  for name, default in defaults.items():
    parser.add_argument(f'--{name}', type=type(default), default=default)
  parser.add_argument('--no_results', action='store_true')
  return parser.parse_args()


def load_avg() -> str:
  """The 1/5/15-minute load averages as ``uptime`` prints them."""
  return ', '.join(f'{x:.2f}' for x in os.getloadavg())


def machine_info() -> str:
  """One line: cores, CPU model, jax version and backend, date."""
  import jax  # pylint: disable=g-import-not-at-top
  info = {}
  with open('/proc/cpuinfo', encoding='utf-8') as f:
    for line in f:
      key, _, value = line.partition(':')
      info.setdefault(key.strip(), value.strip())
  cpu = (f'{info.get("model name", platform.processor())} (family '
         f'{info.get("cpu family", "?")} model {info.get("model", "?")}, '
         f'{float(info.get("cpu MHz", 0)):.0f} MHz)')
  date = datetime.datetime.now().strftime('%Y-%m-%d %H:%M')
  return (f'{os.cpu_count()} cores (nproc), {cpu}; jax {jax.__version__}, '
          f'backend {jax.default_backend()}; {date}')


def update_results(section: str, body: str) -> None:
  """Rewrites the ``## section`` of RESULTS.md, keeping every other section."""
  text = RESULTS.read_text(encoding='utf-8') if RESULTS.exists() else (
      '# Benchmark results\n\nWritten by the scripts in benchmarks/ (each '
      'rewrites its own section).\n')
  head = f'## {section}'
  block = f'{head}\n\n{body.strip()}\n'
  parts = text.split('\n## ')
  kept = [parts[0].rstrip() + '\n'] + ['## ' + p.rstrip() + '\n'
                                       for p in parts[1:]]
  idx = next((i for i, p in enumerate(kept) if p.startswith(head + '\n')),
             None)
  if idx is None:
    kept.append(block)
  else:
    kept[idx] = block
  RESULTS.write_text('\n'.join(kept), encoding='utf-8')


def best_time(timers, repeats: int, *, warm_up: bool = True):
  """Seconds of the fastest of ``repeats`` calls, JAX's results waited for.

  Args:
    timers: a function of no arguments, or a dict of them; a dict's are
      called in turn, so that a change of machine load hits all alike.
    repeats: timed calls of each.
    warm_up: first one untimed call of each (JAX compiles on it).

  Returns:
    a float for one function, else a dict of floats with ``timers``' keys.
  """
  import jax  # pylint: disable=g-import-not-at-top
  fns = timers if isinstance(timers, dict) else {None: timers}
  if warm_up:
    for fn in fns.values():
      jax.block_until_ready(fn())
  best = dict.fromkeys(fns, float('inf'))
  for _ in range(repeats):
    for key, fn in fns.items():
      start = time.perf_counter()
      jax.block_until_ready(fn())
      best[key] = min(best[key], time.perf_counter() - start)
  return best if isinstance(timers, dict) else best[None]


def peak_rss_mib() -> float:
  """Peak resident memory of this process (Linux ru_maxrss is in KiB)."""
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bundled_name() -> str:
  """'bundled dense10 step N, exported DATE' (from its info.json).

  The date tells two bundles of the same step apart (the plain and the
  robust all740 runs both stopped at 2,800).
  """
  from jaxmelody.inference import weights  # pylint: disable=g-import-not-at-top
  info = weights.PRETRAINED_DIR / 'dense10' / 'info.json'
  try:
    info = json.loads(info.read_text(encoding='utf-8'))
    step, created = info['scores']['step'], info['created'][:10]
  except (OSError, ValueError, KeyError):
    step, created = '?', '?'
  return f'bundled dense10 step {step}, exported {created}'


def clip_logits(model, source, cache):
  """[(logits [T, 257], times [T], reference Hz [T])] of every clip.

  Args:
    model: an ``engine.InferenceModel``.
    source: a dataset of examples with 'cfp', 'times' and 'f0_hz'.
    cache: an .npz file that keeps the logits between runs, or ''. It is
      used only if it holds as many clips as ``source`` and the first
      clip's logits are this model's (other weights: computed again).
  """
  import tqdm  # pylint: disable=g-import-not-at-top
  if cache and os.path.isfile(cache):
    with np.load(cache) as z:
      cached = [(z[f'l{i}'], z[f't{i}'], z[f'r{i}'])
                for i in range(int(z['n']))]
    if len(cached) == len(source) and np.allclose(
        model.logits(source[0]['cfp']), cached[0][0], atol=1e-3):
      return cached
    print(f'note: {cache} holds the logits of other weights or clips; '
          'computing them again', file=sys.stderr)
  clips = []
  for i in tqdm.trange(len(source), desc='logits', unit='clip'):
    example = source[i]
    clips.append((model.logits(example['cfp']),
                  np.asarray(example['times'], np.float64),
                  np.asarray(example['f0_hz'], np.float64)))
  if cache:
    arrays = {'n': len(clips)}
    for i, (l, t, r) in enumerate(clips):
      arrays.update({f'l{i}': l, f't{i}': t, f'r{i}': r})
    np.savez(cache, **arrays)
  return clips
