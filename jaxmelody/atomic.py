"""Writing a file so that no reader ever sees it half written."""

import contextlib
import os
import tempfile


@contextlib.contextmanager
def atomic_path(path):
  """Yields a temporary path beside ``path``, renamed to it on success.

  Nothing is left at ``path`` (nor a temporary file) if the body raises, so
  a failure never leaves a partial output.
  """
  folder, name = os.path.split(os.path.abspath(path))
  fd, tmp = tempfile.mkstemp(prefix=f'.{name}.', suffix='.tmp', dir=folder)
  os.close(fd)
  try:
    yield tmp
    # mkstemp makes the file private (0600); give it the usual permissions.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)
