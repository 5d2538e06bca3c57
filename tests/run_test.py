"""The command line's contract: summary output, and `error:` lines, exit 2."""

import pathlib
import subprocess
import sys

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
])
def test_bad_input_is_one_error_line_and_exit_2(args, message):
  status, _, err = _run(*args)
  assert status == 2
  lines = err.strip().splitlines()
  assert len(lines) == 1, err
  assert lines[0].startswith('error: ') and message in lines[0]
  assert 'Traceback' not in err
