"""Which files a command was asked to process, and what to call their outputs.

Light on purpose: the ``jaxmelody`` command expands its arguments before it
imports JAX, so that decoding can start in a second process
(``prefetch.py``).

  expand_audio(spec, default='') -> (paths, problems)
  stems(paths) -> output stems, unique
  DEFAULT_OUTPUT_DIR: where outputs go when neither a folder nor a workdir
    is named
"""

import glob
import os
import pathlib

from jaxmelody import errors

DEFAULT_OUTPUT_DIR = 'melody_out'


def expand_audio(spec, default: str = ''):
  """Turns ``--audio`` (or the command's arguments) into file paths.

  Args:
    spec: a file, a folder (its audio files, sorted), a glob, or a comma-
      separated list of those; or a list of such items (taken whole, so a
      name may contain a comma).
    default: the file an empty ``spec`` means (``write_files``: the bundled
      demo clip).

  Returns:
    (paths, problems): paths to try (a missing file is kept, so it fails
    with its own message later) and an AudioError per item that named
    nothing.
  """
  # Here, not at the top: the command's --help reads DEFAULT_OUTPUT_DIR
  # without paying for numpy and librosa.
  from jaxmelody.frontend import audio as audio_lib  # pylint: disable=g-import-not-at-top
  if isinstance(spec, (list, tuple)):
    items = [str(s) for s in spec] or [default]
  else:
    items = [s.strip() for s in (spec or default).split(',')]
  paths, problems = [], []
  for item in filter(None, items):
    if os.path.isdir(item):
      found = sorted(os.path.join(item, name) for name in os.listdir(item)
                     if name.lower().endswith(audio_lib.AUDIO_EXTENSIONS)
                     and os.path.isfile(os.path.join(item, name)))
      if not found:
        problems.append(errors.AudioError(
            f'{item}: folder holds no audio files (looked for '
            f'{", ".join(audio_lib.AUDIO_EXTENSIONS)})'))
      paths.extend(found)
    elif glob.has_magic(item) and not os.path.exists(item):
      found = sorted(p for p in glob.glob(item) if os.path.isfile(p))
      if not found:
        problems.append(errors.AudioError(f'{item}: no file matches'))
      paths.extend(found)
    else:
      paths.append(item)
  return paths, problems


def stems(paths):
  """Output stems, one per path, unique: a clash takes the first free
  ``x-2``, ``x-3``, ... (so ``a/x``, ``b/x``, ``c/x-2`` give ``x``, ``x-2``,
  ``x-2-2``)."""
  taken, out = set(), []
  for path in paths:
    stem = candidate = pathlib.Path(path).stem
    n = 1
    while candidate in taken:
      n += 1
      candidate = f'{stem}-{n}'
    taken.add(candidate)
    out.append(candidate)
  return out
