"""Decoder settings compared on MIR-1K validation (never a test set).

The model runs once per clip; its logits are then decoded with every
pairing of a pitch rule (argmax, or ``decoding.viterbi_pitch`` with a
pitch-move prior of 2, 4 or 8 classes per frame) and a voicing rule
(argmax's, a threshold P on the voicing probability, or
``decoding.viterbi_voicing`` with other switch priors and thresholds), and
scored like ``--mode=eval`` (mean over clips, percent). The split is fixed to
validation so that the package's decoder defaults are chosen where they may
be chosen.

  python -m experiments.decoder_sweep --manual_root=../shared/data \
      [--checkpoint=DIR] [--bn_inference=running|batch] [--logits_cache=F]

Prints one line per setting, best OA last. The package's default
(``decoding.decode(decoder='viterbi')``) is "pitch viterbi move=M, voicing
chain switch=S P=None" with M, S = ``decoding.VITERBI_MAX_MOVE``,
``VITERBI_SWITCH``; the paper's is "pitch argmax, voicing argmax".
"""

import argparse
import itertools
import os
import sys

import numpy as np
import tqdm

if __name__ == '__main__' and not __package__:
  # `python experiments/decoder_sweep.py` from the repository root: rerun as
  # the module, so that the repository's packages import.
  os.execv(sys.executable,
           [sys.executable, '-m', 'experiments.decoder_sweep', *sys.argv[1:]])
# pylint: disable=wrong-import-position
from benchmarks.report import bundled_name, clip_logits, machine_info, update_results
from jaxmelody.data import datasets
from jaxmelody import default_config
from jaxmelody import errors
from jaxmelody.frontend import pitch
from jaxmelody.inference import decoding
from jaxmelody.inference import engine
from jaxmelody.inference import evaluate
from jaxmelody.inference import weights

SECTION = 'Decoder settings on validation (decoder_sweep.py)'
# The paper's rule and the package's default, always shown.
NAMED = ('pitch argmax, voicing argmax ',
         f'pitch viterbi move={decoding.VITERBI_MAX_MOVE}, voicing chain '
         f'switch={decoding.VITERBI_SWITCH} P=None ')
MOVES = (2, 4, 8)
SWITCHES = (0.005, 0.02, 0.05)
THRESHOLDS = (None, 0.4, 0.5, 0.6)


def _voicing_settings():
  """(label, voiced-frames function of probs) of every voicing rule."""
  yield 'argmax', lambda probs: np.argmax(probs, axis=-1) > 0
  for p in THRESHOLDS[1:]:
    yield f'P={p}', lambda probs, p=p: 1.0 - probs[:, 0] >= p
  for switch, p in itertools.product(SWITCHES, THRESHOLDS):
    yield (f'chain switch={switch} P={p}',
           lambda probs, s=switch, p=p: decoding.viterbi_voicing(probs, p, s))


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--checkpoint', default='',
                      help='default: the bundled pretrained dense10')
  parser.add_argument('--bn_inference', default='running',
                      choices=engine.BN_MODES)
  parser.add_argument('--manual_root', default='')
  parser.add_argument('--logits_cache', default='',
                      help='an .npz that keeps the logits for a rerun')
  parser.add_argument('--no_results', action='store_true',
                      help='do not rewrite its section of RESULTS.md')
  args = parser.parse_args()
  config = default_config.get_config()
  config.data.manual_root = args.manual_root
  config.model.bn_inference = args.bn_inference
  model = engine.from_config(
      config, weights.resolve_variables(args.checkpoint or None, config))
  source = datasets.get_source('mir1k', 'validation', config.data)
  clips = clip_logits(model, source, args.logits_cache)
  # Pitch and voicing are decided apart (decoding.decode): each pitch rule
  # runs once per clip and combines with every voicing rule.
  rows = {}
  for logits, times, ref in tqdm.tqdm(clips, desc='decoding', unit='clip'):
    probs = pitch.softmax(np.asarray(logits, np.float64), axis=-1)
    pitches = {'argmax': 1 + np.argmax(probs[:, 1:], axis=-1)}
    for move in MOVES:
      pitches[f'viterbi move={move}'] = decoding.viterbi_pitch(probs, move)
    for v_label, voiced_of in _voicing_settings():
      voiced = voiced_of(probs)
      for p_label, classes in pitches.items():
        est = pitch.class_to_hz(np.where(voiced, classes, 0))
        rows.setdefault(f'pitch {p_label}, voicing {v_label}', []).append(
            evaluate.score_clip(times, ref, est))
  results = [(evaluate.mean_over_clips(r), label) for label, r in rows.items()]
  results.sort(key=lambda r: r[0]['OA'])
  lines = [f'{label:56s} {m["VR"]:6.2f} {m["VFA"]:6.2f} {m["RPA"]:6.2f} '
           f'{m["RCA"]:6.2f} {m["OA"]:6.2f}' for m, label in results]
  head = (f'MIR-1K validation ({len(clips)} clips), weights: '
          f'{args.checkpoint or bundled_name()}, BatchNorm '
          f'{args.bn_inference}; VR / VFA / RPA / RCA / OA')
  print(head, *lines, sep='\n')
  if not args.no_results:
    marked = [line for line in lines[:-8] if line.startswith(NAMED)]
    update_results(SECTION, f'Command: `python -m experiments.decoder_sweep '
                   f'{" ".join(sys.argv[1:])}`  \nMachine: {machine_info()}'
                   f'\n\nThe best 8 of {len(lines)} settings, and the '
                   f'paper\'s and the default when not among them:\n\n'
                   f'```\n{head}\n' + '\n'.join(marked + lines[-8:]) +
                   '\n```')
  return 0


if __name__ == '__main__':
  sys.exit(errors.exit_status(main))
