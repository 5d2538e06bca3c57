"""The melody as MIDI notes (pretty_midi).

An f0 contour becomes notes by rounding each voiced frame to the nearest
equal-tempered semitone, joining runs of frames on the same note, and
dropping runs shorter than ``min_frames`` (vibrato and glides cross a
semitone boundary for a frame or two; those frames then belong to no note).
"""

import numpy as np
import pretty_midi

from jaxmelody.frontend.feature_config import FEATURES

# Runs shorter than this (3 frames = 48 ms) are not notes.
MIN_FRAMES = 3
# General MIDI program 53: "Voice Oohs", a sung melody.
PROGRAM = 53
# Every note's velocity: the contour carries no loudness.
VELOCITY = 90


def semitones(f0_hz) -> np.ndarray:
  """Nearest MIDI note number per frame, int64 [T]; 0 = no melody."""
  f0_hz = np.asarray(f0_hz, np.float64)
  number = np.zeros(len(f0_hz), np.int64)
  voiced = f0_hz > 0
  number[voiced] = np.round(pretty_midi.hz_to_note_number(f0_hz[voiced]))
  return number


def notes(times, f0_hz, *, min_frames: int = MIN_FRAMES):
  """Segments a contour into notes.

  Args:
    times: frame centre times (s) [T], on the 16 ms grid.
    f0_hz: f0 per frame [T], 0 = no melody.
    min_frames: shortest run of frames that makes a note.

  Returns:
    list of (start_s, end_s, midi_number): each note spans its frames,
    from half a hop before the first centre to half a hop after the last.
  """
  times = np.asarray(times, np.float64)
  number = semitones(f0_hz)
  half = FEATURES.frame_seconds / 2
  out, start = [], 0
  for k in range(1, len(number) + 1):
    if k < len(number) and number[k] == number[start]:
      continue
    if number[start] > 0 and k - start >= min_frames:
      out.append((times[start] - half, times[k - 1] + half,
                  int(number[start])))
    start = k
  return out


def write_midi(path, times, f0_hz, *, min_frames: int = MIN_FRAMES) -> int:
  """Writes the melody's notes as a one-track MIDI file; returns how many."""
  song = pretty_midi.PrettyMIDI()
  voice = pretty_midi.Instrument(program=PROGRAM, name='melody')
  for start, end, number in notes(times, f0_hz, min_frames=min_frames):
    voice.notes.append(pretty_midi.Note(velocity=VELOCITY, pitch=number,
                                        start=max(start, 0.0), end=end))
  song.instruments.append(voice)
  song.write(str(path))
  return len(voice.notes)
