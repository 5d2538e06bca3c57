"""benchmarks/report.py: the logits cache the accuracy benchmarks share."""

import numpy as np

from benchmarks import report


class _Model:
  """logits(cfp) = cfp * scale: two scales stand for two sets of weights."""

  def __init__(self, scale):
    self.scale = scale
    self.calls = 0

  def logits(self, cfp):
    self.calls += 1
    return np.asarray(cfp, np.float32) * self.scale


def _source(n=3):
  return [{'cfp': np.full((4, 2), i + 1.0), 'times': np.arange(4) * 0.016,
           'f0_hz': np.zeros(4)} for i in range(n)]


def test_the_cache_serves_the_same_weights_and_not_others(tmp_path, capsys):
  cache = str(tmp_path / 'logits.npz')
  first = report.clip_logits(_Model(1.0), _source(), cache)
  same = _Model(1.0)
  again = report.clip_logits(same, _source(), cache)
  assert same.calls == 1  # only the first clip, to check the cache
  assert all(np.array_equal(a[0], b[0]) for a, b in zip(first, again))
  # Other weights: the cache is not theirs, and is written again.
  other = _Model(2.0)
  fresh = report.clip_logits(other, _source(), cache)
  assert other.calls == 1 + 3
  assert np.array_equal(fresh[2][0], np.full((4, 2), 6.0))
  assert 'other weights' in capsys.readouterr().err
  # Fewer clips than the cache holds: computed again too.
  fewer = _Model(2.0)
  assert len(report.clip_logits(fewer, _source(2), cache)) == 2
  assert fewer.calls == 2
