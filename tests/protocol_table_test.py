"""Tests for scripts/protocol_table.py on hand-made eval folders."""

import csv
import json
import os
import pathlib

import numpy as np
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


def _clips(folder: pathlib.Path, name: str, oas) -> float:
  """Writes eval/<name>.json and .csv for per-clip OAs; returns the mean."""
  (folder / 'eval').mkdir(parents=True, exist_ok=True)
  with open(folder / 'eval' / f'{name}.csv', 'w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(['track_id', 'VR', 'VFA', 'RPA', 'RCA', 'OA'])
    for i, oa in enumerate(oas):
      writer.writerow([f'clip{i}', '90.0', '10.0', '80.0', '81.0',
                       f'{oa:.4f}'])
  mean = float(np.mean(oas))
  (folder / 'eval' / f'{name}.json').write_text(json.dumps(
      {'VR': 90.0, 'VFA': 10.0, 'RPA': 80.0, 'RCA': 81.0, 'OA': mean,
       'clips': len(oas)}))
  return mean


# Hand-made per-clip OAs: 12 clips, as ADC2004, one of them far below.
TWELVE = [85.5, 91.7, 57.6, 57.7, 80.1, 78.9, 66.0, 90.2, 88.8, 70.3, 75.0,
          45.2]


def test_bootstrap_interval_contains_the_mean_and_is_reproducible(table):
  lo, hi = table.bootstrap_ci(TWELVE)
  assert lo < np.mean(TWELVE) < hi
  assert table.bootstrap_ci(TWELVE) == (lo, hi)              # same seed
  assert table.bootstrap_ci(TWELVE, seed=1) != (lo, hi)      # another seed
  # The resampled means never leave the clips' range.
  assert min(TWELVE) <= lo and hi <= max(TWELVE)


def test_bootstrap_interval_shrinks_with_more_clips(table):
  # The same spread over 4x and 16x the clips: width ~ 1 / sqrt(clips).
  widths = [np.subtract(*table.bootstrap_ci(TWELVE * k)[::-1])
            for k in (1, 4, 16)]
  assert widths[0] > widths[1] > widths[2] > 0
  assert widths[1] / widths[0] == pytest.approx(0.5, abs=0.08)
  assert widths[2] / widths[1] == pytest.approx(0.5, abs=0.08)


def test_bootstrap_interval_is_the_standard_error_scale(table):
  # For many clips the bootstrap mean is ~normal: 2 * 1.96 * sd / sqrt(n).
  values = np.random.default_rng(7).uniform(40.0, 100.0, 400)
  lo, hi = table.bootstrap_ci(values)
  expected = 2 * 1.96 * values.std() / np.sqrt(values.size)
  assert hi - lo == pytest.approx(expected, rel=0.06)


def test_bootstrap_interval_of_two_clips_spans_both(table):
  # Means of 2 draws from {0, 100}: 0 and 100 each with probability 1/4,
  # so the 2.5% and 97.5% quantiles are the two clips themselves.
  assert table.bootstrap_ci([0.0, 100.0]) == (0.0, 100.0)
  assert table.bootstrap_ci([70.0, 70.0, 70.0]) == (70.0, 70.0)
  with pytest.raises(ValueError, match='non-empty'):
    table.bootstrap_ci([])


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
  # No per-clip CSV: the means, and '[-]' for the interval.
  assert lines[2] == ('| zeta | 90.00 / 10.12 / 85.00 / 86.00 / 86.40 [-] | '
                      '90.00 / 10.12 / 85.00 / 86.00 / 78.34 [-] |')
  assert lines[3] == ('| alpha | 90.00 / 10.12 / 85.00 / 86.00 / 84.00 [-] '
                      '| - |')
  assert len(lines) == 4


def test_rows_print_the_interval_from_the_per_clip_csv(table, tmp_path):
  mean = _clips(tmp_path / 'default', 'adc2004-test', TWELVE)
  lo, hi = table.bootstrap_ci(TWELVE)
  lines = table.rows(tmp_path)
  assert lines[2] == (f'| default | - | 90.00 / 10.00 / 80.00 / 81.00 / '
                      f'{mean:.2f} [{lo:.2f}, {hi:.2f}] |')


def test_a_csv_of_another_run_is_an_error(table, tmp_path, capsys):
  _clips(tmp_path / 'default', 'mir1k-test', TWELVE)
  path = tmp_path / 'default' / 'eval' / 'mir1k-test.json'
  means = json.loads(path.read_text())
  path.write_text(json.dumps({**means, 'OA': means['OA'] + 0.5}))
  with pytest.raises(ValueError, match='mir1k-test.csv'):
    table.rows(tmp_path)
  path.write_text(json.dumps({**means, 'clips': 11}))
  assert table.main(['protocol_table.py', str(tmp_path)]) == 1
  assert '12 clips' in capsys.readouterr().err


def test_a_missing_folder_is_a_usage_error(table, tmp_path, capsys):
  assert table.main(['protocol_table.py', str(tmp_path / 'nowhere')]) == 2
  assert 'usage:' in capsys.readouterr().err
  assert table.main(['protocol_table.py', '--table3']) == 2


def test_table3_rows_absent_models_and_the_papers_rows(table, tmp_path):
  ours = _clips(tmp_path / 'dense10' / 'ours', 'adc2004-test', TWELVE)
  paper = _clips(tmp_path / 'dense10' / 'paper', 'adc2004-test',
                 [x + 3.0 for x in TWELVE])
  _scores(tmp_path / 'dense10' / 'ours', 'mir1k-test', 86.65, 1000.0)
  _clips(tmp_path / 'wide' / 'ours', 'mir1k-test', [80.0, 90.0])
  lines = table.table3_rows(tmp_path)
  assert lines[:2] == ['| model | protocol | MIR-1K test | ADC2004 test |',
                       '|---|---|---|---|']
  # 4 models x (2 protocols + the paper's row), then 'wide' without one.
  assert len(lines) == 2 + 4 * 3 + 2
  assert [line.split(' | ')[0] for line in lines[2:]] == [
      '| dense10', '| dense10', '| DenseASPP_10',
      '| dense20', '| dense20', '| DenseASPP_20',
      '| densenet', '| densenet', '| DenseNet',
      '| da_reversed', '| da_reversed', '| DA_Reversed',
      '| wide', '| wide']
  lo, hi = table.bootstrap_ci(TWELVE)
  assert lines[2].endswith(
      f'| 90.00 / 10.12 / 85.00 / 86.00 / 86.65 [-] | 90.00 / 10.00 / 80.00 /'
      f' 81.00 / {ours:.2f} [{lo:.2f}, {hi:.2f}] |')
  # The paper's protocol: shifted clips, the interval shifted with them.
  assert lines[3].startswith("| dense10 | paper's ")
  assert lines[3].endswith(
      f'| - | 90.00 / 10.00 / 80.00 / 81.00 / {paper:.2f} '
      f'[{lo + 3:.2f}, {hi + 3:.2f}] |')
  # Only DenseASPP_20's two OAs are on record; nothing else is filled in.
  assert lines[4] == '| DenseASPP_10 | paper, Table III | - | - |'
  assert lines[7] == ('| DenseASPP_20 | paper, Table III | '
                      '- / - / - / - / 87.04 | - / - / - / - / 80.67 |')
  assert lines[5].endswith('| - | - |') and lines[6].endswith('| - | - |')
  assert all(line.endswith('| - | - |') for line in lines[8:14])


def test_paired_rows_difference_from_dense10_over_the_same_clips(
    table, tmp_path):
  _clips(tmp_path / 'dense10' / 'ours', 'adc2004-test', TWELVE)
  # Every clip 2 points better, save one 10 points worse: the paired mean
  # is (11 * 2 - 10) / 12 = 1.0, whatever the clips' own spread.
  shifted = [x + 2.0 for x in TWELVE[:11]] + [TWELVE[11] - 10.0]
  _clips(tmp_path / 'densenet' / 'ours', 'adc2004-test', shifted)
  lines = table.paired_rows(tmp_path)
  assert lines[0].startswith('| OA difference, paired over clips |')
  densenet = [line for line in lines
              if line.startswith('| densenet - dense10 | ours')]
  lo, hi = table.bootstrap_ci([2.0] * 11 + [-10.0])
  assert densenet == [f'| densenet - dense10 | ours (running BN, Viterbi, centred '
                      f'labels) | - | +1.00 [{lo:+.2f}, {hi:+.2f}] |']
  # Models not evaluated print '-'; dense10 has no row against itself.
  assert not any(line.startswith('| dense10 - ') for line in lines)
  assert all(line.endswith('| - | - |') for line in lines
             if line.startswith('| dense20'))
  # Other clips than dense10's: an error naming the set, exit status 1.
  _clips(tmp_path / 'dense20' / 'ours', 'adc2004-test', TWELVE[:11])
  with pytest.raises(ValueError, match='adc2004-test holds other clips'):
    table.paired_rows(tmp_path)
  assert table.main(['protocol_table.py', '--table3', str(tmp_path)]) == 1
