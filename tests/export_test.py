"""Tests for training.export (--mode=export and the event-file reader)."""

import json
import pathlib
import subprocess
import sys

import ml_collections
import numpy as np
import pytest
import tensorboardX

from jaxmelody import default_config
from jaxmelody import errors
from jaxmelody.inference import weights
from jaxmelody.training import checkpoints
from jaxmelody.training import export
from jaxmelody.training import workdir_config
from tests.checkpoints_test import _batches, _state

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _config(name='tiny'):
  return default_config.merge({
      'model': {'name': name, 'growth': 2},
      'data': {'name': 'mir1k', 'val_singers': ('abjones', 'amy'),
               'data_dir': ''},
      'train': {'keep_checkpoints': 2, 'num_steps': 6}})


def _write_events(workdir, scalars):
  writer = tensorboardX.SummaryWriter(str(workdir))
  for tag, values in scalars.items():
    for step, value in values.items():
      writer.add_scalar(tag, value, step)
  writer.close()


def test_read_scalars_round_trip_and_truncated_tail(tmp_path):
  scalars = {'train/loss': {10: 2.5, 20: 1.25},
             'val/OA': {20: 61.5}}
  _write_events(tmp_path, scalars)
  assert export.read_scalars(tmp_path) == scalars
  path = next(tmp_path.glob('events.out.tfevents.*'))
  path.write_bytes(path.read_bytes()[:-7])  # killed mid-record
  read = export.read_scalars(tmp_path)
  assert read['train/loss'] == scalars['train/loss']
  assert 'val/OA' not in read  # the cut record was the last one


def test_read_scalars_rejects_foreign_records(tmp_path):
  payload = b'\xff' * 20
  record = (len(payload).to_bytes(8, 'little') + b'\0' * 4 + payload
            + b'\0' * 4)
  (tmp_path / 'events.out.tfevents.1.x').write_bytes(record)
  with pytest.raises(errors.CheckpointError, match='not a TensorBoard'):
    export.read_scalars(tmp_path)


def test_training_summary_drops_the_compile_log():
  summary = export.training_summary({
      'train/frames_per_s': {10: 5.0, 20: 100.0, 30: 120.0, 40: 110.0},
      'val/OA': {20: 50.0, 40: 70.0}, 'val/VR': {40: 80.0}})
  assert summary['frames_per_s_median'] == 110.0
  assert summary['frames_per_s_max'] == 120.0
  assert summary['validation'] == {20: {'OA': 50.0},
                                   40: {'OA': 70.0, 'VR': 80.0}}


@pytest.fixture
def workdir(tmp_path):
  """Steps 2 (OA 90), 4 (OA 50), 6 (no validation) and their event log."""
  wd = tmp_path / 'wd'
  wd.mkdir()
  workdir_config.check_or_write(_config(), wd)
  checkpoints.record_start(wd, 0)
  ckpts, batches = checkpoints.TrainCheckpoints(wd, _config().train), _batches()
  oa = {2: 90.0, 4: 50.0}
  for step in (2, 4, 6):
    metrics = {'OA': oa[step]} if step in oa else None
    ckpts.save(step, _state(float(step)), batches, metrics=metrics)
  ckpts.close()
  _write_events(wd, {'val/OA': oa, 'val/RPA': {2: 88.0, 4: 40.0},
                     'train/frames_per_s': {2: 1.0, 4: 300.0, 6: 500.0}})
  return wd


def _exported_w(folder):
  return weights.load_pretrained(folder)['params']['w']


def test_exports_the_best_validated_step(workdir, tmp_path):
  out, scores = export.export_workdir(_config(), workdir,
                                      output_dir=tmp_path / 'out')
  assert out == tmp_path / 'out'
  np.testing.assert_array_equal(_exported_w(out), np.full(3, 2.0))
  starts = scores.pop('trained_by')['starts']
  assert scores == {'step': 2, 'selected_by': 'best validation OA',
                    'validation': {'OA': 90.0, 'RPA': 88.0},
                    'validation_singers': ['abjones', 'amy'],
                    'train_frames_per_s_median': 400.0}
  assert [s['step'] for s in starts] == [0] and 'git_commit' in starts[0]
  info = json.loads((out / 'info.json').read_text())
  assert info['scores'] == json.loads(json.dumps(
      {**scores, 'trained_by': {'starts': starts}}))
  assert 'git_commit' in info
  assert json.loads((out / 'config.json').read_text())['model']['name'] == (
      'tiny')


def test_exports_a_given_step(workdir, tmp_path):
  _, scores = export.export_workdir(
      _config(), workdir, checkpoint=workdir / 'checkpoints' / '6',
      output_dir=tmp_path / 'out')
  np.testing.assert_array_equal(_exported_w(tmp_path / 'out'),
                                np.full(3, 6.0))
  assert scores['step'] == 6 and scores['validation'] is None


def test_exports_the_weight_average_of_given_steps(workdir, tmp_path):
  steps = workdir / 'checkpoints'
  _, scores = export.export_workdir(
      _config(), workdir, checkpoint=f'{steps / "6"},{steps / "2"}',
      output_dir=tmp_path / 'out')
  np.testing.assert_array_equal(_exported_w(tmp_path / 'out'),
                                np.full(3, 4.0))
  assert scores['step'] == 6 and scores['validation'] is None
  assert scores['selected_by'] == 'weight average of steps 2, 6 (given)'


def test_default_output_is_the_bundled_pretrained_folder(workdir,
                                                         monkeypatch,
                                                         tmp_path):
  monkeypatch.setattr(export.weights, 'PRETRAINED_DIR', tmp_path / 'pre')
  out, _ = export.export_workdir(_config(), workdir)
  assert out == tmp_path / 'pre' / 'tiny'
  assert (out / 'variables.msgpack').is_file()


def test_exports_the_recipe_the_workdir_was_trained_with(workdir, tmp_path):
  """The recipe comes from the workdir; locations from the command."""
  saved = json.loads((workdir / 'config.json').read_text())
  saved['train']['lr_schedule'] = 'wsd'
  (workdir / 'config.json').write_text(json.dumps(saved))
  config = _config()
  config.data.data_dir = '/elsewhere'
  out, _ = export.export_workdir(config, workdir, output_dir=tmp_path / 'out')
  exported = json.loads((out / 'config.json').read_text())
  assert exported['train']['lr_schedule'] == 'wsd'
  assert exported['data']['data_dir'] == '/elsewhere'


def test_export_errors(workdir, tmp_path):
  with pytest.raises(errors.ConfigError, match='model.growth'):
    export.export_workdir(ml_collections.ConfigDict(
        {**_config().to_dict(), 'model': {'name': 'tiny', 'growth': 4}}),
                          workdir, output_dir=tmp_path / 'out')
  with pytest.raises(errors.CheckpointError, match='not a training workdir'):
    export.export_workdir(_config(), tmp_path / 'nothing')
  empty = tmp_path / 'empty'
  empty.mkdir()
  workdir_config.check_or_write(_config(), empty)
  with pytest.raises(errors.CheckpointError, match='no checkpoint'):
    export.export_workdir(_config(), empty)
  assert not (tmp_path / 'out').exists()


def test_run_py_export_mode(tmp_path):
  proc = subprocess.run(
      [sys.executable, str(ROOT / 'run.py'), '--config=configs/smoke.py',
       '--mode=export', f'--workdir={tmp_path / "none"}'],
      cwd=ROOT, capture_output=True, text=True, timeout=300)
  assert proc.returncode == 2
  assert proc.stderr.startswith('error: ') and 'not a training workdir' in (
      proc.stderr)


def test_format_summary_lists_every_validation():
  text = export.format_summary(
      '/o', {'step': 4, 'selected_by': 'best validation OA',
             'validation': {'OA': 70.0}, 'train_frames_per_s_median': None},
      {2: {'OA': 50.0, 'VR': 80.0}, 4: {'OA': 70.0}})
  assert text.splitlines() == [
      'step      2 validation OA 50.00, VR 80.00',
      'step      4 validation OA 70.00',
      'exported step 4 (best validation OA): OA 70.00',
      'train frames/s (median): not logged', '-> /o']


def test_evaluate_records_test_scores_in_info(workdir, tmp_path, monkeypatch):
  calls = []

  def fake_run_eval(config, wd, checkpoint=None):
    calls.append((config, wd, checkpoint))
    return {'mir1k-test': {'OA': np.float64(86.4), 'VR': 90.3,
                           'clips': np.int64(260)}}

  monkeypatch.setattr(export.evaluate, 'run_eval', fake_run_eval)
  config = _config()
  config.eval.sets = (('mir1k', 'test'),)
  config.eval.decoder = 'viterbi'
  out = tmp_path / 'out'
  assert export.main(config, workdir, output_dir=out,
                     evaluate_sets=True) == 0
  (used, wd, checkpoint), = calls
  assert (wd, checkpoint) == (workdir, str(out))  # the exported folder
  assert used.train.num_steps == 6  # the workdir's recipe
  info = json.loads((out / 'info.json').read_text())
  assert info['scores']['step'] == 2  # validation record kept
  test = info['scores']['test']
  assert test['sets'] == {'mir1k-test': {'OA': 86.4, 'VR': 90.3,
                                         'clips': 260}}
  assert isinstance(test['sets']['mir1k-test']['clips'], int)
  assert test['protocol']['decoder'] == 'viterbi'
  assert test['protocol']['sets'] == [['mir1k', 'test']]
  # Recording again replaces the entry, and nothing else.
  export.record_test_scores(out, {'adc2004-test': {'OA': 78.0}},
                            {'decoder': 'argmax'})
  again = json.loads((out / 'info.json').read_text())
  assert again['scores']['test']['sets'] == {'adc2004-test': {'OA': 78.0}}
  assert again['scores']['validation'] == info['scores']['validation']


def test_export_without_evaluate_records_no_test(workdir, tmp_path,
                                                 monkeypatch):
  monkeypatch.setattr(export.evaluate, 'run_eval',
                      lambda *a, **k: pytest.fail('evaluated'))
  export.main(_config(), workdir, output_dir=tmp_path / 'out')
  info = json.loads((tmp_path / 'out' / 'info.json').read_text())
  assert 'test' not in info['scores']
