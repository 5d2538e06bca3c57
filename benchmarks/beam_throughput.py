"""Throughput of ``jaxmelody-beam`` (DirectRunner) against ``jaxmelody FILES``.

Usage (from the repository root, with the [beam] extra installed)::

  python -m benchmarks.beam_throughput [--clips 100] [--seconds 10]
      [--workers 2] [--checkpoint PATH]

Writes ``--clips`` generated clips (``synth.synthesize``, ``--seconds``
each) into a temporary folder, then times, each as a fresh command (start-up,
model loading and compilation included, as a user sees it):

- ``jaxmelody <folder> -o A``;
- ``jaxmelody-beam --input=<folder>/*.wav --output=B
  --direct_num_workers=W --direct_running_mode=multi_processing``.

Both must write the same CSVs (checked). The weights do not change the
speed: by default random dense10 weights (``--checkpoint`` for others).
Prints seconds and "Nx real time" for each, then ``ratio: X`` (Beam's
throughput over the command's) as the last line; rewrites its section of
benchmarks/RESULTS.md unless ``--no_results``.
"""

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
import time

if __name__ == '__main__' and not __package__:
  # `python benchmarks/beam_throughput.py` from the repository root: rerun as
  # the module, so that the repository's packages import.
  os.execv(sys.executable,
           [sys.executable, '-m', 'benchmarks.beam_throughput', *sys.argv[1:]])
# pylint: disable=wrong-import-position
from benchmarks.report import load_avg, machine_info, update_results


def _random_weights(folder: pathlib.Path) -> None:
  """Random dense10 variables in the pretrained-folder format."""
  import flax.serialization
  from jaxmelody import default_config
  from jaxmelody.model import network
  variables = network.random_variables(
      network.create_model(default_config.get_config().model))
  (folder / 'variables.msgpack').write_bytes(
      flax.serialization.msgpack_serialize(variables))


def _timed(argv) -> float:
  start = time.perf_counter()
  run = subprocess.run(argv, capture_output=True, text=True, check=False)
  wall = time.perf_counter() - start
  if run.returncode:
    sys.exit(f'{argv[0]} failed ({run.returncode}):\n{run.stderr[-3000:]}')
  return wall


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--clips', type=int, default=100)
  parser.add_argument('--seconds', type=float, default=10.0)
  parser.add_argument('--workers', type=int, default=2)
  parser.add_argument('--checkpoint', default='')
  parser.add_argument('--no_results', action='store_true')
  args = parser.parse_args()
  before = load_avg()  # of whatever else runs on the machine
  import soundfile as sf
  from jaxmelody.data import synth
  bin_dir = pathlib.Path(sys.executable).parent
  with tempfile.TemporaryDirectory() as tmp:
    tmp = pathlib.Path(tmp)
    songs = tmp / 'songs'
    songs.mkdir()
    for i in range(args.clips):
      sf.write(songs / f'clip{i:04d}.wav',
               synth.synthesize(i, args.seconds).audio, 16000)
    checkpoint = args.checkpoint
    if not checkpoint:
      (tmp / 'weights').mkdir()
      _random_weights(tmp / 'weights')
      checkpoint = str(tmp / 'weights')
    audio_s = args.clips * args.seconds
    cli_s = _timed([str(bin_dir / 'jaxmelody'), str(songs), '-o',
                    str(tmp / 'cli'), '--checkpoint', checkpoint])
    beam_s = _timed([
        str(bin_dir / 'jaxmelody-beam'), f'--input={songs}/*.wav',
        f'--output={tmp / "beam"}', f'--checkpoint={checkpoint}',
        f'--direct_num_workers={args.workers}',
        '--direct_running_mode=multi_processing'])
    for name in sorted(os.listdir(tmp / 'cli')):
      if (tmp / 'cli' / name).read_bytes() != (tmp / 'beam' /
                                               name).read_bytes():
        sys.exit(f'{name}: jaxmelody and jaxmelody-beam outputs differ')
  lines = [
      f'clips: {args.clips} x {args.seconds:g} s = {audio_s:g} s of audio',
      f'jaxmelody FILES: {cli_s:.1f} s ({audio_s / cli_s:.1f}x real time)',
      f'jaxmelody-beam DirectRunner, {args.workers} workers '
      f'(multi_processing): {beam_s:.1f} s ({audio_s / beam_s:.1f}x real '
      'time)',
      f'ratio: {cli_s / beam_s:.2f}']
  print('\n'.join(lines))
  if not args.no_results:
    command = 'python -m benchmarks.beam_throughput ' + ' '.join(sys.argv[1:])
    update_results('Beam extraction (beam_throughput.py)', '\n'.join([
        f'Command: `{command.strip()}`  ', f'Machine: {machine_info()}  ',
        f'Load average before: {before}', '', '```', *lines, '```']))


if __name__ == '__main__':
  main()
