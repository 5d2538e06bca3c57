"""The import direction of the layers (see ``jaxmelody/__init__.py``).

Layers, lowest first: the base modules (errors, runtime, atomic,
default_config), ``frontend``, ``model``, then ``data``, ``training`` and
``inference`` side by side, then ``apps``. A module imports only its own
layer or lower ones (at any depth: a deferred import counts too); the edges
between the three side-by-side subpackages are listed here, so a new one is
a decision, not an accident; no chain of imports between modules comes back
to where it started. The core (frontend, model) imports nothing from the
dataset builders, the benchmarks, the experiments or the configs; no
package module or test imports a benchmark or an experiment.
"""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / 'jaxmelody'
BASE = ('errors', 'runtime', 'atomic', 'default_config')
RANK = {'base': 0, 'frontend': 1, 'model': 2, 'data': 3, 'training': 3,
        'inference': 3, 'apps': 4}
# Edges between subpackages of the same rank, module to module.
SIDEWAYS = {
    ('training.export', 'inference.decoding'),
    ('training.export', 'inference.evaluate'),
    ('training.export', 'inference.weights'),
    ('training.train', 'inference.evaluate'),
    ('training.train', 'data.input_pipeline'),
    ('inference.evaluate', 'data.datasets'),
    # Restoring an orbax training checkpoint, imported only when one is named.
    ('inference.weights', 'training.checkpoints'),
}
UPPER = ('datasets_builders', 'benchmarks', 'experiments', 'configs',
         'scripts')


def imported(path: pathlib.Path) -> set[str]:
  """Dotted names of every module a file imports (at any depth).

  ``from a.b import c`` yields ``a.b.c`` when ``c`` is a module of this
  repository, else ``a.b``.
  """
  names = set()
  for node in ast.walk(ast.parse(path.read_text(), str(path))):
    if isinstance(node, ast.Import):
      names.update(a.name for a in node.names)
    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
      for alias in node.names:
        child = f'{node.module}.{alias.name}'
        folder = ROOT.joinpath(*child.split('.'))
        is_module = (folder.with_suffix('.py').exists() or
                     (folder / '__init__.py').exists())
        names.add(child if is_module else node.module)
  return names


def package_modules() -> dict[str, pathlib.Path]:
  """'frontend.cfp' -> its file, for every module of the package."""
  modules = {}
  for path in sorted(PACKAGE.rglob('*.py')):
    parts = path.relative_to(PACKAGE).with_suffix('').parts
    if parts[-1] != '__init__' and parts[0] != 'pretrained':
      modules['.'.join(parts)] = path
  return modules


def subpackage(module: str) -> str:
  return 'base' if '.' not in module else module.split('.')[0]


def edges() -> set[tuple[str, str]]:
  """(importer, imported) pairs between the package's modules."""
  modules = package_modules()
  found = set()
  for name, path in modules.items():
    for target in imported(path):
      short = target.removeprefix('jaxmelody.')
      if target.startswith('jaxmelody.') and short in modules:
        found.add((name, short))
  return found


def test_every_module_is_in_a_layer():
  for name in package_modules():
    assert subpackage(name) in RANK, name
    if subpackage(name) == 'base':
      assert name in BASE, f'{name}: a new base module, or a misplaced one'


def test_no_import_runs_back_up():
  upward = sorted((a, b) for a, b in edges()
                  if RANK[subpackage(b)] > RANK[subpackage(a)])
  assert upward == []


def test_sideways_imports_are_the_listed_ones():
  sideways = {(a, b) for a, b in edges()
              if subpackage(a) != subpackage(b) and
              RANK[subpackage(a)] == RANK[subpackage(b)]}
  assert sideways == SIDEWAYS


def find_cycle(graph: set[tuple[str, str]]) -> list[str]:
  """One cycle of the directed graph as [a, b, ..., a], or [] if none."""
  succ = {}
  for a, b in graph:
    succ.setdefault(a, []).append(b)
  state, stack = {}, []

  def visit(node):
    state[node] = 'open'
    stack.append(node)
    for nxt in sorted(succ.get(node, ())):
      if state.get(nxt) == 'open':
        return stack[stack.index(nxt):] + [nxt]
      if nxt not in state and (cycle := visit(nxt)):
        return cycle
    state[node] = 'done'
    stack.pop()
    return []

  for node in sorted(succ):
    if node not in state and (cycle := visit(node)):
      return cycle
  return []


def test_no_module_cycle():
  assert find_cycle(edges()) == []


def test_the_cycle_check_finds_cycles():
  assert find_cycle({('a', 'b'), ('b', 'c'), ('c', 'a'), ('c', 'd')}) == [
      'a', 'b', 'c', 'a']
  assert find_cycle({('a', 'b'), ('a', 'c'), ('b', 'c')}) == []


def _offending(path, forbidden):
  return sorted(n for n in imported(path)
                if n.split('.')[0] in forbidden)


@pytest.mark.parametrize('layer', ['frontend', 'model'])
def test_core_imports_no_upper_layer(layer):
  for path in sorted((PACKAGE / layer).glob('*.py')):
    assert _offending(path, UPPER) == [], path


def test_package_does_not_import_benchmarks():
  for path in sorted(PACKAGE.rglob('*.py')):
    assert _offending(path, ('benchmarks', 'experiments')) == [], path


def test_tests_do_not_import_benchmarks():
  for path in sorted((ROOT / 'tests').rglob('*.py')):
    assert _offending(path, ('benchmarks', 'experiments')) == [], path


def test_the_check_sees_imports(tmp_path):
  probe = tmp_path / 'probe.py'
  probe.write_text('def f():\n  from benchmarks import cfp_speed\n'
                   'import configs.dense10\n'
                   'from jaxmelody.frontend import cfp, feature_config\n')
  assert _offending(probe, UPPER) == ['benchmarks.cfp_speed',
                                      'configs.dense10']
  assert {'jaxmelody.frontend.cfp',
          'jaxmelody.frontend.feature_config'} <= imported(probe)
