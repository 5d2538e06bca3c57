"""Tests for jaxmelody.training.workdir_config (resuming a workdir with a config)."""

import json
import pathlib

import pytest

from conftest import load_config
from jaxmelody import errors
from jaxmelody.training import workdir_config

CONFIGS = pathlib.Path(__file__).resolve().parents[1] / 'configs'
# The overrides a long dense10 run was started with; resuming it with the
# same ones, or with more steps, must work.
RUN_OVERRIDES = {'train.num_steps': 3000, 'train.checkpoint_every_steps': 50,
                 'eval.every_steps': 200, 'train.log_every_steps': 10,
                 'data.manual_root': '../shared/data',
                 'data.data_dir': '/data/tfds'}


def _dense10(**overrides):
  config = load_config('dense10')
  for dotted, value in {**RUN_OVERRIDES, **overrides}.items():
    section, field = dotted.split('.')
    config[section][field] = value
  return config


def test_first_run_writes_the_config(tmp_path):
  config = _dense10()
  assert not workdir_config.check_or_write(config, tmp_path)
  saved = json.loads((tmp_path / 'config.json').read_text())
  assert saved == workdir_config.as_json_tree(config)


def test_process_other_than_the_first_does_not_write(tmp_path):
  assert not workdir_config.check_or_write(_dense10(), tmp_path, write=False)
  assert not (tmp_path / 'config.json').exists()


@pytest.mark.parametrize('changes', [
    {},
    {'train.num_steps': 20000},
    {'train.num_steps': 6000, 'eval.every_steps': 1000,
     'train.checkpoint_every_steps': 500, 'train.log_every_steps': 50,
     'train.keep_checkpoints': 5, 'data.data_dir': '/elsewhere',
     'data.manual_root': '/corpora', 'data.read_threads': 12,
     'eval.sets': (('mir1k', 'test'),), 'eval.pad_lengths': (512, 4096),
     'train.val_max_clips': 10, 'train.fast_step': False},
])
def test_resume_allows_schedule_and_location_changes(tmp_path, changes):
  workdir_config.check_or_write(_dense10(), tmp_path)
  original = (tmp_path / 'config.json').read_bytes()
  assert workdir_config.check_or_write(_dense10(**changes), tmp_path)
  assert (tmp_path / 'config.json').read_bytes() == original


@pytest.mark.parametrize('changes', [
    {'model.growth': 20},
    {'model.dilations': (1, 1, 1, 1, 1)},
    {'data.val_singers': ('amy',)},
    {'data.crop_frames': 128, 'data.seed': 3},
    {'data.mir1k_label_offset_s': 0.01},
    {'train.batch_size': 8, 'train.learning_rate': 3e-4},
    {'train.seed': 1},
    {'model.dtype': 'bfloat16'},
])
def test_resume_with_another_recipe_is_an_error(tmp_path, changes):
  workdir_config.check_or_write(_dense10(), tmp_path)
  original = (tmp_path / 'config.json').read_bytes()
  with pytest.raises(errors.ConfigError, match='different config') as e:
    workdir_config.check_or_write(_dense10(**changes), tmp_path)
  for field in changes:
    assert field in str(e.value)
  assert f'{len(changes)} field(s) differ' in str(e.value)
  assert (tmp_path / 'config.json').read_bytes() == original


def test_a_field_absent_from_the_saved_config_is_named(tmp_path):
  """Absent before and not at its default now: named as differing."""
  saved = workdir_config.as_json_tree(_dense10())
  del saved['model']['bn_inference']
  (tmp_path / 'config.json').write_text(json.dumps(saved))
  config = _dense10()
  config.model.bn_inference = 'batch'
  with pytest.raises(errors.ConfigError,
                     match=r'model\.bn_inference: \(absent\)'):
    workdir_config.check_or_write(config, tmp_path)


def test_unreadable_saved_config_is_an_error(tmp_path):
  (tmp_path / 'config.json').write_text('{not json')
  with pytest.raises(errors.ConfigError, match='unreadable'):
    workdir_config.check_or_write(_dense10(), tmp_path)


def test_run_py_reports_a_mismatch_as_an_error_line(tmp_path):
  # The ConfigError reaches run.py's `error:` line before any training.
  import subprocess, sys  # pylint: disable=g-import-not-at-top,multiple-imports
  workdir_config.check_or_write(_dense10(), tmp_path)
  root = CONFIGS.parent
  proc = subprocess.run(
      [sys.executable, str(root / 'run.py'), '--config=configs/dense10.py',
       f'--workdir={tmp_path}', '--config.model.growth=12'],
      cwd=root, capture_output=True, text=True, timeout=300)
  assert proc.returncode == 2
  assert proc.stderr.startswith('error: ')
  assert 'model.growth: 10 in the workdir, 12 now' in proc.stderr


# config.json of a long dense10 run started before fast_step and the
# resume check existed (data_dir shortened): today's dense10 with the same
# overrides must resume it.
SAVED_DENSE10_RUN = {
    'model': {'name': 'dense10', 'growth': 10, 'dilations': [3, 6, 12, 18, 24],
              'input_repeats': 8, 'decoder_channels': [64, 32],
              'dtype': 'float32', 'bn_inference': 'running'},
    'data': {'name': 'mir1k', 'train_split': 'train',
             'manual_root': '../shared/data', 'data_dir': '/data/tfds',
             'mir1k_label_offset_s': 0.02, 'res_type': 'polyphase',
             'crop_frames': 256, 'val_singers': ['abjones', 'amy'],
             'synthetic_size': 64, 'seed': 0, 'read_threads': 4},
    'train': {'batch_size': 16, 'learning_rate': 0.001, 'fast_step': True,
              'num_steps': 3000, 'log_every_steps': 10,
              'checkpoint_every_steps': 50, 'keep_checkpoints': 3, 'seed': 0,
              'val_max_clips': 0},
    'eval': {'every_steps': 200, 'sets': [['mir1k', 'test'],
                                          ['adc2004', 'test']],
             'piece_frames': 0,
             'pad_lengths': [256, 384, 512, 768, 1024, 2048, 4096],
             'integer_hz': False},
    'distributed': False}


@pytest.mark.parametrize('num_steps', [3000, 12000])
def test_todays_dense10_resumes_the_saved_run(tmp_path, num_steps):
  (tmp_path / 'config.json').write_text(json.dumps(SAVED_DENSE10_RUN))
  assert workdir_config.check_or_write(
      _dense10(**{'train.num_steps': num_steps}), tmp_path)


def test_a_field_added_later_resumes_only_at_its_default():
  from configs import dense10  # pylint: disable=g-import-not-at-top
  from jaxmelody.training import workdir_config  # pylint: disable=g-import-not-at-top
  config = dense10.get_config()
  saved = workdir_config.as_json_tree(config)
  del saved['data']['pitch_shift_semitones']  # a run from older code
  assert workdir_config.differing_fields(saved, config) == []
  config.data.pitch_shift_semitones = 2
  assert workdir_config.differing_fields(saved, config) == [
      'data.pitch_shift_semitones']


def test_trained_config_takes_the_recipe_from_the_workdir(tmp_path):
  """A wsd branch exported without repeating its schedule flags."""
  branch = {'train.lr_schedule': 'wsd', 'train.decay_start_step': 100,
            'train.decay_steps': 500, 'train.init_from': '/runs/x/100',
            'data.pitch_shift_semitones': 3}
  workdir_config.check_or_write(_dense10(**branch), tmp_path)
  now = _dense10(**{'data.manual_root': '/corpora', 'eval.decoder': 'argmax',
                    'train.num_steps': 7})
  config = workdir_config.trained_config(now, tmp_path)
  for dotted, value in branch.items():
    section, field = dotted.split('.')
    assert config[section][field] == value, dotted
  # Locations and evaluation options are this command's; the schedule the
  # workdir's.
  assert config.data.manual_root == '/corpora'
  assert config.eval.decoder == 'argmax'
  assert config.train.num_steps == RUN_OVERRIDES['train.num_steps']
  assert workdir_config.differing_fields(
      json.loads((tmp_path / 'config.json').read_text()), config) == []


def test_trained_config_keeps_fields_added_since(tmp_path):
  saved = workdir_config.as_json_tree(_dense10())
  del saved['train']['ema_decay']
  (tmp_path / 'config.json').write_text(json.dumps(saved))
  config = workdir_config.trained_config(_dense10(), tmp_path)
  assert config.train.ema_decay == _dense10().train.ema_decay


@pytest.mark.parametrize('changes', [{'model.growth': 20},
                                     {'model.dilations': (1, 1, 1, 1, 1)}])
def test_trained_config_of_another_model_is_an_error(tmp_path, changes):
  workdir_config.check_or_write(_dense10(), tmp_path)
  with pytest.raises(errors.ConfigError, match='name the config') as e:
    workdir_config.trained_config(_dense10(**changes), tmp_path)
  assert next(iter(changes)) in str(e.value)
  with pytest.raises(errors.ConfigError, match='unreadable'):
    workdir_config.trained_config(_dense10(), tmp_path / 'absent')


def test_retired_fields_in_a_saved_config_do_not_block_resuming(tmp_path):
  """A run started when eval.fast_inference, eval.fast_inference_conv and
  train.warmup_steps existed (config.json written by that code) resumes, and
  exports without them; a warm-up this code no longer has does not."""
  saved = workdir_config.as_json_tree(_dense10())
  saved['eval'].update(fast_inference=True, fast_inference_conv='chunked')
  saved['train']['warmup_steps'] = 0
  (tmp_path / 'config.json').write_text(json.dumps(saved))
  assert workdir_config.check_or_write(_dense10(), tmp_path)
  config = workdir_config.trained_config(_dense10(), tmp_path)
  assert 'fast_inference' not in config.eval
  assert 'warmup_steps' not in config.train
  saved['train']['warmup_steps'] = 100
  (tmp_path / 'config.json').write_text(json.dumps(saved))
  assert workdir_config.differing_fields(saved, _dense10()) == [
      'train.warmup_steps']
  with pytest.raises(errors.ConfigError, match='warmup_steps'):
    workdir_config.trained_config(_dense10(), tmp_path)
