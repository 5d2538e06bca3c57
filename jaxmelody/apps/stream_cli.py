"""``jaxmelody --stream``: the melody of a live stream, frame by frame.

  ffmpeg -i song.mp3 -f f32le -ac 1 -ar 16000 - | jaxmelody --stream - \\
      --sample-rate 16000
  jaxmelody --stream --input-device default --midi-out 'Synth:0'

Reads raw PCM from standard input (or a microphone), writes ``time_s,f0_hz``
lines to standard output as frames become final (the same rows as the
offline ``STEM.csv``), optionally sends the notes to a MIDI port. Exit
status as the ``jaxmelody`` command: 0 done, 1 the audio ended mid-sample
(the complete samples were processed and reported), 2 nothing usable (bad
flags, no model, no device, audio that is not what the flags say).
"""

import argparse
import os
import sys

import numpy as np

from jaxmelody import errors
from jaxmelody import runtime
from jaxmelody.inference import decoding

FORMATS = {'f32le': np.dtype('<f4'), 's16le': np.dtype('<i2')}
READ_BYTES = 1 << 16
# Float PCM is within about [-1, 1]; values this large mean other data.
_FLOAT_LIMIT = 1e3


def _parser() -> argparse.ArgumentParser:
  p = argparse.ArgumentParser(
      prog='jaxmelody --stream',
      description='Melody of a live stream: raw PCM on standard input (or a '
      "microphone) to 'time_s,f0_hz' lines on standard output.")
  p.add_argument('--stream', nargs='?', const='-', default='-',
                 metavar='-', help="'-': read standard input (the default "
                 'unless --input-device)')
  p.add_argument('--pcm-format', choices=sorted(FORMATS), default='f32le',
                 help='sample format on standard input (default: %(default)s)')
  p.add_argument('--sample-rate', type=int, default=None, metavar='HZ',
                 help='rate of the input (default: 16000 for standard input,'
                 " the device's own for --input-device)")
  p.add_argument('--channels', type=int, default=1,
                 help='interleaved channels, mixed to mono (default: 1)')
  p.add_argument('--input-device', default=None, metavar='DEVICE',
                 help="read a microphone (index, name or 'default'; needs "
                 "pip install 'jaxmelody[live]')")
  p.add_argument('--midi-out', default=None, metavar='PORT',
                 help='also send the notes to this MIDI output port')
  p.add_argument('--decoder', choices=decoding.DECODERS,
                 default=decoding.DEFAULT_DECODER,
                 help='viterbi (default) decides each frame --lag frames '
                 'later; argmax at once')
  p.add_argument('--voicing-threshold', type=float, default=None, metavar='P')
  p.add_argument('--lag', type=int, default=None, metavar='FRAMES',
                 help='frames (16 ms) a Viterbi decision waits (default 32)')
  p.add_argument('--step', type=int, default=None, metavar='FRAMES',
                 help='frames per model pass (default 32): smaller = '
                 'sooner, more computation')
  p.add_argument('--checkpoint', default=None)
  p.add_argument('-v', '--verbose', action='store_true')
  return p


def _rows(melody) -> str:
  """Rows as ``STEM.csv`` has them."""
  from jaxmelody.apps import write_files  # pylint: disable=g-import-not-at-top
  return write_files.csv_rows(melody.times, melody.f0_hz)


class _Output:
  """Standard output and the MIDI port; a closed pipe just ends the run."""

  def __init__(self, port=None):
    self.port, self.closed = port, False
    self.frames = 0
    if port is not None:
      from jaxmelody.apps import live_io  # pylint: disable=g-import-not-at-top
      self.notes = live_io.LiveNotes()

  def write(self, melody, end: bool = False) -> None:
    self.frames += len(melody.f0_hz)
    if self.port is not None:
      for message in self.notes.push(melody.f0_hz) + (
          self.notes.flush() if end else []):
        self.port.send(message)
    if self.closed or not len(melody.f0_hz) and not end:
      return
    try:
      sys.stdout.write(_rows(melody))
      sys.stdout.flush()
    except BrokenPipeError:
      # The reader has gone (e.g. `| head`): stop quietly, as cat does.
      self.closed = True
      os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _stdin_blocks(dtype: np.dtype, channels: int):
  """Yields float32 [n, channels] blocks of standard input as they arrive.

  Returns (StopIteration value) the count of stray bytes at the end.
  """
  fd, frame = sys.stdin.fileno(), dtype.itemsize * channels
  pending = b''
  while True:
    data = os.read(fd, READ_BYTES)
    if not data:
      return len(pending)
    pending += data
    whole = len(pending) // frame * frame
    if whole:
      x = np.frombuffer(pending[:whole], dtype).reshape(-1, channels)
      pending = pending[whole:]
      x = (x.astype(np.float32) / 32768.0 if dtype.kind == 'i' else
           x.astype(np.float32))
      if dtype.kind == 'f' and not np.all(np.abs(x) <= _FLOAT_LIMIT):
        raise errors.AudioError(
            'standard input: NaN, infinite or huge sample values are not '
            'float PCM in [-1, 1]; is --pcm-format right (s16le?)')
      yield x


def _run(args, out: _Output) -> int:
  from jaxmelody.inference import api  # pylint: disable=g-import-not-at-top
  from jaxmelody.inference import stream  # pylint: disable=g-import-not-at-top
  kwargs = {k: v for k, v in (('lag', args.lag), ('step', args.step))
            if v is not None}
  config = api.default_config()
  if args.input_device is not None:
    from jaxmelody.apps import live_io  # pylint: disable=g-import-not-at-top
    mic = live_io.Microphone(args.input_device, args.sample_rate,
                             args.channels, block_s=0.02)
    s = stream.MelodyStream(mic.sample_rate, decoder=args.decoder,
                            voicing_threshold=args.voicing_threshold,
                            checkpoint=args.checkpoint, config=config,
                            **kwargs)
    s.warm_up()
    try:
      with mic:
        while not out.closed:
          out.write(s.push(mic.read()))
    except KeyboardInterrupt:  # Ctrl-C ends a microphone stream
      pass
    out.write(s.flush(), end=True)
    return 0
  s = stream.MelodyStream(args.sample_rate or 16000, decoder=args.decoder,
                          voicing_threshold=args.voicing_threshold,
                          checkpoint=args.checkpoint, config=config, **kwargs)
  s.warm_up()
  blocks = _stdin_blocks(FORMATS[args.pcm_format], args.channels)
  n_samples, stray = 0, 0
  try:
    while not out.closed:
      x = next(blocks)
      n_samples += len(x)
      out.write(s.push(x))
  except StopIteration as done:
    stray = done.value
  except KeyboardInterrupt:
    pass
  out.write(s.flush(), end=True)
  if not out.frames and not out.closed:
    raise errors.AudioError(
        f'standard input: {n_samples} samples, too short for one 16 ms '
        'frame (at least 32 ms of audio is needed)')
  if stray:
    frame = FORMATS[args.pcm_format].itemsize * args.channels
    print(f'error: standard input: ended mid-sample ({stray} stray bytes of '
          f'a {frame}-byte sample frame dropped; the frames above are '
          'complete)', file=sys.stderr)
    return 1
  return 0


def main(argv) -> int:
  """Runs ``jaxmelody --stream ...``; returns the exit status."""
  args = _parser().parse_args(argv)
  if args.stream != '-':
    _parser().error(f"--stream: {args.stream!r}: only '-' (standard input) "
                    'is read; use --input-device for a microphone')
  for name in ('sample_rate', 'channels', 'lag', 'step'):
    value = getattr(args, name)
    if value is not None and value < (0 if name == 'lag' else 1):
      _parser().error(f"--{name.replace('_', '-')}: {value} is out of range")
  if not args.verbose:
    runtime.quiet_libraries()
  port = None

  def run():
    nonlocal port
    if args.midi_out is not None:
      from jaxmelody.apps import live_io  # pylint: disable=g-import-not-at-top
      port = live_io.open_midi_output(args.midi_out)
    return _run(args, _Output(port))

  try:
    return errors.exit_status(
        run, interrupted='the frames above are complete')
  finally:
    if port is not None:
      port.close()
