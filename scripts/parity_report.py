"""Per-clip OA of an eval run against the paper authors' per-clip results.

  python run.py --config=configs/msfcn_released.py --mode=eval \
      --workdir=/tmp/released \
      --checkpoint=../shared/reference/msfcn/train_single_for_pitch_epoch_22.pkl \
      --config.data.manual_root=../shared/data
  python scripts/parity_report.py --workdir=/tmp/released [--no_results]

Reads ``<workdir>/eval/mir1k-test.csv`` and ``adc2004-test.csv`` (written by
``--mode=eval``) and the authors' ``test_result_of_MIR1K.csv`` and
``test_result_of_ADC2004.csv`` in ../shared/reference/msfcn, and prints for
each set the mean |OA difference|, the share of clips within 0.01 OA points
and the worst clip (``jaxmelody.inference.evaluate.compare_clips``), plus
both set means. Rewrites its section of benchmarks/RESULTS.md unless --no_results.
"""

import argparse
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np

from jaxmelody.inference import evaluate

SECTION = 'Per-clip parity with the published results (parity_report.py)'
REFERENCE = ROOT.parent / 'shared' / 'reference' / 'msfcn'
SETS = (('MIR-1K test', 'mir1k-test.csv', 'test_result_of_MIR1K.csv'),
        ('ADC2004 test', 'adc2004-test.csv', 'test_result_of_ADC2004.csv'))


def report(workdir, reference=REFERENCE) -> str:
  lines = []
  for name, ours_csv, theirs_csv in SETS:
    ours = evaluate.read_clip_scores(pathlib.Path(workdir) / 'eval' / ours_csv)
    theirs = evaluate.read_clip_scores(pathlib.Path(reference) / theirs_csv)
    c = evaluate.compare_clips(ours, theirs)
    clip, diff = c['worst']
    lines.append(
        f'{name}: {c["clips"]} clips; OA ours {np.mean(list(ours.values())):.2f}'
        f', published {np.mean(list(theirs.values())):.2f}; per clip mean '
        f'|dOA| {c["mean_abs"]:.3f}, {100 * c["within"]:.0f}% within 0.01, '
        f'worst {clip} {diff:+.2f}')
    for side in ('only_ours', 'only_theirs'):
      if c[side]:
        lines.append(f'  {side.replace("_", " ")}: {", ".join(c[side])}')
  return '\n'.join(lines)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--workdir', required=True,
                      help='an eval workdir (holds eval/<set>.csv)')
  parser.add_argument('--reference', default=str(REFERENCE))
  parser.add_argument('--no_results', action='store_true')
  args = parser.parse_args(argv)
  try:
    text = report(args.workdir, args.reference)
  except evaluate.errors.DatasetError as e:
    sys.exit(f'error: {e}')
  print(text)
  if not args.no_results:
    from benchmarks.report import update_results
    update_results(SECTION, 'Command: `python run.py '
                   '--config=configs/msfcn_released.py --mode=eval '
                   '--workdir=W --checkpoint=../shared/reference/msfcn/'
                   'train_single_for_pitch_epoch_22.pkl '
                   '--config.data.manual_root=../shared/data` then '
                   '`python scripts/parity_report.py --workdir=W`\n\n'
                   f'```\n{text}\n```')


if __name__ == '__main__':
  main()
