"""Largest difference between our CFP and the authors' golden features.

  python benchmarks/cfp_golden.py [--golden_dir DIR] [--no_results]

For every ``*.npz`` in the golden folder (default
``../shared/reference/msfcn/cfp_golden``: the audio, its sample rate and the
authors' CFP ``W`` computed by their released code), computes
``jaxmelody.cfp.compute_cfp`` (float32, JAX) and the float64 NumPy reference
``jaxmelody.cfp_numpy``, and prints the max |difference| from ``W`` of each
(the features are min-max scaled to [0, 1]). Rewrites its section of
benchmarks/RESULTS.md unless --no_results.
"""

import argparse
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np

from jaxmelody import audio
from jaxmelody import cfp
from jaxmelody import cfp_numpy

SECTION = 'CFP against the golden features (cfp_golden.py)'
GOLDEN_DIR = ROOT.parent / 'shared' / 'reference' / 'msfcn' / 'cfp_golden'


def differences(golden_dir) -> dict[str, tuple[float, float]]:
  """{file stem: (max |jax - W|, max |numpy - W|)}."""
  out = {}
  for path in sorted(pathlib.Path(golden_dir).glob('*.npz')):
    golden = np.load(path)
    w = golden['W'].astype(np.float64)
    jax_feats = cfp.compute_cfp(golden['audio'], int(golden['sr']))
    np_feats = cfp_numpy.cfp_numpy(audio.prepare_audio(
        golden['audio'], int(golden['sr'])))
    out[path.stem] = (float(np.abs(jax_feats - w).max()),
                      float(np.abs(np_feats - w).max()))
  return out


def report(diffs) -> str:
  width = max(len(k) for k in diffs)
  lines = [f'{"golden file":<{width}}  max|jax-W|  max|numpy-W|']
  lines += [f'{k:<{width}}  {a:10.2e}  {b:12.2e}' for k, (a, b) in
            diffs.items()]
  lines.append(f'max over files: jax {max(a for a, _ in diffs.values()):.2e}, '
               f'numpy {max(b for _, b in diffs.values()):.2e}')
  return '\n'.join(lines)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--golden_dir', default=str(GOLDEN_DIR))
  parser.add_argument('--no_results', action='store_true')
  args = parser.parse_args(argv)
  diffs = differences(args.golden_dir)
  if not diffs:
    sys.exit(f'error: {args.golden_dir}: no golden .npz files')
  text = report(diffs)
  print(text)
  if not args.no_results:
    from benchmarks.report import update_results
    update_results(SECTION, 'Command: `python benchmarks/cfp_golden.py` '
                   '(golden files: ../shared/reference/msfcn/cfp_golden)\n\n'
                   f'```\n{text}\n```')


if __name__ == '__main__':
  main()
