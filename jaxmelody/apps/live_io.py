"""Live input and output for ``jaxmelody --stream``: microphone and MIDI.

Both need the optional extra ``pip install 'jaxmelody[live]'``
(``sounddevice`` for the microphone, ``mido`` with ``python-rtmidi`` for MIDI
ports); without it, or without a device, they raise ``errors.ConfigError``
with a message that says so, which the command prints as one ``error:`` line.

``LiveNotes`` turns frames into note on/off messages as they come, with the
segmentation of ``midi.notes`` (a note is a run of at least ``MIN_FRAMES``
frames on one semitone): a note starts once it has lasted that long, so it
sounds ``MIN_FRAMES`` frames late, and ends with the first frame off it.
"""

import queue

import numpy as np

from jaxmelody.apps import midi
from jaxmelody import errors

_EXTRA = "pip install 'jaxmelody[live]'"


class LiveNotes:
  """Note on/off messages (``mido.Message``) of frames as they arrive."""

  def __init__(self, min_frames: int = midi.MIN_FRAMES):
    import mido  # pylint: disable=g-import-not-at-top
    self._mido = mido
    self.min_frames = min_frames
    self._number, self._run = 0, 0  # the current semitone and its length
    self._sounding = False

  def _off(self):
    return [self._mido.Message('note_off', note=int(self._number),
                               velocity=0)] if self._sounding else []

  def push(self, f0_hz) -> list:
    """Messages due after these frames, in order."""
    out = []
    for number in midi.semitones(f0_hz):
      if number == self._number:
        self._run += 1
      else:
        out += self._off()
        self._number, self._run, self._sounding = number, 1, False
      if self._number > 0 and not self._sounding and (
          self._run >= self.min_frames):
        out.append(self._mido.Message('note_on', note=int(self._number),
                                      velocity=midi.VELOCITY))
        self._sounding = True
    return out

  def flush(self) -> list:
    """The note_off of a note still sounding at the end."""
    out = self._off()
    self._number, self._run, self._sounding = 0, 0, False
    return out


def open_midi_output(port: str):
  """A mido output port by name; ConfigError when missing or impossible."""
  try:
    import mido  # pylint: disable=g-import-not-at-top
    names = mido.get_output_names()
  except ImportError as e:
    raise errors.ConfigError(f'--midi-out: needs mido and python-rtmidi '
                             f'({e.name} is missing); {_EXTRA}') from e
  except Exception as e:  # the backend's own errors (no ALSA, ...)
    raise errors.ConfigError(f'--midi-out: no MIDI system available '
                             f'({type(e).__name__}: {e})') from e
  if port not in names:
    known = ', '.join(repr(n) for n in names) or 'none'
    raise errors.ConfigError(f'--midi-out: no MIDI output port {port!r} '
                             f'(available: {known})')
  try:
    return mido.open_output(port)
  except Exception as e:  # pylint: disable=broad-except
    raise errors.ConfigError(f'--midi-out: cannot open {port!r} '
                             f'({type(e).__name__}: {e})') from e


class Microphone:
  """Blocks of float32 samples [n, channels] from an input device."""

  def __init__(self, device, sample_rate, channels: int, block_s: float):
    try:
      import sounddevice  # pylint: disable=g-import-not-at-top
    except (ImportError, OSError) as e:  # OSError: no PortAudio library
      raise errors.ConfigError(f'--input-device: needs sounddevice ({e}); '
                               f'{_EXTRA}') from e
    self._blocks = queue.Queue()
    device = (None if device in (None, '', 'default') else
              int(device) if str(device).isdigit() else device)
    try:
      info = sounddevice.query_devices(device, 'input')
      self.sample_rate = int(sample_rate or info['default_samplerate'])
      self._stream = sounddevice.InputStream(
          device=device, channels=channels, samplerate=self.sample_rate,
          dtype='float32', blocksize=int(self.sample_rate * block_s),
          callback=lambda block, *_: self._blocks.put(block.copy()))
    except Exception as e:  # PortAudioError, ValueError: no such device
      raise errors.ConfigError(f'--input-device: no usable input device '
                               f'{device!r} ({e})') from e

  def __enter__(self):
    try:
      self._stream.start()
    except Exception as e:  # PortAudioError: busy, unplugged, no permission
      self._stream.close()
      raise errors.ConfigError(f'--input-device: the device would not start '
                               f'({e})') from e
    return self

  def __exit__(self, *exc):
    self._stream.stop()
    self._stream.close()

  def read(self):
    """The next block [n, channels] (waits for it)."""
    return self._blocks.get()
