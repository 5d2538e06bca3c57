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

``use_compilation_cache`` turns on JAX's persistent compilation cache in the
user's cache folder, so a second process loads the compiled model instead
of compiling it again. ``quiet_libraries`` keeps library chatter off a
command's terminal.
"""

import logging
import os
import signal
import sys
import threading
import warnings

TUNABLES = 'GLIBC_TUNABLES'
HUGE_PAGES = 'glibc.malloc.hugetlb=1'
# Set to 1 to keep the environment as it is (no re-execution).
OPT_OUT = 'JAXMELODY_KEEP_MALLOC'
# Where jaxmelody keeps its caches (default: the user's cache folder, e.g.
# $XDG_CACHE_HOME/jaxmelody); 'off' (or 0) keeps nothing.
CACHE_ENV = 'JAXMELODY_CACHE_DIR'
# The compiled programs of one model take ~10-50 MB; the least recently used
# go beyond this size.
COMPILATION_CACHE_BYTES = 2 << 30
# Compilations shorter than this are not worth a file (JAX's default: 1 s;
# the CFP's chunk compiles in less on a fast machine).
COMPILATION_CACHE_MIN_SECONDS = 0.2


def quiet_libraries() -> None:
  """Keeps library warnings and absl/JAX log lines off the terminal."""
  warnings.filterwarnings('ignore')
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  for name in ('absl', 'jax', 'jax._src.xla_bridge', 'orbax',
               'tensorflow_datasets'):
    logging.getLogger(name).setLevel(logging.ERROR)


def cache_dir(environ=None) -> str | None:
  """jaxmelody's cache folder: $JAXMELODY_CACHE_DIR, else the user's.

  The user's cache folder is ``platformdirs.user_cache_dir('jaxmelody')``:
  $XDG_CACHE_HOME/jaxmelody (default ~/.cache/jaxmelody) on Linux,
  ~/Library/Caches/jaxmelody on macOS, %LOCALAPPDATA% on Windows.

  Returns:
    an absolute path (not created), or None when the variable says 'off'
    or '0'.
  """
  environ = os.environ if environ is None else environ
  chosen = environ.get(CACHE_ENV, '').strip()
  if chosen.lower() in ('off', '0'):
    return None
  if chosen:
    return os.path.abspath(os.path.expanduser(chosen))
  import platformdirs  # pylint: disable=g-import-not-at-top
  return platformdirs.user_cache_dir('jaxmelody', appauthor=False)


def use_compilation_cache() -> str | None:
  """Turns on JAX's persistent compilation cache in ``cache_dir()/jax``.

  Idempotent; call before the first compilation that should be cached (the
  model's: ``inference.api.get_model`` does). A cache the process configured
  itself (``jax_compilation_cache_dir``, e.g. from $JAX_COMPILATION_CACHE_DIR)
  is left as it is. Processes may share the folder: the cache is bounded
  (``COMPILATION_CACHE_BYTES``), so JAX reads and writes its entries under a
  file lock (the ``filelock`` package), and an unreadable entry is compiled
  again, never an error. An unwritable folder means no cache, silently.

  Returns:
    the folder in use, or None (cache off or unwritable).
  """
  import jax  # pylint: disable=g-import-not-at-top
  current = jax.config.jax_compilation_cache_dir
  if current is not None:
    return current
  root = cache_dir()
  if root is None:
    return None
  path = os.path.join(root, 'jax')
  try:
    os.makedirs(path, exist_ok=True)
  except OSError:
    return None
  jax.config.update('jax_compilation_cache_max_size', COMPILATION_CACHE_BYTES)
  jax.config.update('jax_persistent_cache_min_compile_time_secs',
                    COMPILATION_CACHE_MIN_SECONDS)
  jax.config.update('jax_compilation_cache_dir', path)
  # A compilation before this call (none on the command's path) made JAX
  # decide, once per process, that there was no cache; ask it again.
  from jax.experimental.compilation_cache import compilation_cache  # pylint: disable=g-import-not-at-top
  compilation_cache.reset_cache()
  return path


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
