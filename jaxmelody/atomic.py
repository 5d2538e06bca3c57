"""Writing a file or a folder so that no reader ever sees it half written.

  atomic_path(path): a temporary file renamed to ``path`` on success.
  atomic_folder(path): a temporary folder that replaces ``path`` on success.
"""

import contextlib
import os
import pathlib
import shutil
import tempfile


def _read_umask() -> int:
  # Read once, at import: setting the umask to read it is process-wide, so
  # doing it per write would race with other threads creating files.
  umask = os.umask(0)
  os.umask(umask)
  return umask


_UMASK = _read_umask()


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
    os.chmod(tmp, 0o666 & ~_UMASK)
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)


@contextlib.contextmanager
def atomic_folder(path):
  """Yields a new empty folder beside ``path`` that replaces it on success.

  If the body raises, ``path`` keeps what it held. The earlier folder, if
  any, is removed whole once the new one is in place.
  """
  path = pathlib.Path(path).absolute()
  path.parent.mkdir(parents=True, exist_ok=True)
  new = pathlib.Path(tempfile.mkdtemp(prefix=f'.{path.name}.',
                                      dir=path.parent))
  old = new.with_name(new.name + '.old')
  try:
    yield new
    new.chmod(0o777 & ~_UMASK)  # mkdtemp's folder is private (0700)
    if path.exists():
      path.rename(old)
    new.rename(path)
  finally:
    shutil.rmtree(new, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)
