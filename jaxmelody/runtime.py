"""Process settings: glibc malloc on huge pages, and stopping on a signal.

XLA:CPU allocates its output and scratch buffers anew on every execution.
glibc serves blocks that large with a fresh ``mmap``, so the kernel faults
in (and zeroes) every 4 KiB page at first touch, often more time than the
arithmetic around it. With the glibc tunable ``glibc.malloc.hugetlb=1``
(glibc >= 2.35) malloc asks for transparent huge pages (2 MiB): far fewer
faults (``python benchmarks/train_profile.py`` counts them per training
step; ``benchmarks/train_speed.py`` times both settings). Tunables are read when a process starts, so
``run.py`` re-executes itself once with the setting; a library user sets it
in the environment (``GLIBC_TUNABLES=glibc.malloc.hugetlb=1 python ...``).
Other C libraries and older glibc ignore it.
"""

import os
import signal
import sys
import threading

TUNABLES = 'GLIBC_TUNABLES'
HUGE_PAGES = 'glibc.malloc.hugetlb=1'
# Set to 1 to keep the environment as it is (no re-execution).
OPT_OUT = 'JAXMELODY_KEEP_MALLOC'


def is_tuned(environ=None) -> bool:
  """True if the environment already asks malloc for huge pages."""
  environ = os.environ if environ is None else environ
  return 'glibc.malloc.hugetlb' in environ.get(TUNABLES, '')


def tuned_environ(environ=None) -> dict[str, str]:
  """A copy of the environment with the huge-page malloc setting added."""
  environ = dict(os.environ if environ is None else environ)
  if not is_tuned(environ):
    environ[TUNABLES] = ':'.join(
        t for t in (environ.get(TUNABLES, ''), HUGE_PAGES) if t)
  return environ


def reexec_with_tuned_malloc() -> None:
  """Restarts this process with huge-page malloc, unless it has it already.

  Call first thing in a command-line entry point (before heavy imports).
  Nothing happens off Linux, when the setting is present, or when
  ``JAXMELODY_KEEP_MALLOC=1``; otherwise this does not return (same
  interpreter, same arguments and options, same process id).
  """
  if (not sys.platform.startswith('linux') or is_tuned()
      or os.environ.get(OPT_OUT) == '1'):
    return
  argv = list(getattr(sys, 'orig_argv', [sys.executable] + sys.argv))
  sys.stdout.flush()
  sys.stderr.flush()
  os.execve(sys.executable, [sys.executable] + argv[1:], tuned_environ())


class StopOnSignal:
  """Turns SIGINT/SIGTERM into a request to stop at the next safe point.

  Inside ``with StopOnSignal() as stop:`` a signal only sets
  ``stop.requested``; the training loop checks it after each step, saves
  that step (parameters, optimizer, data position) and raises
  ``errors.Interrupted``, so nothing is lost and the run resumes exactly. A
  second Ctrl-C interrupts at once. Only the main thread can own signals;
  elsewhere this is a no-op.
  """

  def __init__(self):
    self.requested = False
    self._previous = {}

  def __enter__(self):
    if threading.current_thread() is threading.main_thread():
      for sig in (signal.SIGINT, signal.SIGTERM):
        self._previous[sig] = signal.signal(sig, self._handle)
    return self

  def _handle(self, signum, frame):
    del frame
    if self.requested and signum == signal.SIGINT:
      raise KeyboardInterrupt
    self.requested = True
    print('stopping after this step; saving a checkpoint (Ctrl-C again to '
          'stop at once)', file=sys.stderr, flush=True)

  def __exit__(self, *exc):
    for sig, handler in self._previous.items():
      signal.signal(sig, handler)
