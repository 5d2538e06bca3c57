"""CI runs the README's test command, character for character."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_ci_runs_the_readmes_test_command():
  readme = (ROOT / 'README.md').read_text(encoding='utf-8')
  commands = re.findall(r'^(.*python -m pytest.*?)\s+# the test suite',
                        readme, flags=re.M)
  assert len(commands) == 1, commands
  ci_lines = (ROOT / '.ci' / 'run').read_text(encoding='utf-8').splitlines()
  assert commands[0].strip() in ci_lines


def test_pytest_shows_skip_reasons():
  setup = (ROOT / 'setup.cfg').read_text(encoding='utf-8')
  assert re.search(r'^addopts\s*=.*-rs\b', setup, flags=re.M)
