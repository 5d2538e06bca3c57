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


def test_cache_dir_is_the_variable_else_the_users_cache(monkeypatch, tmp_path):
  assert runtime.cache_dir({runtime.CACHE_ENV: str(tmp_path)}) == str(tmp_path)
  for off in ('off', 'OFF', '0'):
    assert runtime.cache_dir({runtime.CACHE_ENV: off}) is None
  if sys.platform.startswith('linux'):
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    assert runtime.cache_dir({}) == str(tmp_path / 'xdg' / 'jaxmelody')


_CACHE_IN_USE = r'''
import sys
sys.path.insert(0, sys.argv[1])
from jaxmelody import runtime
print(runtime.use_compilation_cache())
'''


@pytest.mark.parametrize('env,expected', [
    ({runtime.CACHE_ENV: '{tmp}/mine'}, '{tmp}/mine/jax'),
    ({runtime.CACHE_ENV: 'off'}, 'None'),
    # A cache the user configured for JAX is theirs to keep.
    ({'JAX_COMPILATION_CACHE_DIR': '{tmp}/theirs'}, '{tmp}/theirs'),
])
def test_compilation_cache_folder(env, expected, tmp_path):
  env = {k: v.format(tmp=tmp_path) for k, v in env.items()}
  out = subprocess.run(
      [sys.executable, '-c', _CACHE_IN_USE, str(ROOT)],
      env=dict({k: v for k, v in os.environ.items()
                if k not in (runtime.CACHE_ENV, 'JAX_COMPILATION_CACHE_DIR')},
               **env),
      capture_output=True, text=True, timeout=120, check=True)
  assert out.stdout.strip() == expected.format(tmp=tmp_path)
