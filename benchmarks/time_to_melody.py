"""What a user waits for: the installed command, fresh process, cold and warm.

Usage (from the repository root, with the package installed)::

  python -m benchmarks.time_to_melody [--song_seconds 180] [--repeats 3]
      [--checkpoint PATH] [--no_results]
  python -m benchmarks.time_to_melody --song_seconds 20 --repeats 1 \
      --no_results   # does it run? (no figures worth keeping)

Runs the installed ``jaxmelody`` command as a fresh process, as a user
starts it, on two inputs:

- the bundled 5 s demo clip (``jaxmelody/demo/demo.flac``);
- a generated ``--song_seconds`` song (``synth.synthesize`` clips joined),
  44.1 kHz stereo, written as an mp3, so decoding and resampling count;

each a first run with empty caches (a fresh JAX compilation cache,
``JAXMELODY_CACHE_DIR``, and a fresh numba cache, ``NUMBA_CACHE_DIR``: the
first run after installing) and then ``--repeats`` runs with the caches the
first one filled (the best of them is "second run"). Wall seconds include
interpreter start-up, imports, weights, compilation or cache loading,
decoding and writing the CSV.

Beside them, measured in the same run (a subprocess of its own): the warm
pipeline, ``extract_melody`` on the song with everything compiled, best of
``--repeats``; and the default (Viterbi) decoder alone on the song's logits
(best of ``--repeats``), as a share of ``extract_melody``'s time, with its
pitch chain in each of its loops (numba, numpy) and librosa's dense Viterbi
over the same pitch posteriors for comparison;
and what a fresh process pays that the warm pipeline does not (the
interpreter, the command's imports, scipy.signal for resampling, numba for
Viterbi once a process's chains are long), each in fresh processes. The
command hides the second: a second process decodes and resamples while it
imports (``jaxmelody/apps/prefetch.py``); a 3-minute song stays in numpy
(``viterbi_loops.uses_numba``).

Prints the figures, then the issue's targets (second run of the demo
<= 3 s; the song's second run within 1.3x of the warm pipeline; Viterbi
<= 5% of ``extract_melody``) as yes/no; rewrites its section of
benchmarks/RESULTS.md unless ``--no_results``.
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
# pylint: disable=g-import-not-at-top,wrong-import-position

if __name__ == '__main__' and not __package__:
  # `python benchmarks/time_to_melody.py` from the repository root: rerun as
  # the module, so that the repository's packages import.
  os.execv(sys.executable,
           [sys.executable, '-m', 'benchmarks.time_to_melody', *sys.argv[1:]])
# pylint: disable=wrong-import-position
from benchmarks.report import load_avg, machine_info, update_results


def write_song(path: pathlib.Path, seconds: float, sr: int = 44100) -> float:
  """A stereo mp3 of joined synthetic clips; returns its duration (s)."""
  import numpy as np
  import soundfile as sf
  from jaxmelody.data import synth
  each = 6.0
  mono = np.concatenate([synth.synthesize(seed, each, sr=sr).audio
                         for seed in range(int(np.ceil(seconds / each)))])
  mono = mono[:int(seconds * sr)]
  # Two different channels, as a real mix: the other one a little delayed.
  stereo = np.stack([mono, 0.8 * np.roll(mono, sr // 100)], axis=1)
  sf.write(path, 0.9 * stereo / np.max(np.abs(stereo)), sr, format='MP3')
  return sf.info(path).duration


def run_command(command: str, audio: pathlib.Path, out: pathlib.Path,
                caches: pathlib.Path, checkpoint: str) -> float:
  """Wall seconds of one fresh ``jaxmelody`` process (exits non-zero: stop)."""
  env = dict(os.environ, JAXMELODY_CACHE_DIR=str(caches / 'jaxmelody'),
             NUMBA_CACHE_DIR=str(caches / 'numba'))
  argv = [command, str(audio), '-o', str(out)]
  if checkpoint:
    argv += ['--checkpoint', checkpoint]
  start = time.perf_counter()
  run = subprocess.run(argv, env=env, cwd=out.parent, capture_output=True,
                       text=True, check=False)
  wall = time.perf_counter() - start
  if run.returncode:
    sys.exit(f'{" ".join(argv)} failed ({run.returncode}):\n'
             f'{run.stderr[-3000:]}')
  return wall


def warm_worker(path: str, repeats: int, checkpoint: str) -> dict:
  """In its own process: extract_melody warm, and the decoders alone."""
  import librosa
  import numpy as np
  from jaxmelody.frontend import audio
  from jaxmelody.frontend import cfp
  from jaxmelody.frontend.feature_config import FEATURES
  from jaxmelody.frontend import pitch
  from jaxmelody.inference import api
  from jaxmelody.inference import decoding
  from jaxmelody.inference import viterbi_loops
  checkpoint = checkpoint or None
  api.extract_melody(path, checkpoint=checkpoint)  # compile everything
  extract_s = []
  for _ in range(repeats):
    start = time.perf_counter()
    melody = api.extract_melody(path, checkpoint=checkpoint)
    extract_s.append(time.perf_counter() - start)
  model = api.get_model(api.default_config(), checkpoint)
  samples = audio.load_audio(path)
  logits = model.logits(cfp.compute_cfp(samples))
  probs = pitch.softmax(np.asarray(logits, np.float64), axis=-1)
  given = decoding.pitch_given_voiced(probs).T
  decode_s, paths = [], {}
  chain_s = {'numba': [], 'numpy': []}
  uses_numba = viterbi_loops.uses_numba  # librosa loaded numba: it runs
  for _ in range(repeats):
    start = time.perf_counter()
    f0, _ = decoding.decode(logits, decoder='viterbi')
    decode_s.append(time.perf_counter() - start)
    for loop in chain_s:  # each loop of the pitch chain on its own
      viterbi_loops.uses_numba = lambda n_steps, loop=loop: loop == 'numba'
      start = time.perf_counter()
      paths[loop] = decoding.viterbi_pitch(probs)
      chain_s[loop].append(time.perf_counter() - start)
    viterbi_loops.uses_numba = uses_numba
  start = time.perf_counter()  # once: the dense product is the slow one
  dense = 1 + librosa.sequence.viterbi(given, decoding.pitch_transition())
  dense_s = time.perf_counter() - start
  if not (np.array_equal(f0, melody.f0_hz)
          and all(np.array_equal(path, dense) for path in paths.values())):
    raise SystemExit('decoders disagree: banded Viterbi is not librosa\'s')
  return {'audio_s': len(samples) / FEATURES.sample_rate,
          'frames': len(logits), 'extract_s': min(extract_s),
          'decode_s': min(decode_s), 'numba_s': min(chain_s['numba']),
          'numpy_s': min(chain_s['numpy']), 'dense_s': dense_s}


# Start-up work a fresh process does and the warm pipeline does not, each
# timed inside a fresh interpreter after its own start (seconds printed).
_START_UP = (
    ("the command's imports (jax included)",
     'import jaxmelody.apps.cli, jaxmelody.inference.api, '
     'jaxmelody.apps.write_files'),
    ('scipy.signal (resampling to 16 kHz; the decoding worker imports it '
     'beside them)', 'import scipy.signal'),
    ('numba and the cached Viterbi loop (which a process loads only once '
     'its chains pass viterbi_loops._NUMPY_MAX_FRAMES)',
     "from jaxmelody.inference import decoding; "
     "decoding.prepare(10 ** 6, 'viterbi')"),
)


def start_up_seconds(code: str, env: dict, repeats: int) -> float:
  """Best of ``repeats`` fresh processes: seconds ``code`` takes to run."""
  timed = ('import time; t = time.perf_counter(); ' + code
           + '; print(time.perf_counter() - t)')
  runs = []
  for _ in range(repeats):
    run = subprocess.run([sys.executable, '-c', timed], env=env, cwd=ROOT,
                         capture_output=True, text=True, check=True)
    runs.append(float(run.stdout.strip().splitlines()[-1]))
  return min(runs)


def interpreter_seconds(env: dict, repeats: int) -> float:
  """Best of ``repeats``: wall seconds of ``python -c pass``."""
  runs = []
  for _ in range(repeats):
    start = time.perf_counter()
    subprocess.run([sys.executable, '-c', 'pass'], env=env, check=True)
    runs.append(time.perf_counter() - start)
  return min(runs)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--song_seconds', type=float, default=180.0)
  parser.add_argument('--repeats', type=int, default=3)
  parser.add_argument('--checkpoint', default='',
                      help='other weights (default: the bundled model)')
  parser.add_argument('--no_results', action='store_true')
  parser.add_argument('--warm_worker', default='', help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.warm_worker:  # the subprocess that measures the warm pipeline
    print(json.dumps(warm_worker(args.warm_worker, args.repeats,
                                 args.checkpoint)))
    return
  before = load_avg()  # of whatever else runs on the machine
  from jaxmelody.inference import api
  command = str(pathlib.Path(sys.executable).parent / 'jaxmelody')
  if not os.path.exists(command):
    sys.exit(f'{command}: not installed (pip install -e . first)')
  checkpoint = os.path.abspath(args.checkpoint) if args.checkpoint else ''
  lines = []
  with tempfile.TemporaryDirectory() as tmp:
    tmp = pathlib.Path(tmp)
    song = tmp / 'song.mp3'
    song_s = write_song(song, args.song_seconds)
    import soundfile as sf
    inputs = [('demo', api.DEMO_AUDIO, sf.info(api.DEMO_AUDIO)
               .duration), ('song', song, song_s)]
    walls = {}
    for name, path, seconds in inputs:
      caches = tmp / f'caches_{name}'  # empty for each input's first run
      first = run_command(command, path, tmp / f'out_{name}', caches,
                          checkpoint)
      # Best of --repeats, like the warm pipeline: the same noise filter.
      second = min(run_command(command, path, tmp / f'out_{name}', caches,
                               checkpoint) for _ in range(args.repeats))
      walls[name] = second
      lines.append(
          f'{name} ({seconds:.1f} s of audio, {pathlib.Path(path).suffix}): '
          f'first run {first:.2f} s wall ({seconds / first:.1f}x real time), '
          f'second run (best of {args.repeats}) {second:.2f} s '
          f'({seconds / second:.1f}x real time)')
    worker = subprocess.run(
        [sys.executable, '-m', 'benchmarks.time_to_melody', '--warm_worker',
         str(song), '--repeats', str(args.repeats), '--checkpoint',
         checkpoint], cwd=ROOT, capture_output=True, text=True, check=False,
        env=dict(os.environ, JAXMELODY_CACHE_DIR=str(tmp / 'caches_song' /
                                                     'jaxmelody')))
    if worker.returncode:
      sys.exit(f'warm pipeline failed:\n{worker.stderr[-3000:]}')
    warm = json.loads(worker.stdout.strip().splitlines()[-1])
    from jaxmelody import runtime
    env = runtime.tuned_environ(dict(
        os.environ, NUMBA_CACHE_DIR=str(tmp / 'caches_song' / 'numba')))
    start_up = [(what, start_up_seconds(code, env, args.repeats))
                for what, code in _START_UP]
    start_up.insert(0, ('the interpreter', interpreter_seconds(
        env, args.repeats)))
  audio_s, extract_s = warm['audio_s'], warm['extract_s']
  share = warm['decode_s'] / extract_s
  ratio = walls['song'] / extract_s

  def per_frame(key):
    return (f'{warm[key]:.3f} s ({1e6 * warm[key] / warm["frames"]:.1f} us '
            'per frame)')

  lines += [
      f'warm pipeline (extract_melody on the song, best of {args.repeats}): '
      f'{extract_s:.2f} s ({audio_s / extract_s:.1f}x real time)',
      f'viterbi decode (pitch and voicing chains, best of {args.repeats}): '
      f'{warm["decode_s"]:.3f} s = {100 * share:.1f}% of extract_melody; '
      'pitch chain: banded in numba ' + per_frame('numba_s')
      + ', banded in numpy ' + per_frame('numpy_s') + ', librosa dense '
      + per_frame('dense_s') + ' (the same path)',
      f'song second run / warm pipeline: {ratio:.2f} '
      f'({walls["song"] - extract_s:.2f} s more)',
      f'start-up the warm pipeline does not pay (fresh process each, best of '
      f'{args.repeats}): ' + ', '.join(f'{what} {seconds:.2f} s'
                                       for what, seconds in start_up),
      'targets: demo second run <= 3 s: '
      f'{"yes" if walls["demo"] <= 3 else "no"}; song second run within '
      f'1.3x of the warm pipeline: {"yes" if ratio <= 1.3 else "no"}; '
      f'viterbi <= 5% of extract_melody: {"yes" if share <= 0.05 else "no"}']
  print('\n'.join(lines))
  if not args.no_results:
    invocation = ('python -m benchmarks.time_to_melody '
                  + ' '.join(sys.argv[1:])).strip()
    update_results('Time to melody (time_to_melody.py)', '\n'.join([
        f'Command: `{invocation}`  ', f'Machine: {machine_info()}  ',
        f'Load average before: {before}', '', '```', *lines, '```']))


if __name__ == '__main__':
  main()
