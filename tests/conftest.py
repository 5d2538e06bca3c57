"""Shared pytest fixtures.

Real-data tests read ``../shared`` (the corpora and the authors' reference
files, beside the checkout) and skip with a reason when it is absent, so the
suite passes on a stranger's machine too.
"""

import pathlib

import pytest

SHARED = pathlib.Path(__file__).resolve().parents[1].parent / 'shared'


@pytest.fixture(scope='session')
def shared_dir() -> pathlib.Path:
  """The ``../shared`` folder, or a skip that says why the test cannot run."""
  if not (SHARED / 'data').is_dir():
    pytest.skip(f'{SHARED} is absent: real-data test needs the MIR-1K/ADC2004 '
                'corpora and the authors\' reference files there')
  return SHARED


@pytest.fixture(scope='session')
def save_random_weights():
  """Writes random weights for a model config as a pretrained-style folder.

  Returns:
    save(model_config, folder) -> variables: {'params', 'batch_stats'} of
    the model's shapes (positive values, so BatchNorm variances are valid)
    written to ``folder / 'variables.msgpack'``. Shapes come from
    ``jax.eval_shape``, so the model's init is never compiled (slow on CPU).
  """
  import flax.serialization  # pylint: disable=g-import-not-at-top
  import jax  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  from jaxmelody import models  # pylint: disable=g-import-not-at-top

  def save(model_config, folder):
    model = models.create_model(model_config)
    shapes = jax.eval_shape(
        lambda: models.init_variables(model, jax.random.PRNGKey(0), frames=16))
    rng = np.random.default_rng(0)
    variables = jax.tree_util.tree_map(
        lambda s: np.abs(rng.normal(0.5, 0.2, s.shape)).astype(np.float32),
        shapes)
    (folder / 'variables.msgpack').write_bytes(
        flax.serialization.msgpack_serialize(variables))
    return variables

  return save
