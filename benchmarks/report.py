"""What every benchmark script records beside its figures, and where.

Each script in benchmarks/ prints its figures and rewrites its own
``## section`` of benchmarks/RESULTS.md (``update_results``), headed by the
machine (``machine_info``: cores, CPU model, jax version, backend, date) and
the load average before and after (``load_avg``), since machines of one type
differ from one sitting to the next.
"""

import datetime
import os
import pathlib
import platform
import resource

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / 'benchmarks' / 'RESULTS.md'
SHARED = ROOT.parent / 'shared'
# The authors' released weights (some benchmarks' default).
RELEASED = (SHARED / 'reference' / 'msfcn' /
            'train_single_for_pitch_epoch_22.pkl')


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


def peak_rss_mib() -> float:
  """Peak resident memory of this process (Linux ru_maxrss is in KiB)."""
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
