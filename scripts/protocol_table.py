"""Prints --mode=eval scores as Markdown rows, OA with a 95% bootstrap interval.

Reads ``<folder>/eval/<dataset>-<split>.json`` (the means ``--mode=eval``
writes) and ``.csv`` (its per-clip rows). Each cell is ``VR / VFA / RPA /
RCA / OA [lo, hi]``: percent, mean over clips, and the percentile bootstrap
interval of OA's mean over clips (10,000 resamples, seed 0; ``-`` instead
of the interval when the per-clip CSV is missing). ``-`` alone: not scored.

Two modes:

- ``OUT`` (what ``eval_protocols.sh`` prints): one row per protocol folder
  ``OUT/<protocol>/``, in the order they were run.
- ``--table3 ROOT`` (what ``eval_table3.sh`` prints): the paper's Table III
  from our runs, ``ROOT/<model>/<protocol>/`` for the four models under our
  default protocol (``ours``) and the paper's (``paper``: their MIR-1K label
  timing, per-piece BatchNorm, argmax), each model followed by the paper's
  Table III row. A model not evaluated yet prints as a row of ``-``. A
  second table follows: each model's OA minus dense10's under the same
  protocol, paired over the same clips (track ids), with the bootstrap
  interval of the mean difference; two models find the same clips hard, so
  this interval is the one to read when asking whether they differ.

Usage:
  python scripts/protocol_table.py OUT
  python scripts/protocol_table.py --table3 ROOT
"""

import csv
import json
import pathlib
import sys

import numpy as np

METRICS = ('VR', 'VFA', 'RPA', 'RCA', 'OA')
SETS = ('mir1k-test', 'adc2004-test')
RESAMPLES = 10_000
SEED = 0

# Table III: our config name -> (the paper's name, {set: {metric: percent}}).
# The paper itself is in neither the repository nor ../shared; the only
# Table III figures on record are DenseASPP_20's two OAs, quoted in
# docs/reproduction.md (since commit ac3d8fb). Everything else prints '-':
# a missing figure is never filled in.
MODELS = ('dense10', 'dense20', 'densenet', 'da_reversed')
PAPER_TABLE3 = {
    'dense10': ('DenseASPP_10', {}),
    'dense20': ('DenseASPP_20', {'mir1k-test': {'OA': 87.04},
                                 'adc2004-test': {'OA': 80.67}}),
    'densenet': ('DenseNet', {}),
    'da_reversed': ('DA_Reversed', {}),
}
PROTOCOLS = (('ours', 'ours (running BN, Viterbi, centred labels)'),
             ('paper', "paper's (per-piece BN, argmax, their labels)"))


def bootstrap_ci(values, *, resamples: int = RESAMPLES, seed: int = SEED,
                 level: float = 0.95) -> tuple[float, float]:
  """Percentile bootstrap interval of the mean of ``values``.

  Args:
    values: per-clip scores, a non-empty 1-D sequence.
    resamples: how many resamples of len(values) clips with replacement.
    seed: the generator's seed; the same seed gives the same interval.
    level: the interval's coverage, e.g. 0.95.

  Returns:
    (lo, hi): the (1 - level) / 2 and (1 + level) / 2 quantiles of the
    resampled means.

  Raises:
    ValueError: empty or not 1-D values.
  """
  values = np.asarray(values, np.float64)
  if values.ndim != 1 or values.size == 0:
    raise ValueError(f'bootstrap_ci: need a non-empty 1-D sequence, got '
                     f'shape {values.shape}')
  rng = np.random.default_rng(seed)
  # In blocks, so a large set never needs a resamples x clips index array.
  block = max(1, 2_000_000 // values.size)
  means = np.concatenate([
      values[rng.integers(0, values.size, (min(block, resamples - i),
                                           values.size))].mean(axis=1)
      for i in range(0, resamples, block)])
  tail = 100.0 * (1.0 - level) / 2.0
  lo, hi = np.percentile(means, [tail, 100.0 - tail])
  return float(lo), float(hi)


def read_clip_oa(folder: pathlib.Path, name: str):
  """{track id: OA} from ``folder/eval/<name>.csv``, or None without it."""
  rows = folder / 'eval' / f'{name}.csv'
  if not rows.is_file():
    return None
  with open(rows, encoding='utf-8', newline='') as f:
    return {row['track_id']: float(row['OA']) for row in csv.DictReader(f)}


def read_set(folder: pathlib.Path, name: str):
  """One set's scores from ``folder/eval/<name>.json`` and ``.csv``.

  Returns:
    None when the set was not scored, else {'means': the JSON's dict,
    'ci': (lo, hi) of OA over the CSV's clips, or None without a CSV}.

  Raises:
    ValueError: the CSV does not hold the JSON's clips (a different run).
  """
  path = folder / 'eval' / f'{name}.json'
  if not path.is_file():
    return None
  means = json.loads(path.read_text(encoding='utf-8'))
  per_clip = read_clip_oa(folder, name)
  if per_clip is None:
    return {'means': means, 'ci': None}
  rows = folder / 'eval' / f'{name}.csv'
  oa = np.array(list(per_clip.values()))
  # The CSV rounds to 4 decimals; a larger gap means the two files were
  # written by different runs, and the interval would not be this mean's.
  if len(oa) != means.get('clips', len(oa)) or (
      len(oa) and abs(oa.mean() - means['OA']) > 1e-3):
    raise ValueError(f'{rows}: {len(oa)} clips with mean OA '
                     f'{oa.mean() if len(oa) else float("nan"):.4f}, but '
                     f'{path.name} says {means.get("clips")} clips, OA '
                     f'{means["OA"]:.4f}')
  return {'means': means, 'ci': bootstrap_ci(oa) if len(oa) else None}


def cell(scored) -> str:
  """'VR / VFA / RPA / RCA / OA [lo, hi]' with two decimals, or '-'.

  Args:
    scored: None, or {'means': {metric: percent}, 'ci': (lo, hi) or None};
      a metric missing from 'means' prints as '-'.
  """
  if scored is None:
    return '-'
  means = scored['means']
  text = ' / '.join(f'{means[k]:.2f}' if k in means else '-' for k in METRICS)
  if scored.get('ci') is not None:
    lo, hi = scored['ci']
    text += f' [{lo:.2f}, {hi:.2f}]'
  elif 'OA' in means and 'VR' in means:
    text += ' [-]'  # our run without its per-clip CSV
  return text


def rows(out: pathlib.Path) -> list[str]:
  """One Markdown row per protocol folder, in the order they were run."""
  lines = [f'| protocol | {" | ".join(SETS)} |',
           '|---' * (len(SETS) + 1) + '|']
  # Run order: when each protocol wrote its first scores.
  folders = sorted(
      (p for p in out.iterdir() if list((p / 'eval').glob('*.json'))),
      key=lambda p: min(f.stat().st_mtime for f in (p / 'eval').glob('*.json')))
  for folder in folders:
    lines.append(f'| {folder.name} | '
                 + ' | '.join(cell(read_set(folder, s)) for s in SETS) + ' |')
  return lines


def _models(root: pathlib.Path) -> tuple[str, ...]:
  """The four models, then any other model folder under ``root``."""
  return (*MODELS, *sorted(p.name for p in root.iterdir()
                           if p.is_dir() and p.name not in MODELS))


def table3_rows(root: pathlib.Path) -> list[str]:
  """Table III: per model, our two protocols, then the paper's row.

  Models beyond the four (other folders under ``root``) follow them, without
  a paper row.
  """
  lines = ['| model | protocol | MIR-1K test | ADC2004 test |',
           '|---|---|---|---|']
  for model in _models(root):
    for protocol, title in PROTOCOLS:
      cells = [cell(read_set(root / model / protocol, s)) for s in SETS]
      lines.append(f'| {model} | {title} | {" | ".join(cells)} |')
    if model in PAPER_TABLE3:
      name, figures = PAPER_TABLE3[model]
      cells = [cell({'means': figures[s]}) if s in figures else '-'
               for s in SETS]
      lines.append(f'| {name} | paper, Table III | {" | ".join(cells)} |')
  return lines


def paired_rows(root: pathlib.Path, base: str = 'dense10') -> list[str]:
  """Each model's OA minus ``base``'s, paired over clips, per protocol.

  A cell is the mean per-clip difference in OA points and its 95% bootstrap
  interval (the same resampling as ``bootstrap_ci``); ``-`` where either
  model lacks the set's per-clip CSV.

  Raises:
    ValueError: the two models' CSVs do not hold the same clips.
  """
  lines = [f'| OA difference, paired over clips | protocol | MIR-1K test '
           '| ADC2004 test |', '|---|---|---|---|']
  for model in _models(root):
    if model == base:
      continue
    for protocol, title in PROTOCOLS:
      cells = []
      for name in SETS:
        ours = read_clip_oa(root / model / protocol, name)
        theirs = read_clip_oa(root / base / protocol, name)
        if ours is None or theirs is None:
          cells.append('-')
          continue
        if ours.keys() != theirs.keys():
          raise ValueError(f'{root / model / protocol}: {name} holds other '
                           f'clips than {base}\'s')
        diff = [ours[k] - theirs[k] for k in sorted(ours)]
        lo, hi = bootstrap_ci(diff)
        cells.append(f'{np.mean(diff):+.2f} [{lo:+.2f}, {hi:+.2f}]')
      lines.append(f'| {model} - {base} | {title} | {" | ".join(cells)} |')
  return lines


def main(argv) -> int:
  args = argv[1:]
  table3 = args[:1] == ['--table3']
  args = args[1:] if table3 else args
  if len(args) != 1 or not pathlib.Path(args[0]).is_dir():
    print(f'usage: python {argv[0]} OUT (the folder eval_protocols.sh '
          f'printed)\n       python {argv[0]} --table3 ROOT (eval_table3.sh\'s '
          'folder)', file=sys.stderr)
    return 2
  try:
    root = pathlib.Path(args[0])
    lines = ([*table3_rows(root), '', *paired_rows(root)] if table3
             else rows(root))
  except ValueError as e:
    print(f'error: {e}', file=sys.stderr)
    return 1
  print('\n'.join(lines))
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv))
