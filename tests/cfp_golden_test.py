"""Our CFP against the authors' golden features (needs ../shared).

Each ``*.npz`` in ``../shared/reference/msfcn/cfp_golden`` holds a clip, its
sample rate and the CFP ``W`` [3, 256, T] that the authors' released code
computes from it (min-max scaled to [0, 1]). ``compute_cfp`` (float32, JAX)
must match ``W`` within 1e-4 and the float64 NumPy reference
``cfp_reference.cfp_numpy`` within 1e-6, on the same frame times and centre
frequencies.
"""

import numpy as np
import pytest

from jaxmelody.frontend import audio
from jaxmelody.frontend import cfp
from jaxmelody.frontend import cfp_reference
from jaxmelody.frontend.feature_config import FEATURES

GOLDEN = ('mir1k_abjones_1_01', 'adc2004_daisy1_resample_poly16k')


@pytest.fixture(name='golden', params=GOLDEN)
def _golden(request, shared_dir):
  """One golden file's arrays, or a skip that says which file is missing."""
  path = shared_dir / 'reference/msfcn/cfp_golden' / f'{request.param}.npz'
  if not path.is_file():
    pytest.skip(f'{path} is absent: the authors\' golden CFP features')
  with np.load(path) as z:
    return {k: z[k] for k in z.files}


def test_jax_cfp_matches_the_authors(golden):
  feats = cfp.compute_cfp(golden['audio'], int(golden['sr']))
  assert feats.dtype == np.float32
  assert feats.shape == golden['W'].shape
  assert np.abs(feats - golden['W']).max() <= 1e-4
  np.testing.assert_allclose(cfp.frame_times(feats.shape[2]), golden['time'],
                             rtol=0, atol=1e-9)
  np.testing.assert_allclose(FEATURES.center_freqs, golden['cen_freq'])


def test_numpy_reference_matches_the_authors(golden):
  feats = cfp_reference.cfp_numpy(
      audio.prepare_audio(golden['audio'], int(golden['sr'])))
  assert feats.shape == golden['W'].shape
  assert np.abs(feats - golden['W']).max() <= 1e-6  # float64 math
