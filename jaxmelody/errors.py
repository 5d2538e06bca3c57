"""The project's exception types, and the exit status they mean.

The commands (``run.py``, ``jaxmelody``, ``jaxmelody-beam``) and the
scripts that take a user's files run through ``exit_status``, which turns
any ``JaxMelodyError`` (or a file the system refuses, ``OSError``) into one
``error: <what>: <why>`` line on stderr and exit status 2, so every message
must read well on its own.
"""

import sys
from typing import Callable


class JaxMelodyError(Exception):
  """Base class of every error caused by bad input, files or flags."""


class AudioError(JaxMelodyError):
  """An audio file or array that cannot be used (missing, corrupt, too short, NaN)."""


class LabelError(JaxMelodyError):
  """A pitch annotation file that is missing or malformed."""


class DatasetError(JaxMelodyError):
  """A dataset that is missing, incomplete or cannot be built."""


class CheckpointError(JaxMelodyError):
  """A checkpoint that is missing, corrupt or does not fit the model."""


class ConfigError(JaxMelodyError):
  """A configuration value or flag that makes no sense."""


class Interrupted(JaxMelodyError):
  """SIGINT/SIGTERM stopped a run after saving what it had reached."""


def _describe_os_error(error: OSError) -> str:
  """``<path>: <reason>`` for an OSError, in the words of ``error:`` lines."""
  paths = [p for p in (error.filename, error.filename2) if p is not None]
  reason = error.strerror or str(error)
  return ': '.join([*map(str, paths), reason])


def exit_status(run: Callable[[], int], *,
                interrupted: str = 'nothing more was done') -> int:
  """Runs a command's body and returns its exit status.

  Args:
    run: the body; returns the status of a run that went to its end.
    interrupted: what a Ctrl-C leaves behind, for its ``error:`` line.

  Returns:
    ``run()``'s status; 2 after ``error: <message>`` on stderr for a
    ``JaxMelodyError`` or an ``OSError`` (a file or folder that cannot be
    read or written: the path and the system's reason, no traceback); 130
    after ``stopped: <message>`` for ``Interrupted`` (a signal, what the
    run reached saved) or after
    ``error: interrupted: <interrupted>`` for a Ctrl-C.
  """
  try:
    return run()
  except Interrupted as e:
    print(f'stopped: {e}', file=sys.stderr)
    return 130
  except JaxMelodyError as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  except OSError as e:
    print(f'error: {_describe_os_error(e)}', file=sys.stderr)
    return 2
  except KeyboardInterrupt:
    print(f'error: interrupted: {interrupted}', file=sys.stderr)
    return 130
