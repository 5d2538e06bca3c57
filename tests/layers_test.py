"""The import direction of the layers (see the architecture notes).

The core (features, audio, cfp, its NumPy reference, pitch, synth, models)
imports nothing from the dataset builders, the benchmarks or the configs;
no package module imports the benchmarks; tests never import a benchmark
script.
"""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
CORE = ('features', 'audio', 'cfp', 'cfp_numpy', 'pitch', 'synth', 'models',
        'errors')
UPPER = ('datasets_builders', 'benchmarks', 'configs')


def imported(path: pathlib.Path) -> set[str]:
  """Top-level names of every module a file imports (at any depth)."""
  names = set()
  for node in ast.walk(ast.parse(path.read_text(), str(path))):
    if isinstance(node, ast.Import):
      names.update(a.name for a in node.names)
    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
      names.add(node.module)
  return names


def _offending(path, forbidden):
  return sorted(n for n in imported(path)
                if n.split('.')[0] in forbidden)


@pytest.mark.parametrize('module', CORE)
def test_core_imports_no_upper_layer(module):
  assert _offending(ROOT / 'jaxmelody' / f'{module}.py', UPPER) == []


def test_package_does_not_import_benchmarks():
  for path in sorted((ROOT / 'jaxmelody').rglob('*.py')):
    assert _offending(path, ('benchmarks',)) == [], path


def test_tests_do_not_import_benchmarks():
  for path in sorted((ROOT / 'tests').rglob('*.py')):
    assert _offending(path, ('benchmarks',)) == [], path


def test_the_check_sees_imports(tmp_path):
  probe = tmp_path / 'probe.py'
  probe.write_text('def f():\n  from benchmarks import cfp_speed\n'
                   'import configs.dense10\n')
  assert _offending(probe, UPPER) == ['benchmarks', 'configs.dense10']
