"""Melody to MIDI notes."""

import numpy as np
import pretty_midi

from jaxmelody.apps import midi
from jaxmelody.frontend.feature_config import FEATURES


def test_runs_become_notes_and_blips_are_dropped():
  hz = pretty_midi.note_number_to_hz
  f0 = np.array([0] * 2 + [hz(60) * 1.01] * 10 + [hz(62)] * 2 + [hz(64)] * 5
                + [0] * 3 + [hz(67)] * 4, np.float64)
  times = FEATURES.frame_times(len(f0))
  got = midi.notes(times, f0)
  half = FEATURES.frame_seconds / 2
  assert [n for _, _, n in got] == [60, 64, 67]  # the 2-frame 62 is dropped
  start, end, _ = got[0]
  np.testing.assert_allclose([start, end], [times[2] - half, times[11] + half])


def test_written_file_reads_back(tmp_path):
  f0 = np.array([0] * 5 + [440.0] * 20 + [0] * 5 + [523.25] * 10)
  times = FEATURES.frame_times(len(f0))
  path = tmp_path / 'm.mid'
  assert midi.write_midi(path, times, f0) == 2
  song = pretty_midi.PrettyMIDI(str(path))
  notes = song.instruments[0].notes
  assert [n.pitch for n in notes] == [69, 72]
  assert abs(notes[0].start - (times[5] - FEATURES.frame_seconds / 2)) < 1e-3
