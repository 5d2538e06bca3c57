"""Tests for scripts/eval_table3.sh, with run.py replaced by a stand-in.

A ``python`` first on PATH records each ``run.py`` call and writes the eval
files ``--mode=eval`` would (OA 70 clip by clip under argmax, 80 otherwise);
every other call goes to the real interpreter, so the table is really
printed by ``protocol_table.py``.
"""

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = ROOT / 'scripts' / 'eval_table3.sh'

_FAKE_PYTHON = r'''#!/bin/bash
if [[ $1 != run.py ]]; then exec "{python}" "$@"; fi
echo "$*" >> "$CALLS"
for arg in "$@"; do
  case $arg in --workdir=*) workdir=${{arg#--workdir=}} ;; esac
done
oa=80.0
if [[ " $* " == *" --config.eval.decoder=argmax "* ]]; then oa=70.0; fi
mkdir -p "$workdir/eval"
for set in mir1k-test adc2004-test; do
  printf 'track_id,VR,VFA,RPA,RCA,OA\na,90,10,80,81,%s\nb,90,10,80,81,%s\n' \
    "$oa" "$oa" > "$workdir/eval/$set.csv"
  printf '{{"VR": 90, "VFA": 10, "RPA": 80, "RCA": 81, "OA": %s, "clips": 2}}' \
    "$oa" > "$workdir/eval/$set.json"
done
'''


@pytest.fixture()
def fake_env(tmp_path):
  """Environment with the stand-in python first on PATH, OUT and CALLS."""
  bin_dir = tmp_path / 'bin'
  bin_dir.mkdir()
  fake = bin_dir / 'python'
  fake.write_text(_FAKE_PYTHON.format(python=sys.executable))
  fake.chmod(0o755)
  return {**os.environ, 'PATH': f'{bin_dir}{os.pathsep}{os.environ["PATH"]}',
          'OUT': str(tmp_path / 'table3'), 'CALLS': str(tmp_path / 'calls')}


def _run(env, *args):
  return subprocess.run(['bash', str(SCRIPT), *args], env=env,
                        capture_output=True, text=True, check=False)


def test_both_protocols_are_evaluated_and_the_table_printed(fake_env,
                                                            tmp_path):
  stale = tmp_path / 'table3' / 'dense20' / 'paper' / 'eval' / 'old.json'
  stale.parent.mkdir(parents=True)
  stale.write_text('{}')
  done = _run(fake_env, 'dense20', '/ckpt dir/step 2800')
  assert done.returncode == 0, done.stderr
  calls = (tmp_path / 'calls').read_text().splitlines()
  assert len(calls) == 2
  ours, paper = calls
  assert '--config=configs/dense20.py --mode=eval' in ours
  assert f'--workdir={tmp_path}/table3/dense20/ours' in ours
  assert '--checkpoint=/ckpt dir/step 2800' in ours
  assert 'argmax' not in ours and 'bn_inference' not in ours
  assert f'--workdir={tmp_path}/table3/dense20/paper' in paper
  for flag in ('--config.data.mir1k_label_offset_s=0.01',
               '--config.model.bn_inference=batch',
               '--config.eval.decoder=argmax'):
    assert flag in paper
  assert not stale.exists()  # the folder is cleared before each eval
  rows = [line for line in done.stdout.splitlines()
          if line.startswith('| dense20 |')]
  assert rows == [
      '| dense20 | ours (running BN, Viterbi, centred labels) | '
      + ' | '.join(['90.00 / 10.00 / 80.00 / 81.00 / 80.00 [80.00, 80.00]']
                   * 2) + ' |',
      "| dense20 | paper's (per-piece BN, argmax, their labels) | "
      + ' | '.join(['90.00 / 10.00 / 80.00 / 81.00 / 70.00 [70.00, 70.00]']
                   * 2) + ' |']
  assert '| dense10 | ours (running BN, Viterbi, centred labels) | - | - |' \
      in done.stdout


def test_the_bundled_model_is_used_without_a_checkpoint(fake_env, tmp_path):
  fake_env['PROTOCOLS'] = 'paper'
  assert _run(fake_env, 'dense10').returncode == 0
  calls = (tmp_path / 'calls').read_text().splitlines()
  assert len(calls) == 1 and '--checkpoint' not in calls[0]
  assert '/table3/dense10/paper' in calls[0]


@pytest.mark.parametrize('args, protocols, message', [
    ((), 'ours', 'usage:'),
    (('nosuch',), 'ours', 'no such config file'),
    (('dense10',), 'ours papr', 'unknown protocol papr'),
])
def test_bad_arguments_stop_before_any_eval(fake_env, tmp_path, args,
                                            protocols, message):
  fake_env['PROTOCOLS'] = protocols
  done = _run(fake_env, *args)
  assert done.returncode == 2 and message in done.stderr
  assert not (tmp_path / 'calls').exists()
