"""The Beam extraction pipeline (DirectRunner) and its command line, against
the `jaxmelody` command."""

import csv
import pathlib

import pytest

from jaxmelody.apps import cli

pytest.importorskip('apache_beam', reason="apache-beam is an optional extra: "
                    "pip install '.[beam]'")
# pylint: disable=g-import-not-at-top,wrong-import-position
from jaxmelody.apps import beam_cli
from jaxmelody.apps import beam_extract
# pylint: enable=g-import-not-at-top,wrong-import-position


def _summary(out: pathlib.Path):
  with open(out / beam_extract.SUMMARY_NAME, encoding='utf-8') as f:
    return list(csv.DictReader(f))


@pytest.mark.slow
def test_pipeline_writes_what_the_command_writes(songs, dense10_weights,
                                                  tmp_path, capsys):
  listed = tmp_path / 'list.txt'
  listed.write_text(f'{songs}/b/*.flac\n\n{songs}/nothing/*.wav\n')
  out = tmp_path / 'beam'
  status = beam_cli.main([
      f'--input={songs}/a/*.wav', f'--input_list={listed}',
      f'--output={out}', f'--checkpoint={dense10_weights}', '--batch_size=2',
      '--runner=DirectRunner'])
  assert status == 1  # the broken file and the empty glob are rows
  rows = _summary(out)
  assert [(r['track'], bool(r['error'])) for r in rows] == [
      ('', True), ('broken', True), ('solo', False), ('take', False),
      ('take-2', False)]
  assert 'no file matches' in rows[0]['error']
  assert 'broken.wav' in rows[1]['error']
  assert rows[3]['path'].endswith('a/take.wav')   # path order: a/ before b/
  assert float(rows[2]['duration_s']) == pytest.approx(1.0, abs=0.02)
  assert 'jaxmelody-beam: 3 file(s)' in capsys.readouterr().out
  # The CSVs are those of `jaxmelody FILES`, byte for byte.
  ref = tmp_path / 'cli'
  cli.main([str(songs / 'a' / 'take.wav'), str(songs / 'a' / 'solo.wav'),
            str(songs / 'b' / 'take.flac'), '-o', str(ref), '--checkpoint',
            str(dense10_weights)])
  for name in ('take.csv', 'solo.csv', 'take-2.csv'):
    assert (out / name).read_text() == (ref / name).read_text(), name
  assert sorted(p.name for p in out.iterdir()) == [
      'solo.csv', 'summary.csv', 'take-2.csv', 'take.csv']


def test_stems_are_unique_over_all_paths_and_paths_taken_once():
  named = beam_extract._unique_stems(  # pylint: disable=protected-access
      ['gs://b/c/x-2.wav', 'gs://b/a/x.wav', 'gs://b/b/x.flac',
       'gs://b/a/x.wav'])
  assert named == [('gs://b/a/x.wav', 'x'), ('gs://b/b/x.flac', 'x-2'),
                   ('gs://b/c/x-2.wav', 'x-2-2')]


@pytest.mark.parametrize('argv,message', [
    (['--output=x'], 'no input'),
    (['--output=x', '--input=a.wav', '--batch_size=0'], 'batch_size'),
    (['--output=x', '--input=a.wav', '--decoder=viterbi',
      '--voicing_threshold=2'], 'voicing threshold'),
    (['--output=x', '--input=a.wav', '--checkpoint=nowhere'], 'nowhere'),
    (['--output=x', '--input=a.wav', '--direct_num_workers=two'],
     'direct_num_workers'),
    (['--output=x', '--input=a.wav', '--bogus_flag=3'], 'bogus_flag'),
    (['--output=x', '--input=nothing/*.wav'], 'nothing/*.wav: no file matches'),
    (['-o', 'x', '--input=none/*.wav', '--input=no.flac'],
     'none of the 2 inputs names a file'),
])
def test_unusable_requests_exit_2_with_one_error_line(argv, message,
                                                      tmp_path, capsys,
                                                      monkeypatch):
  monkeypatch.chdir(tmp_path)
  assert beam_cli.main(argv) == 2
  err = capsys.readouterr().err.strip().splitlines()
  assert len(err) == 1 and err[0].startswith('error: ') and message in err[0]


@pytest.mark.slow
def test_the_commands_spellings_quiet_workers_and_speed(songs, dense10_weights,
                                                        tmp_path, capfd):
  """-o/--output-dir and --voicing-threshold as for jaxmelody; the worker
  processes' log lines stay off the terminal; the summary says the speed."""
  out = tmp_path / 'beam'
  status = beam_cli.main([
      f'--input={songs}/a/solo.wav', '-o', str(out),
      '--voicing-threshold', '0.6', '--decoder=argmax',
      f'--checkpoint={dense10_weights}', '--direct_num_workers=2',
      '--direct_running_mode=multi_processing'])
  captured = capfd.readouterr()
  assert status == 0
  assert captured.err == ''
  assert 'x real time' in captured.out
  ref = tmp_path / 'cli'
  cli.main([str(songs / 'a' / 'solo.wav'), '-o', str(ref), '--checkpoint',
            str(dense10_weights), '--decoder', 'argmax',
            '--voicing-threshold', '0.6'])
  assert (out / 'solo.csv').read_text() == (ref / 'solo.csv').read_text()
