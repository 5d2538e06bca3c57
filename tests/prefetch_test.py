"""prefetch.AudioLoader: the worker's results are load_audio's, in order.

The worker runs as it does in the ``jaxmelody`` command: in a fresh process
that has not imported JAX (the test process has).
"""

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from jaxmelody import errors
from jaxmelody.apps import prefetch
from jaxmelody.frontend import audio as audio_lib

_CHECK_WORKER = r'''
import json, os, signal, sys
import multiprocessing
import numpy as np
from jaxmelody import errors
from jaxmelody.apps import prefetch
from jaxmelody.frontend import audio as audio_lib

paths = sys.argv[1:]
report = {'can_fork': prefetch.can_fork()}
with prefetch.AudioLoader(paths, res_type='polyphase') as loader:
  report['forked'] = loader._pool is not None
  same = []
  for path in paths:
    try:
      got = loader.load(path, 'polyphase')
    except errors.AudioError as e:
      got = str(e)
    try:
      want = audio_lib.load_audio(path, res_type='polyphase')
    except errors.AudioError as e:
      want = str(e)
    same.append(got == want if isinstance(want, str)
                else bool(np.array_equal(got, want)))
  report['same'] = same
  workers = multiprocessing.active_children()
  report['workers'] = len(workers)
  for child in workers:  # a worker that dies: the next file loads here
    os.kill(child.pid, signal.SIGKILL)
    child.join()
  loader._todo.extend(paths[:1])
  report['after_kill'] = bool(np.array_equal(
      loader.load(paths[0], 'polyphase'), audio_lib.load_audio(paths[0])))
report['left'] = len(multiprocessing.active_children())
report['jax'] = 'jax' in sys.modules
print(json.dumps(report))
'''


@pytest.fixture(name='files')
def _files(tmp_path):
  rng = np.random.default_rng(0)
  stereo = tmp_path / 'stereo44k.wav'
  sf.write(stereo, rng.uniform(-0.5, 0.5, (44100, 2)), 44100)
  mono = tmp_path / 'mono16k.flac'
  sf.write(mono, rng.uniform(-0.5, 0.5, 8000), 16000)
  text = tmp_path / 'notes.wav'
  text.write_text('not audio\n')
  return [str(stereo), str(text), str(mono)]


def test_worker_gives_what_load_audio_gives(files):
  out = subprocess.run([sys.executable, '-c', _CHECK_WORKER, *files],
                       capture_output=True, text=True, timeout=120,
                       check=True)
  report = json.loads(out.stdout)
  assert report['can_fork'] == (sys.platform == 'linux')
  if not report['forked']:
    pytest.skip('no worker can be forked on this platform')
  assert report['same'] == [True, True, True]  # the text file: same error
  assert report['workers'] == 1
  assert report['after_kill']
  assert report['left'] == 0 and not report['jax']
  assert not out.stderr


def test_no_worker_once_jax_is_imported(files):
  import jax  # pylint: disable=g-import-not-at-top,unused-import
  assert not prefetch.can_fork()
  with prefetch.AudioLoader(files, res_type='polyphase') as loader:
    assert loader._pool is None
    np.testing.assert_array_equal(loader.load(files[2], 'polyphase'),
                                  audio_lib.load_audio(files[2]))
    with pytest.raises(errors.AudioError, match='text file'):
      loader.load(files[1], 'polyphase')


def test_out_of_order_or_other_resampler_loads_in_process(files):
  with prefetch.AudioLoader(files, res_type='polyphase',
                            worker=False) as loader:
    np.testing.assert_array_equal(
        loader.load(files[0], 'soxr_hq'),
        audio_lib.load_audio(files[0], res_type='soxr_hq'))
