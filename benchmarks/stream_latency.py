"""Streaming delay and speed: ``MelodyStream`` fed in real time.

For each chunk size, the audio is pushed one chunk at a time at the pace
it would arrive from a microphone (a chunk is pushed when its last sample
would have arrived). A frame's delay is the wall time from the arrival of
its centre sample to the ``push`` (or ``flush``) that returns it, after
the first window (start-up: the first output comes once a whole window,
step + 2 x radius frames, has arrived, reported apart); the
streaming real-time factor is seconds of audio per second spent in
``push``. Beside them: the delay the design imposes (receptive radius x
16 ms + the right half of the CFP window, + waiting for a window's step and
the Viterbi lag), and the offline ``extract_melody`` speed on the same audio
in the same run.

  python -m benchmarks.stream_latency [--seconds=30] [--chunks_ms=20,100,500]
      [--decoder=viterbi] [--lag=32] [--step=32] [--audio=FILE] [--no_results]

Each chunk size takes about --seconds of wall time (real-time pacing).
"""

import argparse
import os
import sys
import time

import numpy as np

if __name__ == '__main__' and not __package__:
  # `python benchmarks/stream_latency.py` from the repository root: rerun as
  # the module, so that the repository's packages import.
  os.execv(sys.executable,
           [sys.executable, '-m', 'benchmarks.stream_latency', *sys.argv[1:]])
# pylint: disable=wrong-import-position
from benchmarks.report import machine_info, update_results
from jaxmelody import errors
from jaxmelody.frontend import audio as audio_lib
from jaxmelody.inference import api
from jaxmelody.inference import stream
from jaxmelody.inference import stream_decode

SECTION = 'Streaming delay and speed (stream_latency.py)'
SR = 16000


def _clip(path, seconds: float) -> np.ndarray:
  """``seconds`` of 16 kHz audio: the file, repeated as needed."""
  x = audio_lib.load_audio(path or api.DEMO_AUDIO)
  reps = int(np.ceil(seconds * SR / len(x)))
  return np.tile(x, reps)[:int(seconds * SR)]


def _paced(x, chunk: int, kwargs):
  """(delays s [frames], first output s, busy s) of one paced stream."""
  s = stream.MelodyStream(SR, **kwargs)
  s.warm_up()
  delays, busy, first = [], 0.0, None
  start = time.perf_counter()
  for i in range(0, len(x) + chunk, chunk):
    end = min(i + chunk, len(x))
    last = i >= len(x)
    if not last:  # wait for the chunk's last sample to "arrive"
      time.sleep(max(0.0, start + end / SR - time.perf_counter()))
    t0 = time.perf_counter()
    melody = s.flush() if last else s.push(x[i:end])
    t1 = time.perf_counter()
    busy += t1 - t0
    # Frame k's centre sample arrives (k + 1) * 16 ms after the start.
    delays.extend((t1 - start) - melody.times)
    if first is None and len(melody.times):
      first = t1 - start
    if last:
      break
  # The first window waits for all its frames: those are start-up, not the
  # steady delay; they are reported as the time of the first output.
  return np.asarray(delays)[s.window - s.radius:], first, busy


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--seconds', type=float, default=30.0)
  parser.add_argument('--chunks_ms', default='20,100,500')
  parser.add_argument('--decoder', default='viterbi',
                      choices=('argmax', 'viterbi'))
  parser.add_argument('--lag', type=int, default=stream_decode.DEFAULT_LAG)
  parser.add_argument('--step', type=int, default=stream.DEFAULT_STEP)
  parser.add_argument('--audio', default='', help='default: the demo clip')
  parser.add_argument('--no_results', action='store_true',
                      help='do not rewrite its section of RESULTS.md')
  args = parser.parse_args()
  x = _clip(args.audio, args.seconds)
  kwargs = {'decoder': args.decoder, 'lag': args.lag, 'step': args.step}

  api.extract_melody(x[:SR], SR)  # compile, then time the offline path
  t0 = time.perf_counter()
  api.extract_melody(x, SR, decoder=args.decoder)
  offline = len(x) / SR / (time.perf_counter() - t0)

  s = stream.MelodyStream(SR, **kwargs)
  d = s.delays_s()
  design = d['receptive'] + d['cfp']
  lines = [
      f'audio: {len(x) / SR:.1f} s, decoder {args.decoder}'
      + (f' lag {args.lag}' if args.decoder == 'viterbi' else '')
      + f', step {args.step} frames (window {s.window})',
      f'design delay: receptive {s.radius} frames x 16 ms = '
      f'{d["receptive"] * 1e3:.0f} ms + CFP half window {d["cfp"] * 1e3:.0f}'
      f' ms = {design * 1e3:.0f} ms; + step wait up to '
      f'{d["step"] * 1e3:.0f} ms + Viterbi lag {d["lag"] * 1e3:.0f} ms = '
      f'{(design + d["step"] + d["lag"]) * 1e3:.0f} ms at most',
      f'offline extract_melody: {offline:.1f}x real time',
      'chunk ms   first output ms   delay median ms   delay p95 ms   '
      'streaming x real time']
  for chunk_ms in [int(c) for c in args.chunks_ms.split(',')]:
    delays, first, busy = _paced(x, int(chunk_ms * SR / 1000), kwargs)
    if not len(delays):
      raise errors.ConfigError('--seconds: too short for one window after '
                               'the first; give more')
    lines.append(f'{chunk_ms:8d}   {first * 1e3:15.0f}   '
                 f'{np.median(delays) * 1e3:15.0f}   '
                 f'{np.percentile(delays, 95) * 1e3:12.0f}   '
                 f'{len(x) / SR / busy:21.1f}')
    print(lines[-1] if len(lines) > 5 else '\n'.join(lines), flush=True)
  if not args.no_results:
    update_results(SECTION, f'Command: `python -m benchmarks.stream_latency '
                   f'{" ".join(sys.argv[1:])}`  \nMachine: {machine_info()}'
                   '\n\n```\n' + '\n'.join(lines) + '\n```')
  return 0


if __name__ == '__main__':
  sys.exit(errors.exit_status(main))
