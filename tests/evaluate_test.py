"""Tests of inference.evaluate: mir_eval scoring, means over clips, outputs."""

import csv
import json
import os
import pathlib
import sys
import types
import warnings

import numpy as np
import pytest

import jaxmelody.data
from configs import smoke
from jaxmelody import errors
from jaxmelody.frontend.feature_config import FEATURES
from jaxmelody.frontend import pitch
from jaxmelody.inference import evaluate

KEYS = ['VR', 'VFA', 'RPA', 'RCA', 'OA']


def smoke_config():
  return smoke.get_config()


def melody_clip(frames, seed):
  """A reference f0 [T] on the frame grid: a few notes with rests."""
  rng = np.random.default_rng(seed)
  f0 = np.repeat(rng.uniform(100, 800, frames // 10 + 1), 10)[:frames]
  f0[rng.random(frames) < 0.3] = 0.0
  return FEATURES.frame_times(frames), np.round(f0, 3)


def unvoiced_percent(f0):
  """Percent of unvoiced reference frames as mir_eval counts them.

  mir_eval.melody.evaluate inserts a frame at t = 0 holding the first
  frame's value when the times start later (ours start at 16 ms).
  """
  f0 = np.concatenate([f0[:1], f0])
  return 100 * np.mean(f0 == 0)


class StubModel:
  """Answers with a preset estimate per clip (clip index in cfp[0, 0, 0]):
  confident logits on the class of each frame's f0 (pitch.hz_to_class)."""

  def __init__(self, estimates):
    self.estimates = estimates

  def logits(self, cfp):
    f0 = self.estimates[int(cfp[0, 0, 0])]
    out = np.zeros((len(f0), FEATURES.n_classes), np.float32)
    out[np.arange(len(f0)), pitch.hz_to_class(f0)] = 20.0
    return out


def make_source(refs):
  return [{'cfp': np.full((3, 256, len(f0)), i, np.float32), 'f0_hz': f0,
           'times': t, 'track_id': f'clip{i}'.encode()}
          for i, (t, f0) in enumerate(refs)]


def test_perfect_estimate_scores_100_and_0():
  times, f0 = melody_clip(200, 0)
  scores = evaluate.score_clip(times, f0, f0)
  assert scores == {'VR': 100.0, 'VFA': 0.0, 'RPA': 100.0, 'RCA': 100.0,
                    'OA': 100.0}


def test_unvoiced_estimate_scores_the_unvoiced_share():
  times, f0 = melody_clip(200, 1)
  scores = evaluate.score_clip(times, f0, np.zeros_like(f0))
  assert scores['VR'] == 0 and scores['VFA'] == 0 and scores['RPA'] == 0
  assert scores['OA'] == pytest.approx(unvoiced_percent(f0))


def test_set_score_is_the_mean_over_clips():
  refs = [melody_clip(100, 2), melody_clip(300, 3)]  # unequal lengths
  estimates = [refs[0][1], np.zeros(300)]
  means, rows = evaluate.evaluate_source(StubModel(estimates),
                                         make_source(refs), progress=False,
                                         decoder='argmax')
  assert [row['track_id'] for row in rows] == ['clip0', 'clip1']
  assert means['clips'] == 2
  for key in KEYS:
    assert means[key] == pytest.approx(np.mean([row[key] for row in rows]))
  # A mean over clips, not over pooled frames: the short perfect clip
  # weighs as much as the long unvoiced one.
  assert means['OA'] == pytest.approx(
      (100 + unvoiced_percent(refs[1][1])) / 2)
  first, _ = evaluate.evaluate_source(StubModel(estimates), make_source(refs),
                                      progress=False, max_clips=1,
                                      decoder='argmax')
  assert first['clips'] == 1 and first['OA'] == 100


def test_viterbi_decoding_removes_a_one_frame_octave_jump():
  times = FEATURES.frame_times(120)
  ref = np.full(120, 220.0)
  est = ref.copy()
  est[60] = 440.0  # an octave error, alone
  source, model = make_source([(times, ref)]), StubModel([est])
  argmax, _ = evaluate.evaluate_source(model, source, progress=False,
                                       decoder='argmax')
  viterbi, _ = evaluate.evaluate_source(model, source, progress=False,
                                        decoder='viterbi')
  assert argmax['RPA'] < 100 and argmax['RCA'] == 100
  assert viterbi['RPA'] == 100 and viterbi['OA'] == 100


def test_clip_without_melody_gives_no_warning():
  times = FEATURES.frame_times(50)
  with warnings.catch_warnings():
    warnings.simplefilter('error')
    scores = evaluate.score_clip(times, np.zeros(50), np.zeros(50))
  assert scores['OA'] == 100 and scores['VFA'] == 0
  assert all(np.isfinite(list(scores.values())))


def test_atomic_path_renames_with_usual_permissions(tmp_path):
  target = tmp_path / 'out.txt'
  with evaluate.atomic_path(target) as tmp:
    pathlib.Path(tmp).write_text('done')
  assert os.listdir(tmp_path) == ['out.txt'] and target.read_text() == 'done'
  umask = os.umask(0)
  os.umask(umask)
  assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
  target = tmp_path / 'out.json'
  with pytest.raises(RuntimeError):
    with evaluate.atomic_path(target) as tmp:
      pathlib.Path(tmp).write_text('partial')
      raise RuntimeError('disk full')
  assert list(tmp_path.iterdir()) == []


def test_run_eval_writes_json_and_csv(tmp_path, monkeypatch, capsys,
                                     save_random_weights):
  config = smoke_config()
  config.eval.sets = (('fake', 'test'),)
  ckpt = tmp_path / 'pretrained'
  ckpt.mkdir()
  save_random_weights(config.model, ckpt)
  rng = np.random.default_rng(0)
  source = make_source([melody_clip(60, 4), melody_clip(90, 5)])
  for example in source:
    example['cfp'] = rng.random(example['cfp'].shape, dtype=np.float32)
  # An in-memory stand-in for jaxmelody.data.datasets (no TFDS build, no import).
  fake = types.ModuleType('jaxmelody.data.datasets')
  fake.get_source = lambda name, split, data_config: source
  monkeypatch.setitem(sys.modules, 'jaxmelody.data.datasets', fake)
  monkeypatch.setattr(jaxmelody.data, 'datasets', fake, raising=False)

  results = evaluate.run_eval(config, str(tmp_path / 'work'), str(ckpt))
  eval_dir = tmp_path / 'work' / 'eval'
  assert sorted(p.name for p in eval_dir.iterdir()) == ['fake-test.csv',
                                                       'fake-test.json']
  saved = json.loads((eval_dir / 'fake-test.json').read_text())
  assert set(saved) == set(KEYS) | {'clips'} and saved['clips'] == 2
  assert saved == pytest.approx(results['fake-test'])
  with open(eval_dir / 'fake-test.csv', newline='') as f:
    rows = list(csv.DictReader(f))
  assert [r['track_id'] for r in rows] == ['clip0', 'clip1']
  assert list(rows[0]) == ['track_id'] + KEYS
  for key in KEYS:
    assert all(0 <= float(r[key]) <= 100 for r in rows)
  table = capsys.readouterr().out
  assert 'fake-test' in table and 'OA' in table


def test_read_clip_scores_reads_ours_and_the_authors(tmp_path):
  ours = tmp_path / 'ours.csv'
  evaluate.write_results(tmp_path, 'ours', {}, [
      {'track_id': 'a', 'VR': 1.0, 'VFA': 0.0, 'RPA': 1.0, 'RCA': 1.0,
       'OA': 80.5},
      {'track_id': 'b', 'VR': 1.0, 'VFA': 0.0, 'RPA': 1.0, 'RCA': 1.0,
       'OA': 70.0}])
  assert evaluate.read_clip_scores(ours) == {'a': 80.5, 'b': 70.0}
  theirs = tmp_path / 'theirs.csv'
  theirs.write_text('Songname,VR,VFA,RPA,RCA,OA\na,1,2,3,4,80.25\n')
  assert evaluate.read_clip_scores(theirs, 'VFA') == {'a': 2.0}
  with pytest.raises(errors.DatasetError, match='OA column'):
    (tmp_path / 'bad.csv').write_text('track_id,RPA\na,1\n')
    evaluate.read_clip_scores(tmp_path / 'bad.csv')
  with pytest.raises(errors.DatasetError, match='cannot read'):
    evaluate.read_clip_scores(tmp_path / 'missing.csv')


def test_compare_clips():
  ours = {'a': 80.0, 'b': 70.005, 'c': 60.0, 'only_ours': 1.0}
  theirs = {'a': 80.0, 'b': 70.0, 'c': 60.5, 'only_theirs': 2.0}
  c = evaluate.compare_clips(ours, theirs)
  assert c['clips'] == 3
  assert c['mean_abs'] == pytest.approx((0.0 + 0.005 + 0.5) / 3)
  assert c['within'] == pytest.approx(2 / 3)
  assert c['worst'] == ('c', pytest.approx(-0.5))
  assert c['only_ours'] == ['only_ours'] and c['only_theirs'] == [
      'only_theirs']
  with pytest.raises(errors.DatasetError, match='no clip in common'):
    evaluate.compare_clips({'x': 1.0}, {'y': 1.0})
