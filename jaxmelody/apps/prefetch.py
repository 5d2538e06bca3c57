"""Decoding audio in a second process, one file ahead of the model.

A fresh ``jaxmelody`` process on a song spends about as long importing
scipy.signal, decoding and resampling as importing JAX and loading the
model (the start-up line of ``benchmarks/time_to_melody.py``). The two
share nothing, so ``AudioLoader`` forks one worker before JAX is imported:
the worker decodes the first file while the main process imports, and then
file i + 1 while the model runs on file i.

What ``load`` returns or raises is what ``audio.load_audio`` would in the
main process. Without a worker (not Linux; JAX already imported, whose
threads make forking unsafe; or a worker that died) files load in the main
process.

  AudioLoader(paths, res_type=..., worker=None): a context manager;
      load(path, res_type) -> float32 [n] at 16 kHz
  can_fork() -> whether a worker can be forked now
"""

import collections
import concurrent.futures
import multiprocessing
import signal
import sys

from jaxmelody.frontend import audio as audio_lib


def can_fork() -> bool:
  """True on Linux before JAX is imported (no XLA threads to fork)."""
  return sys.platform == 'linux' and 'jax' not in sys.modules


def _ignore_sigint() -> None:
  # Ctrl-C reaches the whole process group: the main process reports it and
  # shuts the pool down, which the worker's own KeyboardInterrupt would race.
  signal.signal(signal.SIGINT, signal.SIG_IGN)


class AudioLoader:
  """``audio.load_audio`` over a known list of files, decoded ahead.

  Args:
    paths: the files in the order they will be loaded.
    res_type: the resampler the worker uses (``load_audio``'s argument).
    ahead: files decoded beyond the one being loaded (each a float32 copy
      of the audio in memory).
    worker: fork a worker; None = when ``can_fork()``.
  """

  def __init__(self, paths, *, res_type: str, ahead: int = 1,
               worker: bool | None = None):
    self.res_type = res_type
    self._ahead = ahead
    self._todo = collections.deque(paths)
    self._pending = collections.deque()  # (path, future), in load order
    self._pool = None
    if can_fork() if worker is None else worker:
      self._pool = concurrent.futures.ProcessPoolExecutor(
          max_workers=1, mp_context=multiprocessing.get_context('fork'),
          initializer=_ignore_sigint)
      self._submit()  # forks now, while the process has no other threads

  def _submit(self) -> None:
    # The file to be loaded next and ``ahead`` after it.
    while self._pool and self._todo and len(self._pending) <= self._ahead:
      try:
        future = self._pool.submit(audio_lib.load_audio, self._todo[0],
                                   res_type=self.res_type)
      except concurrent.futures.process.BrokenProcessPool:
        self.close()  # the worker died (e.g. killed for memory)
        return
      self._pending.append((self._todo.popleft(), future))

  def load(self, path, res_type: str):
    """``audio.load_audio(path, res_type=res_type)``, decoded ahead if it can.

    Args:
      path: the next file of ``paths`` (another one loads here, unprefetched).
      res_type: as ``load_audio``'s.

    Returns:
      float32 [n] mono samples at 16 kHz.

    Raises:
      errors.AudioError: as ``load_audio``.
    """
    self._submit()
    if (self._pending and self._pending[0][0] == path
        and res_type == self.res_type):
      _, future = self._pending.popleft()
      try:
        return future.result()
      except concurrent.futures.process.BrokenProcessPool:
        self.close()  # load it here instead
    return audio_lib.load_audio(path, res_type=res_type)

  def close(self) -> None:
    """Stops the worker (after the file it is decoding, if any)."""
    if self._pool is not None:
      self._pool.shutdown(wait=True, cancel_futures=True)
      self._pool = None
      self._pending.clear()

  def __enter__(self):
    return self

  def __exit__(self, *exc_info):
    self.close()
