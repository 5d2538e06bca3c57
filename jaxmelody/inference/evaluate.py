"""Whole-track evaluation with mir_eval, as the paper: mean over clips.

For each clip of a test set: CFP -> ``InferenceModel`` -> decoding
(``config.eval.decoder``; validation during training: argmax) -> f0 on the
16 ms grid; the reference is the example's f0 on the same times;
``mir_eval.melody.evaluate`` with its default arguments scores the clip, and
the set's score is the mean of the per-clip percentages.
"""

import csv
import json
import os
import warnings

import jax
import mir_eval
import numpy as np
import tqdm

from jaxmelody.atomic import atomic_path
from jaxmelody import errors
from jaxmelody.inference import decoding
from jaxmelody.inference import engine
from jaxmelody.inference import weights

METRICS = {'VR': 'Voicing Recall', 'VFA': 'Voicing False Alarm',
           'RPA': 'Raw Pitch Accuracy', 'RCA': 'Raw Chroma Accuracy',
           'OA': 'Overall Accuracy'}
# mir_eval warns once per clip without voiced frames; the run's summary line
# counts such clips instead.
_NO_VOICING = r'(Reference|Estimated) melody has no voiced frames'


def score_clip(times, ref_f0_hz, est_f0_hz) -> dict[str, float]:
  """The five mir_eval melody metrics of one clip, in percent.

  Args:
    times: float [T] frame times (s), shared by reference and estimate.
    ref_f0_hz: float [T] reference f0 (0 = no melody).
    est_f0_hz: float [T] estimated f0 (0 = no melody).

  Returns:
    {'VR', 'VFA', 'RPA', 'RCA', 'OA'} in percent.
  """
  times = np.asarray(times, np.float64)
  with warnings.catch_warnings():
    warnings.filterwarnings('ignore', message=_NO_VOICING)
    scores = mir_eval.melody.evaluate(
        times, np.asarray(ref_f0_hz, np.float64),
        times, np.asarray(est_f0_hz, np.float64))
  return {key: 100.0 * float(scores[name]) for key, name in METRICS.items()}


def evaluate_source(inference_model, source, *, progress: bool = True,
                    max_clips=None, integer_hz: bool = False,
                    decoder: str = decoding.DEFAULT_DECODER,
                    voicing_threshold=None):
  """Scores every clip of a random-access source of examples.

  Args:
    inference_model: an ``engine.InferenceModel``.
    source: sequence of dicts with 'cfp' [3, 256, T], 'f0_hz' [T], 'times'
      [T] and 'track_id'.
    progress: show a tqdm bar over clips.
    max_clips: evaluate only the first this many clips (None = all).
    integer_hz: truncate the estimates to whole Hz, as the released code did
      (it wrote them into an integer array); only for reproducing its
      per-clip figures.
    decoder, voicing_threshold: how logits become a melody
      (``decoding.decode``).

  Returns:
    (means, rows): means = {'VR', 'VFA', 'RPA', 'RCA', 'OA'} averaged over
    clips plus 'clips' (the count); rows = one dict per clip with
    'track_id' and the five metrics.

  Raises:
    errors.DatasetError: an empty source or an inconsistent example.
  """
  n = len(source) if max_clips is None else min(len(source), int(max_clips))
  if n == 0:
    raise errors.DatasetError('evaluation set: contains no clips')
  rows, unvoiced = [], 0
  for i in tqdm.trange(n, desc='clips', unit='clip', disable=not progress,
                       leave=True):
    example = source[i]
    track_id = example['track_id']
    if isinstance(track_id, bytes):
      track_id = track_id.decode('utf-8')
    est_f0, _ = decoding.decode(inference_model.logits(example['cfp']),
                                decoder=decoder,
                                voicing_threshold=voicing_threshold)
    if integer_hz:
      est_f0 = np.floor(est_f0)
    times = np.asarray(example['times'], np.float64)
    if not len(times) == len(est_f0) == len(example['f0_hz']):
      raise errors.DatasetError(
          f'{track_id}: {np.shape(example["cfp"])[-1]} feature frames but '
          f'{len(times)} times and {len(example["f0_hz"])} reference values')
    unvoiced += not np.any(np.asarray(example['f0_hz']) > 0)
    rows.append({'track_id': str(track_id),
                 **score_clip(times, example['f0_hz'], est_f0)})
  if unvoiced and progress:
    # mir_eval scores such a clip VR = RPA = RCA = 0; say so once, not per clip.
    print(f'note: {unvoiced} of {n} clip(s) have no melody in the reference; '
          'mir_eval scores their VR, RPA and RCA as 0', flush=True)
  return mean_over_clips(rows), rows


def mean_over_clips(rows) -> dict[str, float]:
  """The set's score as the paper reports it: the mean of per-clip percents.

  Args:
    rows: per-clip dicts with the keys of ``METRICS`` (``score_clip``).

  Returns:
    {'VR', 'VFA', 'RPA', 'RCA', 'OA'} means plus 'clips' (the count).
  """
  means = {key: float(np.mean([row[key] for row in rows])) for key in METRICS}
  means['clips'] = len(rows)
  return means


def write_results(eval_dir, name: str, means, rows) -> None:
  """Writes ``<eval_dir>/<name>.json`` (means) and ``<name>.csv`` (rows)."""
  os.makedirs(eval_dir, exist_ok=True)
  with atomic_path(os.path.join(eval_dir, f'{name}.json')) as tmp:
    with open(tmp, 'w', encoding='utf-8') as f:
      json.dump(means, f, indent=2)
      f.write('\n')
  with atomic_path(os.path.join(eval_dir, f'{name}.csv')) as tmp:
    with open(tmp, 'w', encoding='utf-8', newline='') as f:
      writer = csv.DictWriter(f, fieldnames=['track_id', *METRICS])
      writer.writeheader()
      for row in rows:
        writer.writerow({k: (f'{v:.4f}' if isinstance(v, float) else v)
                         for k, v in row.items()})


def format_table(results) -> str:
  """A fixed-width table of {set name: means} (percent, mean over clips)."""
  width = max([len('set')] + [len(name) for name in results])
  lines = [f'{"set":<{width}}  {"clips":>5}'
           + ''.join(f'  {key:>6}' for key in METRICS)]
  for name, means in results.items():
    lines.append(f'{name:<{width}}  {means["clips"]:>5d}'
                 + ''.join(f'  {means[key]:>6.2f}' for key in METRICS))
  return '\n'.join(lines)


def run_eval(config, workdir, checkpoint=None):
  """Evaluates a checkpoint on every (dataset, split) of ``config.eval.sets``.

  Args:
    config: the full config.
    workdir: where ``eval/<dataset>-<split>.json/.csv`` are written (and,
      when ``checkpoint`` is empty, whose latest checkpoint is used).
    checkpoint: see ``weights.resolve_variables``.

  Returns:
    {'<dataset>-<split>': means} in the order of ``config.eval.sets``.
  """
  from jaxmelody.data import datasets  # pylint: disable=g-import-not-at-top
  if not workdir:
    raise errors.ConfigError('--workdir: eval needs a folder for its outputs')
  decoder, voicing_threshold = decoding.from_config(config.eval)
  variables = weights.resolve_variables(checkpoint, config, workdir)
  model = engine.from_config(config, variables)
  results = {}
  for dataset, split in config.eval.sets:
    name = f'{dataset}-{split}'
    source = datasets.get_source(dataset, split, config.data)
    print(f'evaluating {name} ({len(source)} clips)', flush=True)
    means, rows = evaluate_source(
        model, source, integer_hz=config.eval.integer_hz,
        decoder=decoder, voicing_threshold=voicing_threshold)
    write_results(os.path.join(workdir, 'eval'), name, means, rows)
    results[name] = means
  print(format_table(results), flush=True)
  return results


class Validator:
  """Validation scores of a training run's current weights on whole tracks.

  Built once per run: the inference model (and its compiled forward
  passes) is made on the first call and reused, the weights swapped in on
  every later one.
  """

  def __init__(self, config, source):
    self.source = source
    self._config = config
    self._model = None

  def __call__(self, variables) -> dict[str, float]:
    """{'OA', 'RPA', 'RCA', 'VR', 'VFA'} (argmax, the paper's) of
    {'params', 'batch_stats'} on every track of the source."""
    if self._model is None:
      self._model = engine.from_config(self._config, variables)
    else:  # the jitted forward takes variables as an argument: no recompile
      self._model.variables = jax.device_put(variables)
    means, _ = evaluate_source(self._model, self.source, progress=False,
                               decoder=decoding.VALIDATION_DECODER)
    return {k: float(means[k]) for k in ('OA', 'RPA', 'RCA', 'VR', 'VFA')}


def read_clip_scores(path, metric: str = 'OA') -> dict[str, float]:
  """{clip: metric} from a per-clip CSV: ours (``track_id`` column) or the
  paper authors' (``Songname``).

  Raises:
    errors.DatasetError: the file is missing or has no such columns.
  """
  try:
    with open(path, encoding='utf-8', newline='') as f:
      rows = list(csv.DictReader(f))
  except OSError as e:
    raise errors.DatasetError(f'{path}: cannot read ({e})') from e
  key = next((k for k in ('track_id', 'Songname') if rows and k in rows[0]),
             None)
  if key is None or metric not in rows[0]:
    raise errors.DatasetError(f'{path}: expected a track_id or Songname '
                              f'column and a {metric} column')
  return {row[key]: float(row[metric]) for row in rows}


def compare_clips(ours: dict[str, float], theirs: dict[str, float],
                  tolerance: float = 0.01) -> dict[str, object]:
  """Per-clip differences of one metric between two runs on the same clips.

  Returns:
    {'clips': clips in both, 'mean_abs': mean |ours - theirs|,
    'within': share of clips with |difference| <= tolerance,
    'worst': (clip, ours - theirs) of the largest |difference|,
    'only_ours', 'only_theirs': sorted clips missing from the other side}.

  Raises:
    errors.DatasetError: no clip in common.
  """
  common = sorted(set(ours) & set(theirs))
  if not common:
    raise errors.DatasetError('per-clip comparison: no clip in common')
  diffs = np.array([ours[c] - theirs[c] for c in common])
  worst = int(np.argmax(np.abs(diffs)))
  return {'clips': len(common), 'mean_abs': float(np.mean(np.abs(diffs))),
          'within': float(np.mean(np.abs(diffs) <= tolerance + 1e-12)),
          'worst': (common[worst], float(diffs[worst])),
          'only_ours': sorted(set(ours) - set(theirs)),
          'only_theirs': sorted(set(theirs) - set(ours))}
