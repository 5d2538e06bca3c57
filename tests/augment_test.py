"""data.augment: draws are reproducible, renderings exact and in time."""

import numpy as np
import pytest

from jaxmelody.data import augment

SR = 16000


def _signal(seconds=1.0):
  """A harmonic tone with clicks (for alignment), peak 0.3."""
  t = np.arange(int(SR * seconds)) / SR
  x = 0.2 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 660 * t)
  x[::4000] += 0.3
  return x.astype(np.float32)


def _lag(reference, rendered):
  """Samples by which ``rendered`` trails ``reference`` (cross-correlation)."""
  n = len(reference)
  corr = np.correlate(rendered, reference, 'full')[n - 50:n + 50]
  return int(np.argmax(corr)) - 50


def _condition(family, seed=0):
  rng = np.random.default_rng(seed)
  return augment._draw_one(rng, family)  # pylint: disable=protected-access


def test_draw_is_reproducible_and_ordered():
  draws = [augment.draw(np.random.default_rng([3, k])) for k in range(200)]
  again = [augment.draw(np.random.default_rng([3, k])) for k in range(200)]
  assert draws == again
  counts = {len(d) for d in draws}
  assert counts == {1, 2}
  seen = {c.family for d in draws for c in d}
  assert seen == set(augment.FAMILIES)
  for d in draws:
    order = [augment.FAMILIES.index(c.family) for c in d]
    assert order == sorted(order) and len(set(order)) == len(order)


def test_drawn_parameters_stay_in_their_ranges():
  for k in range(100):
    rng = np.random.default_rng(k)
    assert 10 <= augment._draw_one(rng, 'noise')['snr_db'] <= 20
    assert -20 <= augment._draw_one(rng, 'gain')['gain_db'] <= 6
    assert augment._draw_one(rng, 'mp3')['kbps'] in (64, 80, 96)
    eq = augment._draw_one(rng, 'eq')
    if eq['kind'] != 'band_limit':
      assert -12 <= eq['gain_db'] <= 12


@pytest.mark.parametrize('family', augment.FAMILIES)
def test_each_family_changes_the_clip_but_keeps_length_range_and_timing(
    family):
  x = _signal()
  c = _condition(family)
  y = augment.apply(x, (c,), SR)
  assert y.shape == x.shape and y.dtype == np.float32
  assert np.isfinite(y).all() and np.abs(y).max() <= 1.0
  assert not np.allclose(y, x, atol=1e-4), f'{c} left the clip unchanged'
  # Filters shift phase by a few samples (band-limiting: 4, 0.25 ms); a
  # time shift that matters for 16 ms frames would be far more.
  assert abs(_lag(x, y)) <= 8, f'{c} shifted the clip in time'
  np.testing.assert_array_equal(y, augment.apply(x, (c,), SR))


def test_noise_is_added_at_the_drawn_snr():
  x = _signal()
  c = _condition('noise', seed=5)
  y = augment.apply(x, (c,), SR)
  snr = 10 * np.log10(np.mean(x ** 2) / np.mean((y - x) ** 2))
  assert snr == pytest.approx(c['snr_db'], abs=0.3)


def test_gain_scales_and_loud_gain_clips():
  x = _signal()
  quiet = augment.Condition('gain', (('gain_db', -20.0),))
  np.testing.assert_allclose(augment.apply(x, (quiet,), SR), 0.1 * x,
                             rtol=1e-4, atol=1e-6)
  loud = augment.Condition('gain', (('gain_db', 6.0),))
  y = augment.apply(2 * x, (loud,), SR)  # peaks 0.6, doubled: clipped
  assert np.abs(y).max() == 1.0
  assert np.abs(2 * x).max() < 1.0


def test_unknown_family_is_refused():
  with pytest.raises(ValueError, match='unknown degradation family'):
    augment._draw_one(np.random.default_rng(0), 'vinyl')
