"""The bundled model on the bundled demo clip: OA against its true melody.

``jaxmelody/demo/demo.flac`` is synthetic, so its melody is known exactly
(``demo.f0.csv``). This prints the five metrics of the default model's
extraction with each decoder, the figures the README quotes under the demo
picture, and with ``--write_png`` redraws ``jaxmelody/demo/demo.png`` the way
``jaxmelody jaxmelody/demo/demo.flac --plot`` does.

  python -m experiments.demo_score [--write_png]
"""

import argparse
import os
import pathlib
import shutil
import sys
import tempfile

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
# pylint: disable=g-import-not-at-top,wrong-import-position

if __name__ == '__main__' and not __package__:
  # `python experiments/demo_score.py` from the repository root: rerun as
  # the module, so that the repository's packages import.
  os.execv(sys.executable,
           [sys.executable, '-m', 'experiments.demo_score', *sys.argv[1:]])
# pylint: disable=wrong-import-position
from jaxmelody.apps import write_files
from jaxmelody.frontend import pitch
from jaxmelody.inference import api
from jaxmelody.inference import decoding
from jaxmelody.inference import evaluate

DEMO = ROOT / 'jaxmelody' / 'demo'


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--write_png', action='store_true',
                      help='redraw jaxmelody/demo/demo.png (default decoder)')
  args = parser.parse_args()
  truth = np.loadtxt(DEMO / 'demo.f0.csv', delimiter=',', comments='#')
  print('demo clip vs demo.f0.csv; VR / VFA / RPA / RCA / OA')
  for decoder in decoding.DECODERS:
    melody = api.extract_melody(str(DEMO / 'demo.flac'), decoder=decoder)
    ref = pitch.resample_reference(truth[:, 0], truth[:, 1], melody.times)
    m = evaluate.score_clip(melody.times, ref, melody.f0_hz)
    default = ' (default)' if decoder == decoding.DEFAULT_DECODER else ''
    print(f'{decoder + default:18s} {m["VR"]:6.2f} {m["VFA"]:6.2f} '
          f'{m["RPA"]:6.2f} {m["RCA"]:6.2f} {m["OA"]:6.2f}')
  if args.write_png:
    with tempfile.TemporaryDirectory() as out:
      code = write_files.run_predict(api.default_config(),
                                     audio=str(DEMO / 'demo.flac'),
                                     output_dir=out, plot=True)
      if code:
        return code
      shutil.copy(pathlib.Path(out) / 'demo.png', DEMO / 'demo.png')
    print(f'wrote {DEMO / "demo.png"}')
  return 0


if __name__ == '__main__':
  sys.exit(main())
