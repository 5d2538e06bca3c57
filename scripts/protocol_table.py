"""Prints eval_protocols.sh's scores as the README's Markdown table rows.

Reads ``<out>/<protocol>/eval/<dataset>-<split>.json`` (the means
``--mode=eval`` writes) for every protocol folder under ``out`` and prints,
per protocol, one row: the protocol, then ``VR / VFA / RPA / RCA / OA``
(percent, mean over clips) for each set, ``-`` where the protocol did not
score that set.

Usage:
  python scripts/protocol_table.py OUT
"""

import json
import pathlib
import sys

METRICS = ('VR', 'VFA', 'RPA', 'RCA', 'OA')
SETS = ('mir1k-test', 'adc2004-test')


def cell(means) -> str:
  """'VR / VFA / RPA / RCA / OA' with two decimals, or '-'."""
  if means is None:
    return '-'
  return ' / '.join(f'{means[k]:.2f}' for k in METRICS)


def rows(out: pathlib.Path) -> list[str]:
  """One Markdown row per protocol folder, in the order they were run."""
  lines = [f'| protocol | {" | ".join(SETS)} |',
           '|---' * (len(SETS) + 1) + '|']
  # Run order: when each protocol wrote its first scores.
  folders = sorted(
      (p for p in out.iterdir() if list((p / 'eval').glob('*.json'))),
      key=lambda p: min(f.stat().st_mtime for f in (p / 'eval').glob('*.json')))
  for folder in folders:
    scores = {}
    for name in SETS:
      path = folder / 'eval' / f'{name}.json'
      scores[name] = (json.loads(path.read_text(encoding='utf-8'))
                      if path.is_file() else None)
    lines.append(f'| {folder.name} | '
                 + ' | '.join(cell(scores[s]) for s in SETS) + ' |')
  return lines


def main(argv) -> int:
  if len(argv) != 2 or not pathlib.Path(argv[1]).is_dir():
    print(f'usage: python {argv[0]} OUT (the folder eval_protocols.sh '
          'printed)', file=sys.stderr)
    return 2
  print('\n'.join(rows(pathlib.Path(argv[1]))))
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv))
