"""Tests of ``jaxmelody --stream`` (stream_cli) and live_io's MIDI notes.

The command runs in a subprocess that reads a file on standard input, with
a smoke-size model of random weights (``api.default_config`` patched):
these tests check the plumbing, bad input and exit statuses. Real devices
are never opened; MIDI is checked as lists of mido messages.
"""

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from jaxmelody.apps import live_io
from jaxmelody.apps import midi
from jaxmelody.apps import stream_cli
from jaxmelody.data import synth
from jaxmelody import errors
from jaxmelody.frontend.feature_config import FEATURES
from jaxmelody.inference import api

ROOT = pathlib.Path(__file__).resolve().parents[1]
# Runs the command with the smoke config as the default one.
_SCRIPT = """
import importlib, json, sys
sys.path.insert(0, {root!r})
from jaxmelody.apps import cli
from jaxmelody.inference import api
api.default_config = lambda: importlib.import_module(
    'configs.smoke').get_config()
sys.exit(cli.main(json.loads(sys.argv[1])))
"""


@pytest.fixture(scope='module')
def weights(tmp_path_factory, save_random_weights):
  import importlib  # pylint: disable=g-import-not-at-top
  folder = tmp_path_factory.mktemp('smoke_weights')
  save_random_weights(importlib.import_module('configs.smoke').get_config()
                      .model, folder)
  return str(folder)


def _command(args, data: bytes, weights, **kwargs):
  argv = ['--stream', '-', '--checkpoint', weights] + args
  return subprocess.run(
      [sys.executable, '-c', _SCRIPT.format(root=str(ROOT)),
       json.dumps(argv)], input=data, capture_output=True, check=False,
      timeout=600, **kwargs)


def _clip(sr, seconds=2.0):
  x = synth.synthesize(11, seconds, sr=sr).audio.astype(np.float32)
  x[int(0.5 * sr):] *= 0.1  # loudest first: the running maximum is final
  return x


def _rows(text):
  return [line.split(',') for line in text.splitlines()]


def _offline(x, sr, weights):
  import importlib  # pylint: disable=g-import-not-at-top
  config = importlib.import_module('configs.smoke').get_config()
  return api.extract_melody(x, sr, config=config, checkpoint=weights,
                            decoder='argmax')


def test_f32_and_s16_stdin_give_the_offline_rows(weights):
  x = _clip(16000)
  done = _command(['--decoder', 'argmax'], x.astype('<f4').tobytes(), weights)
  assert done.returncode == 0, done.stderr
  assert b'error' not in done.stderr
  rows = _rows(done.stdout.decode())
  want = _offline(x, 16000, weights)
  assert [r[0] for r in rows] == [f'{t:.3f}' for t in want.times]
  got = np.array([float(r[1]) for r in rows])
  assert (np.abs(got - np.round(want.f0_hz, 3)) > 1e-6).sum() <= 2

  stereo = np.stack([_clip(48000), 0.5 * _clip(48000)], axis=1)
  pcm = np.round(stereo * 32767).astype('<i2')
  done = _command(['--decoder', 'argmax', '--pcm-format', 's16le',
                   '--sample-rate', '48000', '--channels', '2'],
                  pcm.tobytes(), weights)
  assert done.returncode == 0, done.stderr
  want = _offline(pcm.astype(np.float32) / 32768, 48000, weights)
  assert len(_rows(done.stdout.decode())) == len(want.times)


def test_bad_streams_give_one_error_line(weights):
  x = _clip(16000, 1.0).astype('<f4').tobytes()
  cut = _command(['--decoder', 'argmax'], x[:-3], weights)
  assert cut.returncode == 1
  assert cut.stderr.decode().count('error:') == 1
  assert 'ended mid-sample' in cut.stderr.decode()
  # The complete samples' frames (the cut one's 3 bytes are dropped).
  assert len(_rows(cut.stdout.decode())) == FEATURES.n_frames(16000 - 1)

  s16_as_f32 = (np.round(_clip(16000, 1.0) * 30000).astype('<i2')).tobytes()
  wrong = _command([], s16_as_f32, weights)
  assert wrong.returncode == 2 and wrong.stdout == b''
  assert wrong.stderr.decode().splitlines() == [
      wrong.stderr.decode().strip()]
  assert '--pcm-format' in wrong.stderr.decode()

  empty = _command([], b'', weights)
  assert empty.returncode == 2 and 'too short' in empty.stderr.decode()

  silent = _command([], np.zeros(8000, '<f4').tobytes(), weights)
  assert silent.returncode == 0 and silent.stderr == b''
  assert {r[1] for r in _rows(silent.stdout.decode())} == {'0'}


def test_a_closed_pipe_ends_quietly(weights):
  argv = ['--stream', '-', '--checkpoint', weights, '--step', '1']
  with subprocess.Popen(
      [sys.executable, '-c', _SCRIPT.format(root=str(ROOT)),
       json.dumps(argv)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
      stderr=subprocess.PIPE) as proc:
    proc.stdin.write(_clip(16000, 1.0).astype('<f4').tobytes())
    proc.stdin.flush()
    assert proc.stdout.readline()  # a first frame, then the reader goes
    proc.stdout.close()
    try:  # the command stops reading once its output has gone
      proc.stdin.write(_clip(16000, 3.0).astype('<f4').tobytes())
      proc.stdin.close()
    except BrokenPipeError:
      pass
    assert proc.wait(timeout=600) == 0
    assert proc.stderr.read() == b''


@pytest.mark.parametrize('argv, message', [
    (['--stream', 'song.wav'], "only '-'"),
    (['--stream', '-', '--pcm-format', 'f32'], 'invalid choice'),
    (['--stream', '-', '--sample-rate', '0'], 'out of range'),
])
def test_bad_flags_are_usage_errors(argv, message, capsys):
  with pytest.raises(SystemExit) as e:
    stream_cli.main(argv)
  assert e.value.code == 2 and message in capsys.readouterr().err


def test_missing_devices_and_ports_are_one_error_line(capsys, monkeypatch):
  # Whatever is installed, a port by this name does not exist.
  assert stream_cli.main(['--stream', '-', '--midi-out', 'no such port']) == 2
  err = capsys.readouterr().err
  assert err.count('error:') == 1 and '--midi-out' in err
  monkeypatch.setitem(sys.modules, 'sounddevice', None)  # not installed
  assert stream_cli.main(['--stream', '--input-device', 'default']) == 2
  err = capsys.readouterr().err
  assert err.count('error:') == 1 and "jaxmelody[live]" in err
  with pytest.raises(errors.ConfigError, match='input-device'):
    live_io.Microphone('default', 16000, 1, 0.02)


def test_live_notes_follow_the_offline_segmentation():
  rng = np.random.default_rng(0)
  numbers = np.repeat(rng.choice([0, 60, 62, 64, 67], 40),
                      rng.integers(1, 6, 40))
  f0 = np.where(numbers > 0, 440.0 * 2 ** ((numbers - 69) / 12), 0.0)
  times = (np.arange(len(f0)) + 1) * 0.016
  want = [n for _, _, n in midi.notes(times, f0)]
  for chunk in (1, 7, len(f0)):
    notes = live_io.LiveNotes()
    messages = sum((notes.push(f0[i:i + chunk])
                    for i in range(0, len(f0), chunk)), []) + notes.flush()
    ons = [m.note for m in messages if m.type == 'note_on']
    offs = [m.note for m in messages if m.type == 'note_off']
    assert ons == offs == want
    kinds = [m.type for m in messages]
    assert kinds == ['note_on', 'note_off'] * len(want)  # never overlapping
