"""Decoder settings compared on MIR-1K validation (never a test set).

The model runs once per clip; its logits are then decoded with every
setting of a small grid (argmax with and without a voicing threshold,
Viterbi with other pitch-move and on/off-switch priors) and scored like
``--mode=eval`` (mean over clips, percent). The split is fixed to
validation so that the package's decoder defaults are chosen where they may
be chosen.

  python benchmarks/decoder_sweep.py --manual_root=../shared/data \
      [--checkpoint=DIR] [--bn_inference=running|batch]

Prints one line per setting, best OA last.
"""

import argparse
import itertools
import sys

import numpy as np
import tqdm

from jaxmelody import datasets
from jaxmelody import decoding
from jaxmelody import default_config
from jaxmelody import errors
from jaxmelody import evaluate
from jaxmelody import inference

MOVES = (2, 4, 8)
SWITCHES = (0.005, 0.02, 0.05)
THRESHOLDS = (None, 0.4, 0.5, 0.6)


def settings():
  """(label, decode kwargs) of every setting compared."""
  yield 'argmax', {'decoder': 'argmax'}
  for p in THRESHOLDS[1:]:
    yield f'argmax P={p}', {'decoder': 'argmax', 'voicing_threshold': p}
  for move, switch, p in itertools.product(MOVES, SWITCHES, THRESHOLDS):
    yield (f'viterbi move={move} switch={switch} P={p}',
           {'decoder': 'viterbi', 'max_move': move, 'switch': switch,
            'voicing_threshold': p})


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--manual_root', default='')
  parser.add_argument('--checkpoint', default='',
                      help='default: the bundled pretrained dense10')
  parser.add_argument('--bn_inference', default='running',
                      choices=inference.BN_MODES)
  args = parser.parse_args()
  config = default_config.get_config()
  config.data.manual_root = args.manual_root
  config.model.bn_inference = args.bn_inference
  model = inference.from_config(
      config, inference.resolve_variables(args.checkpoint or None, config))
  source = datasets.get_source('mir1k', 'validation', config.data)
  clips = []
  for i in tqdm.trange(len(source), desc='logits', unit='clip'):
    example = source[i]
    clips.append((model.logits(example['cfp']),
                  np.asarray(example['times'], np.float64),
                  np.asarray(example['f0_hz'], np.float64)))
  results = []
  for label, kwargs in tqdm.tqdm(list(settings()), desc='settings'):
    rows = [evaluate.score_clip(times, ref,
                                decoding.decode(logits, **kwargs)[0])
            for logits, times, ref in clips]
    means = evaluate.mean_over_clips(rows)
    results.append((means['OA'], label, means))
  print(f'MIR-1K validation ({len(clips)} clips), BatchNorm '
        f'{args.bn_inference}; VR / VFA / RPA / RCA / OA')
  for oa, label, m in sorted(results, key=lambda r: r[0]):
    print(f'{label:40s} {m["VR"]:6.2f} {m["VFA"]:6.2f} {m["RPA"]:6.2f} '
          f'{m["RCA"]:6.2f} {oa:6.2f}')
  return 0


if __name__ == '__main__':
  try:
    sys.exit(main())
  except errors.JaxMelodyError as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(2)
