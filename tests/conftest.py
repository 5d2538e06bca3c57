"""Shared pytest fixtures and helpers (``from conftest import ...``).

Real-data tests read ``../shared`` (the corpora and the authors' reference
files, beside the checkout) and skip with a reason when it is absent, so the
suite passes on a stranger's machine too.
"""

import importlib.util
import os
import pathlib

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / 'shared'


def load_config(name: str, *recipe: str):
  """``configs/<name>.py``'s ``get_config(*recipe)``, loaded by path as
  ``--config=configs/<name>.py:<recipe>`` loads it."""
  spec = importlib.util.spec_from_file_location(
      f'_test_config_{name}', str(ROOT / 'configs' / f'{name}.py'))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(*recipe)


def assert_rel_close(got, want, tolerance: float, what=''):
  """Asserts ||got - want|| <= tolerance * ||want|| (Frobenius norms).

  Args:
    got, want: arrays of one shape; ``want`` must be finite.
    tolerance: the largest difference norm relative to ``want``'s norm.
    what: named in the failure message.
  """
  got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
  assert got.shape == want.shape, (what, got.shape, want.shape)
  assert np.isfinite(want).all(), what
  diff, norm = np.linalg.norm(got - want), np.linalg.norm(want)
  assert diff <= tolerance * norm, (what, diff, norm)


@pytest.fixture(scope='module')
def songs(tmp_path_factory):
  """A folder of synthetic clips: 'a/take.wav', 'b/take.flac' (two clips of
  one stem), 'a/solo.wav', 'a, b.wav' (a comma in the name) and
  'a/broken.wav' and 'broken.wav' (not audio)."""
  import soundfile as sf  # pylint: disable=g-import-not-at-top
  from jaxmelody.data import synth  # pylint: disable=g-import-not-at-top
  root = tmp_path_factory.mktemp('songs')
  for i, rel in enumerate(('a/take.wav', 'b/take.flac', 'a/solo.wav')):
    (root / rel).parent.mkdir(exist_ok=True)
    sf.write(root / rel, synth.synthesize(i, 0.6 + 0.2 * i).audio, 16000)
  sf.write(root / 'a, b.wav', synth.synthesize(1, 1.0).audio, 16000)
  for broken in ('a/broken.wav', 'broken.wav'):
    (root / broken).write_text('not audio\n' * 40)
  return root


@pytest.fixture(scope='session', autouse=True)
def private_cache_dir(tmp_path_factory):
  """Compiled programs go to a folder of the test session, not the user's
  cache (``runtime.CACHE_ENV``; subprocesses inherit it)."""
  folder = tmp_path_factory.mktemp('jaxmelody_cache')
  before = os.environ.get('JAXMELODY_CACHE_DIR')
  os.environ['JAXMELODY_CACHE_DIR'] = str(folder)
  yield folder
  if before is None:
    os.environ.pop('JAXMELODY_CACHE_DIR', None)
  else:
    os.environ['JAXMELODY_CACHE_DIR'] = before


@pytest.fixture(scope='session')
def shared_dir() -> pathlib.Path:
  """The ``../shared`` folder, or a skip that says why the test cannot run."""
  if not (SHARED / 'data').is_dir():
    pytest.skip(f'{SHARED} is absent: real-data test needs the MIR-1K/ADC2004 '
                'corpora and the authors\' reference files there')
  return SHARED


@pytest.fixture(scope='session')
def load_script():
  """A function that imports ``scripts/<name>`` (not a package) as a module."""
  def load(name: str):
    path = ROOT / 'scripts' / name
    spec = importlib.util.spec_from_file_location(f'_{path.stem}', str(path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
  return load


@pytest.fixture(scope='session')
def save_random_weights():
  """Writes random weights for a model config as a pretrained-style folder.

  Returns:
    save(model_config, folder) -> variables: ``network.random_variables`` of
    the model written to ``folder / 'variables.msgpack'``.
  """
  import flax.serialization  # pylint: disable=g-import-not-at-top
  from jaxmelody.model import network  # pylint: disable=g-import-not-at-top

  def save(model_config, folder):
    variables = network.random_variables(network.create_model(model_config))
    (folder / 'variables.msgpack').write_bytes(
        flax.serialization.msgpack_serialize(variables))
    return variables

  return save


@pytest.fixture(scope='module')
def dense10_weights(tmp_path_factory, save_random_weights):
  """A folder of random weights of the default (dense10) model."""
  from jaxmelody import default_config  # pylint: disable=g-import-not-at-top
  folder = tmp_path_factory.mktemp('dense10_weights')
  save_random_weights(default_config.get_config().model, folder)
  return folder


@pytest.fixture(params=['numpy', 'numba'])
def loop(request, monkeypatch):
  """Runs a test with each of the two Viterbi loops (numpy for short clips
  in a fresh process, numba for long ones): both must be librosa's."""
  # pylint: disable-next=g-import-not-at-top
  from jaxmelody.inference import viterbi_loops
  monkeypatch.setattr(viterbi_loops, 'uses_numba',
                      lambda n_steps: request.param == 'numba')
  return request.param
