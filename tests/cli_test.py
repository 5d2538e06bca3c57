"""The `jaxmelody` command, in process and installed from a wheel."""

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from jaxmelody.apps import cli

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_help_explains_outputs_and_options(capsys):
  with pytest.raises(SystemExit) as stop:
    cli.main(['--help'])
  assert stop.value.code == 0
  text = capsys.readouterr().out
  for needle in ('--voicing-threshold', '--decoder', '--midi', 'STEM.csv',
                 'mir_eval.io.load_time_series', 'examples:',
                 '31.5 to 1250 Hz', 'the first frame at 0.016 s',
                 'time_s,f0_hz,confidence', "input's sample rate"):
    assert needle in text, needle


def test_good_and_bad_files(songs, dense10_weights, tmp_path, capsys):
  out = tmp_path / 'out'
  status = cli.main([str(songs / 'a, b.wav'), str(songs / 'broken.wav'),
                     '-o', str(out), '--checkpoint', str(dense10_weights),
                     '--midi', '--confidence'])
  assert status == 1  # one input failed, the other was processed
  assert sorted(os.listdir(out)) == ['a, b.confidence.csv', 'a, b.csv',
                                     'a, b.mid']
  err = capsys.readouterr().err
  assert [l for l in err.splitlines() if l.startswith('error: ')] == [
      l for l in err.splitlines() if 'broken.wav' in l]
  f0 = np.loadtxt(out / 'a, b.csv', delimiter=',')
  assert f0.shape == (62, 2)


@pytest.mark.parametrize('argv,message', [
    (['missing.wav'], 'missing.wav'),
    (['x.wav', '--voicing-threshold', '1.5'], 'voicing threshold'),
])
def test_unusable_requests_exit_2_with_one_error_line(argv, message,
                                                      dense10_weights,
                                                      tmp_path, capsys):
  status = cli.main(argv + ['-o', str(tmp_path), '--checkpoint',
                            str(dense10_weights)])
  assert status == 2
  err = capsys.readouterr().err.strip().splitlines()
  assert len(err) == 1 and err[0].startswith('error: ') and message in err[0]


@pytest.mark.slow
def test_works_from_a_wheel_outside_the_checkout(dense10_weights,
                                                  tmp_path):
  """Everything the command needs at run time is inside the wheel."""
  dist, target = tmp_path / 'dist', tmp_path / 'site'
  subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '-q',
                  '-w', str(dist), str(ROOT)],
                 check=True, capture_output=True, timeout=600)
  wheel = next(dist.glob('jaxmelody-*.whl'))
  subprocess.run([sys.executable, '-m', 'pip', 'install', '--no-deps', '-q',
                  '--target', str(target), str(wheel)], check=True,
                 capture_output=True, timeout=600)
  work = tmp_path / 'elsewhere'
  work.mkdir()
  env = dict(os.environ, PYTHONPATH=str(target))
  # With a bundled model the wheel must carry it and use it by default.
  bundled = (ROOT / 'jaxmelody' / 'pretrained' / 'dense10' /
             'variables.msgpack').is_file()
  if bundled:
    assert (target / 'jaxmelody' / 'pretrained' / 'dense10' /
            'variables.msgpack').is_file()
  checkpoint = '' if bundled else str(dense10_weights)
  api = subprocess.run(
      [sys.executable, '-c',
       'import jaxmelody, sys; from jaxmelody.inference import api; '
       'assert jaxmelody.__file__.startswith(sys.argv[1]), jaxmelody.__file__; '
       'm = jaxmelody.extract_melody(str(api.DEMO_AUDIO), '
       'checkpoint=sys.argv[2] or None); print(len(m.f0_hz))',
       str(target), checkpoint],
      cwd=work, env=env, capture_output=True, text=True, timeout=600)
  assert api.returncode == 0, api.stderr[-2000:]
  assert int(api.stdout.split()[-1]) > 0
  command = subprocess.run(
      [str(target / 'bin' / 'jaxmelody'), str(target / 'jaxmelody' / 'demo' /
                                              'demo.flac')]
      + (['--checkpoint', checkpoint] if checkpoint else []),
      cwd=work, env=env, capture_output=True, text=True, timeout=600)
  assert command.returncode == 0, command.stderr[-2000:]
  assert (work / 'melody_out' / 'demo.csv').is_file()
  assert command.stderr == ''  # quiet: no warnings or log lines


# Runs the command in a fresh process; prints its status, the compilation
# cache's hits and writes (JAX counts a write as a miss; it writes only
# programs that took 0.2 s or more to compile), its slowest compilation in
# seconds (a cache hit counts as one, short) and the heavy modules it
# imported.
_FRESH_COMMAND = r'''
import collections, sys
import jax.monitoring
events = collections.Counter()
compiles = [0.0]
jax.monitoring.register_event_listener(
    lambda name, **kwargs: events.update([name]))
jax.monitoring.register_event_duration_secs_listener(
    lambda name, secs, **kwargs: compiles.append(secs)
    if name == '/jax/core/compile/backend_compile_duration' else None)
from jaxmelody.apps import cli
status = cli.main(sys.argv[1:])
heavy = [m for m in ('mir_eval', 'tensorflow_datasets', 'grain', 'orbax',
                     'optax', 'tensorboardX', 'matplotlib', 'pretty_midi')
         if m in sys.modules]
print(status, events['/jax/compilation_cache/cache_hits'],
      events['/jax/compilation_cache/cache_misses'], max(compiles),
      ','.join(heavy) or '-')
'''


@pytest.mark.slow
def test_a_second_process_loads_compiled_programs(songs, dense10_weights,
                                                  tmp_path):
  """Extraction imports no training or evaluation library, and the second
  process finds every compiled program in the cache folder."""
  env = dict(os.environ, JAXMELODY_CACHE_DIR=str(tmp_path / 'cache'))
  runs = []
  for _ in range(2):
    out = subprocess.run(
        [sys.executable, '-c', _FRESH_COMMAND, str(songs / 'a, b.wav'), '-o',
         str(tmp_path / 'out'), '--checkpoint', str(dense10_weights)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    runs.append(out.stdout.split()[-5:])
  (status, hits, writes, slowest, heavy), again = runs
  assert (status, hits, heavy) == ('0', '0', '-') and int(writes) > 0
  # Every program the first process wrote, the second reads.
  assert (again[0], again[1], again[4]) == ('0', writes, '-')
  # Nothing costly is compiled again. Not `again[2] == '0'`: a program that
  # compiled in just under 0.2 s the first time (not written) may take just
  # over it on a loaded machine the second time (written then).
  assert float(again[3]) < 0.1 * float(slowest), (slowest, again)
  assert list((tmp_path / 'cache' / 'jax').glob('*-cache'))


def test_predict_reads_the_configs_decoding_unless_told(monkeypatch):
  """``run.py --mode=predict`` passes its config's eval.decoder and
  eval.voicing_threshold; the command's flags win over them."""
  from jaxmelody import default_config  # pylint: disable=g-import-not-at-top
  from jaxmelody.apps import write_files  # pylint: disable=g-import-not-at-top
  calls = []
  monkeypatch.setattr(write_files, 'run_predict',
                      lambda config, **kwargs: calls.append(kwargs) or 0)
  config = default_config.get_config()
  config.eval.decoder, config.eval.voicing_threshold = 'argmax', 0.6
  cli.predict(config, 'x.wav', midi=True, confidence=True)
  cli.predict(config, 'x.wav', decoder='viterbi', voicing_threshold=0.4)
  config.eval.voicing_threshold = 0.0  # the decoder's own decision
  cli.predict(config, 'x.wav')
  assert [(c['decoder'], c['voicing_threshold']) for c in calls] == [
      ('argmax', 0.6), ('viterbi', 0.4), ('argmax', None)]
  assert calls[0]['midi'] and calls[0]['confidence']
