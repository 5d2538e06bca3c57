"""run.py restarts itself once with huge-page malloc (Linux only)."""

import os
import pathlib
import subprocess
import sys

import pytest

from jaxmelody import runtime

ROOT = pathlib.Path(__file__).resolve().parents[1]

_SHOW_ENV = r'''
import os, sys
sys.path.insert(0, sys.argv[1])
from jaxmelody import runtime
runtime.reexec_with_tuned_malloc()
print(os.getpid(), os.environ.get('GLIBC_TUNABLES', ''), sys.argv[2:])
'''


def _run(env, *args):
  out = subprocess.run([sys.executable, '-c', _SHOW_ENV, str(ROOT), *args],
                       env=env, capture_output=True, text=True, timeout=60,
                       check=True)
  pid, tunables, rest = out.stdout.strip().split(' ', 2)
  return tunables, rest


def test_tuned_environ_keeps_other_tunables():
  env = runtime.tuned_environ({'GLIBC_TUNABLES': 'glibc.malloc.arena_max=2',
                               'X': '1'})
  assert env['GLIBC_TUNABLES'] == ('glibc.malloc.arena_max=2:'
                                   'glibc.malloc.hugetlb=1')
  assert env['X'] == '1'
  assert runtime.tuned_environ(env) == env  # idempotent


@pytest.mark.skipif(not sys.platform.startswith('linux'),
                    reason='glibc tunables exist on Linux only')
def test_reexec_adds_the_setting_once_and_keeps_arguments():
  env = {k: v for k, v in os.environ.items()
         if k not in (runtime.TUNABLES, runtime.OPT_OUT)}
  tunables, rest = _run(env, 'a b', '--flag')
  assert tunables == runtime.HUGE_PAGES
  assert rest == "['a b', '--flag']"
  env[runtime.OPT_OUT] = '1'
  tunables, _ = _run(env)
  assert tunables == ''
