"""Tests for scripts/protocol_table.py on hand-made eval folders."""

import json
import os
import pathlib

import pytest

@pytest.fixture(scope='module')
def table(load_script):
  return load_script('protocol_table.py')


def _scores(folder: pathlib.Path, name: str, oa: float, when: float):
  """Writes eval/<name>.json as --mode=eval does, dated ``when``."""
  path = folder / 'eval' / f'{name}.json'
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text(json.dumps({'VR': 90.0, 'VFA': 10.125, 'RPA': 85.0,
                              'RCA': 86.0, 'OA': oa, 'clips': 3}))
  os.utime(path, (when, when))


def test_rows_follow_run_order_with_a_dash_for_an_unscored_set(table,
                                                               tmp_path):
  # 'zeta' ran first (older files), so it comes first despite its name.
  _scores(tmp_path / 'zeta', 'mir1k-test', 86.404, 1000.0)
  _scores(tmp_path / 'zeta', 'adc2004-test', 78.3449, 1001.0)
  _scores(tmp_path / 'alpha', 'mir1k-test', 84.0, 2000.0)
  (tmp_path / 'not_a_protocol').mkdir()
  lines = table.rows(tmp_path)
  assert lines[:2] == ['| protocol | mir1k-test | adc2004-test |',
                       '|---|---|---|']
  assert lines[2] == ('| zeta | 90.00 / 10.12 / 85.00 / 86.00 / 86.40 | '
                      '90.00 / 10.12 / 85.00 / 86.00 / 78.34 |')
  assert lines[3] == '| alpha | 90.00 / 10.12 / 85.00 / 86.00 / 84.00 | - |'
  assert len(lines) == 4


def test_a_missing_folder_is_a_usage_error(table, tmp_path, capsys):
  assert table.main(['protocol_table.py', str(tmp_path / 'nowhere')]) == 2
  assert 'usage:' in capsys.readouterr().err
