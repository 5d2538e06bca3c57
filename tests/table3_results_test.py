"""The committed Table III scores (training_runs/table3) and their doc.

Golden-file checks: the per-clip scores ``eval_table3.sh`` committed must
be whole (every test clip, the CSV agreeing with its JSON, the same clips
for every model), and the two tables in docs/reproduction.md must be
exactly what ``protocol_table.py --table3`` prints from them.
"""

import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / 'training_runs' / 'table3'
DOC = ROOT / 'docs' / 'reproduction.md'
CLIPS = {'mir1k-test': 260, 'adc2004-test': 12}


@pytest.fixture(scope='module')
def table(load_script):
  return load_script('protocol_table.py')


def _evaluated(root: pathlib.Path):
  """(model, protocol) folders under ``root`` holding an eval/ folder."""
  return sorted((p.parent.name, p.name) for p in root.glob('*/*')
                if (p / 'eval').is_dir())


def test_every_committed_model_is_scored_on_every_test_clip(table):
  evaluated = _evaluated(RESULTS)
  assert ('dense10', 'ours') in evaluated and ('dense10', 'paper') in evaluated
  for model, protocol in evaluated:
    for name, clips in CLIPS.items():
      # read_set raises when the CSV is not the JSON's run.
      scored = table.read_set(RESULTS / model / protocol, name)
      assert scored is not None, f'{model}/{protocol}: {name} not scored'
      assert scored['means']['clips'] == clips, (model, protocol, name)
      assert scored['ci'] is not None


def test_the_docs_tables_are_what_the_command_prints(table):
  printed = [*table.table3_rows(RESULTS), *table.paired_rows(RESULTS)]
  text = DOC.read_text(encoding='utf-8')
  section = text[text.index('### Table III from our runs'):]
  section = section[:section.index('\n## ')]
  # Both tables of the section: rows whose first cell names a model.
  documented = [line for line in section.splitlines()
                if line.startswith('| ') and not line.startswith('| model |')
                and not line.startswith('| OA difference')]
  assert documented == [line for line in printed
                        if not line.startswith(('|---', '| model |',
                                                '| OA difference'))]
