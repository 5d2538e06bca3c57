"""Peak memory of ``extract_melody`` on a long song.

  python -m benchmarks.long_song_memory [--minutes 10] [--checkpoint PATH]
      [--no_results]

Writes a synthetic mixture of ``--minutes`` minutes at 44.1 kHz (16-bit
wav, ``jaxmelody.data.synth``) to a temporary folder, then runs
``jaxmelody.extract_melody(path, checkpoint=...)`` once in a fresh child
process and prints the child's peak resident memory (its VmHWM) and its
wall time. ``--checkpoint`` defaults to the bundled
pretrained dense10 when there is one, else the authors' released weights in
../shared; the one used is printed. Rewrites its section of
benchmarks/RESULTS.md unless --no_results.
"""

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
SECTION = 'Long-song memory (long_song_memory.py)'
RELEASED = (ROOT.parent / 'shared' / 'reference' / 'msfcn' /
            'train_single_for_pitch_epoch_22.pkl')
# The child reports its own peak (VmHWM, reset at exec). RUSAGE_CHILDREN's
# ru_maxrss would also count the pages it shared with this process at fork,
# i.e. this process's own peak (the synthesized song).
CHILD = """
import sys, jax, jaxmelody
melody = jaxmelody.extract_melody(sys.argv[1], checkpoint=sys.argv[2] or None)
hwm = [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')]
print('frames', len(melody.f0_hz), 'backend', jax.default_backend())
print('VmHWM_kB', hwm[0])
"""


def default_checkpoint() -> str:
  bundled = ROOT / 'jaxmelody' / 'pretrained' / 'dense10'
  if (bundled / 'variables.msgpack').is_file():
    return ''  # extract_melody's own default
  return str(RELEASED)


def write_song(path, minutes: float, seed: int = 0) -> float:
  """Writes the mixture; returns its duration in seconds."""
  import soundfile as sf
  from jaxmelody.data import synth
  clip = synth.synthesize(seed, 60.0 * minutes, sr=44100)
  sf.write(path, clip.audio, 44100, subtype='PCM_16')
  return len(clip.audio) / 44100


def run_child(path, checkpoint) -> tuple[float, float, str]:
  """(peak RSS MiB, wall s, the child's last output line) of one extraction.

  The peak is the child's VmHWM (/proc/self/status) at its end.
  """
  tick = time.perf_counter()
  proc = subprocess.run([sys.executable, '-c', CHILD, str(path), checkpoint],
                        cwd=ROOT, stdout=subprocess.PIPE, text=True,
                        env=dict(os.environ, PYTHONPATH=str(ROOT)),
                        check=False)
  wall = time.perf_counter() - tick
  if proc.returncode:
    sys.exit(f'error: extraction failed with status {proc.returncode}')
  lines = proc.stdout.strip().splitlines()
  peak = int(lines[-1].split()[1]) / 1024
  return peak, wall, lines[-2]


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--minutes', type=float, default=10.0)
  parser.add_argument('--checkpoint', default=None)
  parser.add_argument('--no_results', action='store_true')
  args = parser.parse_args(argv)
  checkpoint = default_checkpoint() if args.checkpoint is None else (
      args.checkpoint)
  with tempfile.TemporaryDirectory() as tmp:
    path = pathlib.Path(tmp) / 'song.wav'
    seconds = write_song(path, args.minutes)
    peak, wall, child = run_child(path, checkpoint)
  used = (os.path.relpath(checkpoint, ROOT) if checkpoint
          else 'bundled pretrained dense10')
  text = '\n'.join([
      f'song: {seconds:.0f} s synthetic mixture, 44.1 kHz 16-bit wav',
      f'weights: {used}; child: {child}',
      f'peak RSS of the extracting process: {peak:.0f} MiB',
      f'wall time (load, compile, extract): {wall:.1f} s'])
  print(text)
  if not args.no_results:
    from benchmarks.report import machine_info, update_results
    update_results(SECTION, f'Command: `python -m benchmarks.long_song_memory'
                   f' --minutes {args.minutes:g}`  \nMachine: '
                   f'{machine_info()}\n\n```\n{text}\n```')


if __name__ == '__main__':
  if not __package__:
    # `python benchmarks/long_song_memory.py` from the repository root: rerun
    # as the module, so that the repository's packages import.
    os.execv(sys.executable, [sys.executable, '-m',
                              'benchmarks.long_song_memory', *sys.argv[1:]])
  main()
