r"""Writes the builders' dummy_data/ folders: tiny synthetic clips in each
corpus's real layout (file names, sample rates, channels, label formats).

No corpus audio is ever stored in the repository: every clip comes from
``jaxmelody.data.synth`` with a fixed seed, and its labels from the
synthesizer's exact melody, written the way the corpus writes them. Run from the repository
root after changing the layouts or the synthesizer::

  python -m datasets_builders.make_dummy_data
"""

import pathlib
import shutil

import numpy as np
import soundfile as sf

from jaxmelody.data import synth

HERE = pathlib.Path(__file__).resolve().parent
DURATION_S = 0.6  # 36 frames: one compiled CFP shape (64) serves every clip


def _semitones(f0_hz: np.ndarray) -> np.ndarray:
  """Hz -> fractional MIDI numbers, 0 stays 0 (the .pv convention)."""
  out = np.zeros_like(f0_hz)
  voiced = f0_hz > 0
  out[voiced] = 69.0 + 12.0 * np.log2(f0_hz[voiced] / 440.0)
  return out


def _write_pv(path: pathlib.Path, times: np.ndarray, clip) -> None:
  values = _semitones(clip.melody.f0_at(times))
  path.write_text(''.join(f'{v:.4f}\n' if v else '0\n' for v in values))


def _write_ref(path: pathlib.Path, times: np.ndarray, clip) -> None:
  """Two columns, 3 decimals, CRLF: the ADC2004 / MIREX05 REF.txt style."""
  f0 = clip.melody.f0_at(times)
  path.write_bytes(''.join(f'{t:.3f}     {f:.3f}\r\n'
                           for t, f in zip(times, f0)).encode())


def _stereo(clip) -> np.ndarray:
  """[n, 2]: accompaniment left, voice right (MIR-1K and iKala layout)."""
  return np.stack([clip.audio - clip.voice, clip.voice], axis=1) * 0.5


def mir1k(root: pathlib.Path) -> None:
  """16 kHz stereo .wav (and one mono .flac mixture), .pv at 20 ms."""
  (root / 'Wavfile').mkdir(parents=True)
  (root / 'PitchLabel').mkdir()
  clips = {'abjones_1_01': 'wav', 'amy_2_03': 'flac',   # validation singers
           'leon_1_01': 'wav', 'yifen_2_02': 'wav',     # test singers
           'bobon_1_01': 'wav'}                          # another train singer
  for seed, (clip_id, ext) in enumerate(clips.items()):
    clip = synth.synthesize(seed, DURATION_S)
    audio = clip.audio if ext == 'flac' else _stereo(clip)
    sf.write(root / 'Wavfile' / f'{clip_id}.{ext}', audio, 16000)
    lines = (len(clip.audio) - 640) // 320 + 1  # 40 ms windows, no padding
    _write_pv(root / 'PitchLabel' / f'{clip_id}.pv',
              0.02 * np.arange(lines) + 0.02, clip)


def adc2004(root: pathlib.Path) -> None:
  """44.1 kHz mono .wav with <name>REF.txt at 256 / 44100 s."""
  root.mkdir(parents=True)
  for seed, clip_id in enumerate(('daisy1', 'pop1', 'jazz1'), start=10):
    clip = synth.synthesize(seed, DURATION_S, sr=44100)
    sf.write(root / f'{clip_id}.wav', clip.audio, 44100, subtype='PCM_16')
    n_lines = int(np.ceil(len(clip.audio) / 256))
    _write_ref(root / f'{clip_id}REF.txt',
               np.round(np.arange(n_lines) * 256 / 44100, 3), clip)


def mirex05(root: pathlib.Path) -> None:
  """44.1 kHz mono .wav (train13's named train13MIDI.wav), REF at 10 ms."""
  root.mkdir(parents=True)
  for seed, (clip_id, wav) in enumerate(
      (('train01', 'train01'), ('train13', 'train13MIDI')), start=20):
    clip = synth.synthesize(seed, DURATION_S, sr=44100)
    sf.write(root / f'{wav}.wav', clip.audio, 44100, subtype='PCM_16')
    _write_ref(root / f'{clip_id}REF.txt',
               0.01 * np.arange(int(DURATION_S / 0.01)), clip)


def ikala(root: pathlib.Path) -> None:
  """44.1 kHz stereo .wav (music left, voice right), .pv at 32 ms."""
  (root / 'Wavfile').mkdir(parents=True)
  (root / 'PitchLabel').mkdir()
  for seed, clip_id in enumerate(('54242_verse', '10161_chorus',
                                  '10164_verse'), start=30):
    clip = synth.synthesize(seed, DURATION_S, sr=44100)
    sf.write(root / 'Wavfile' / f'{clip_id}.wav', _stereo(clip), 44100,
             subtype='PCM_16')
    _write_pv(root / 'PitchLabel' / f'{clip_id}.pv',
              0.032 * np.arange(int(DURATION_S / 0.032)) + 0.016, clip)


WRITERS = {'mir1k': mir1k, 'adc2004': adc2004, 'mirex05': mirex05,
           'ikala': ikala}


def main() -> None:
  for name, write in WRITERS.items():
    root = HERE / name / 'dummy_data'
    shutil.rmtree(root, ignore_errors=True)
    write(root)
    print(f'{root}: {sum(1 for p in root.rglob("*") if p.is_file())} files')


if __name__ == '__main__':
  main()
