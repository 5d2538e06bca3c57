"""The command line's contract: summary output, `error:` lines and exit
status 2, a signal that stops training after saving its step (exit 130)."""

import pathlib
import re
import signal
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _run(*args):
  """Runs run.py from the repo root; returns (exit status, stdout, stderr)."""
  proc = subprocess.run([sys.executable, 'run.py', *args], cwd=ROOT,
                        capture_output=True, text=True, timeout=300,
                        check=False)
  return proc.returncode, proc.stdout, proc.stderr


def test_summary_prints_params_and_gflops():
  status, out, _ = _run('--config=configs/dense10.py', '--mode=summary')
  assert status == 0
  lines = out.strip().splitlines()
  assert lines[0] == 'params: 74850'
  assert lines[1].startswith('gflops: ') and float(lines[1].split()[1]) > 1


@pytest.mark.parametrize('args,message', [
    (['--mode=summary', '--config.train.no_such_field=1'], 'no_such_field'),
    (['--config=configs/dense10.py', '--mode=summary',
      '--config.train.no_such_field=1'], 'no_such_field'),
    (['--mode=summary'], '--config'),
    (['--config=configs/dense10.py', '--mode=nonsense'], '--mode'),
    (['--config=configs/no_such_config.py', '--mode=summary'],
     'no_such_config.py'),
    (['--config=configs/smoke.py', '--mode=predict',
      '--audio=/no/such/file.wav', '--checkpoint=/no/such/workdir'],
     '/no/such'),
    (['--config=configs/dense10.py', '--mode=eval'], '--workdir'),
    (['--config=configs/dense20.py:nonsense', '--mode=summary'],
     "unknown recipe 'nonsense'"),
])
def test_bad_input_is_one_error_line_and_exit_2(args, message):
  status, _, err = _run(*args)
  assert status == 2
  lines = err.strip().splitlines()
  assert len(lines) == 1, err
  assert lines[0].startswith('error: ') and message in lines[0]
  assert 'Traceback' not in err


@pytest.mark.slow
@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_training_with_its_step_saved(tmp_path, sig):
  work = tmp_path / 'work'
  args = ['--config=configs/smoke.py', f'--workdir={work}',
          f'--config.data.data_dir={tmp_path / "tfds"}',
          '--config.train.checkpoint_every_steps=100000',
          '--config.eval.every_steps=0']
  proc = subprocess.Popen(
      [sys.executable, 'run.py', *args, '--config.train.num_steps=100000'],
      cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
  try:
    deadline = time.monotonic() + 240
    while not list(work.glob('events.out.tfevents.*')):  # the loop started
      assert proc.poll() is None and time.monotonic() < deadline
      time.sleep(0.5)
    # Several seconds in: the signal most likely lands while a logging
    # step syncs, when the loop had already decided not to save.
    time.sleep(8)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
  finally:
    proc.kill()
  assert proc.returncode == 130, err[-2000:]
  stopped = [l for l in err.splitlines() if l.startswith('stopped: ')]
  assert len(stopped) == 1 and 'is saved' in stopped[0], err[-2000:]
  step = int(re.search(r'at step (\d+)', stopped[0]).group(1))
  assert (work / 'checkpoints' / str(step) / 'state').is_dir()
  # The same command resumes from there.
  status, _, err = _run(*args, f'--config.train.num_steps={step + 1}')
  assert status == 0, err[-2000:]
  assert f'resuming from {work / "checkpoints" / str(step)}' in err


def test_predict_mode_writes_what_the_command_writes(tmp_path, songs,
                                                     dense10_weights):
  """--mode=predict is the jaxmelody command: --midi, --confidence and the
  config's decoder (--config.eval.decoder = the command's --decoder)."""
  clip = songs / 'a' / 'solo.wav'  # --audio splits at commas
  status, _, err = _run(
      '--config=configs/dense10.py', '--mode=predict', f'--audio={clip}',
      f'--checkpoint={dense10_weights}', f'--output_dir={tmp_path / "run"}',
      '--midi', '--confidence', '--config.eval.decoder=argmax')
  assert status == 0, err[-2000:]
  from jaxmelody.apps import cli  # pylint: disable=g-import-not-at-top
  assert cli.main([str(clip), '-o', str(tmp_path / 'cli'), '--checkpoint',
                   str(dense10_weights), '--midi', '--confidence',
                   '--decoder', 'argmax']) == 0
  written = sorted(p.name for p in (tmp_path / 'run').iterdir())
  assert written == ['solo.confidence.csv', 'solo.csv', 'solo.mid']
  for name in written:
    assert ((tmp_path / 'run' / name).read_bytes() ==
            (tmp_path / 'cli' / name).read_bytes()), name


def test_predict_mode_writes_into_the_workdir_unless_told(tmp_path, songs,
                                                          dense10_weights):
  clip = songs / 'a' / 'solo.wav'
  status, out, err = _run(
      '--config=configs/dense10.py', '--mode=predict', f'--audio={clip}',
      f'--checkpoint={dense10_weights}', f'--workdir={tmp_path / "w"}')
  assert status == 0, err[-2000:]
  assert sorted(p.name for p in (tmp_path / 'w' / 'predict').iterdir()) == [
      'solo.csv']
  assert str(tmp_path / 'w' / 'predict') in out
