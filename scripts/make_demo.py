"""Writes the bundled demo clip: ``python scripts/make_demo.py``.

``demo.flac`` is 5 s of synthetic singing over chords (``jaxmelody.data.synth``,
fixed seed, 16 kHz mono 16-bit) and ``demo.f0.csv`` its exact melody in the
format ``--mode=predict`` writes (``time_s,f0_hz``, 0 = no melody), so a
prediction can be compared with the truth. Rerunning it reproduces both files.
"""

import pathlib

import soundfile as sf

from jaxmelody.apps import write_files
from jaxmelody.data import synth

SEED = 20190630  # any fixed value; changing it changes the bundled clip
DURATION_S = 5.0
SAMPLE_RATE = 16000
HERE = pathlib.Path(__file__).resolve().parents[1] / 'jaxmelody' / 'demo'


def main() -> None:
  clip = synth.synthesize(SEED, duration_s=DURATION_S, sr=SAMPLE_RATE)
  sf.write(HERE / 'demo.flac', clip.audio, SAMPLE_RATE, format='FLAC',
           subtype='PCM_16')
  (HERE / 'demo.f0.csv').write_text(
      write_files.csv_text(clip.times, clip.f0_hz, 'f0_hz'), encoding='utf-8')
  print(f'wrote {HERE / "demo.flac"} and {HERE / "demo.f0.csv"}')


if __name__ == '__main__':
  main()
