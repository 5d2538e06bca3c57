"""Fixed-lag (streaming) Viterbi against offline Viterbi on MIR-1K validation.

The model runs once per clip (offline logits: with the clip's CFP maximum
the stream's logits are the same, ``tests/stream_test.py``); the logits are
then decoded offline (``decoding.decode``) and by ``stream_decode`` with
each lag, pushed 8 frames at a time, and scored like ``--mode=eval``
(mean over clips, percent). The stream's running CFP maximum is not part of
this comparison.

  python -m benchmarks.stream_viterbi_oa --manual_root=../shared/data \\
      [--checkpoint=DIR] [--lags=0,4,8,16,32,64] [--logits_cache=F]
"""

import argparse
import os
import sys

import numpy as np
import tqdm

if __name__ == '__main__' and not __package__:
  # `python benchmarks/stream_viterbi_oa.py` from the repository root: rerun as
  # the module, so that the repository's packages import.
  os.execv(sys.executable, [sys.executable, '-m',
                            'benchmarks.stream_viterbi_oa', *sys.argv[1:]])
# pylint: disable=wrong-import-position
from benchmarks.report import bundled_name, clip_logits, machine_info, update_results
from jaxmelody.data import datasets
from jaxmelody import default_config
from jaxmelody import errors
from jaxmelody.inference import decoding
from jaxmelody.inference import engine
from jaxmelody.inference import evaluate
from jaxmelody.inference import stream_decode
from jaxmelody.inference import weights

SECTION = 'Streaming Viterbi on validation (stream_viterbi_oa.py)'


def _online(logits, lag: int) -> np.ndarray:
  decoder = stream_decode.StreamDecoder('viterbi', None, lag)
  parts = [decoder.push(logits[i:i + 8])[0] for i in range(0, len(logits), 8)]
  return np.concatenate(parts + [decoder.flush()[0]])


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--manual_root', default='')
  parser.add_argument('--checkpoint', default='')
  parser.add_argument('--lags', default='0,4,8,16,32,64')
  parser.add_argument('--logits_cache', default='')
  parser.add_argument('--no_results', action='store_true')
  args = parser.parse_args()
  config = default_config.get_config()
  config.data.manual_root = args.manual_root
  model = engine.from_config(
      config, weights.resolve_variables(args.checkpoint or None, config))
  source = datasets.get_source('mir1k', 'validation', config.data)
  clips = clip_logits(model, source, args.logits_cache)
  lags = [int(v) for v in args.lags.split(',')]
  rows = {'offline viterbi': [], 'offline argmax': []}
  rows.update({f'stream viterbi lag {lag}': [] for lag in lags})
  for logits, times, ref in tqdm.tqdm(clips, desc='decoding', unit='clip'):
    for name in ('viterbi', 'argmax'):
      est = decoding.decode(logits, decoder=name)[0]
      rows[f'offline {name}'].append(evaluate.score_clip(times, ref, est))
    for lag in lags:
      rows[f'stream viterbi lag {lag}'].append(
          evaluate.score_clip(times, ref, _online(logits, lag)))
  lines = []
  for label, scores in rows.items():
    m = evaluate.mean_over_clips(scores)
    lines.append(f'{label:28s} {m["VR"]:6.2f} {m["VFA"]:6.2f} {m["RPA"]:6.2f}'
                 f' {m["RCA"]:6.2f} {m["OA"]:6.2f}')
  head = (f'MIR-1K validation ({len(clips)} clips), weights: '
          f'{args.checkpoint or bundled_name()}; VR / VFA / RPA / RCA / OA')
  print(head, *lines, sep='\n')
  if not args.no_results:
    update_results(SECTION, f'Command: `python -m benchmarks.stream_viterbi_oa'
                   f' {" ".join(sys.argv[1:])}`  \nMachine: {machine_info()}'
                   f'\n\n```\n{head}\n' + '\n'.join(lines) + '\n```')
  return 0


if __name__ == '__main__':
  sys.exit(errors.exit_status(main))
