"""Exporting a trained workdir as a pretrained-model folder; its training log.

``python run.py --config=... --mode=export --workdir=W [--checkpoint=STEP]
[--output_dir=DIR]`` writes ``variables.msgpack``, ``config.json`` and
``info.json`` (git commit; step, how it was chosen, its validation scores and
the median training frames/s) to ``DIR`` (default
``jaxmelody/pretrained/<config.model.name>/``, where ``extract_melody`` and
``--mode=predict`` find it), from the step with the best validation OA (else
the latest step), or the given step folder (several, comma-separated:
their weight average, ``weights.average_variables``). With ``--evaluate``
it then evaluates the exported folder on ``config.eval.sets`` (the test
sets by default) and records those scores and their protocol in ``info.json``
(``scores.test``), so the bundle carries its test figures beside its
validation ones; they are recorded, never used to choose the step.

``read_scalars`` reads the TensorBoard event files train.py writes (TFRecord
framing around tensorboardX's Event protos) without TensorFlow.
"""

import json
import os
import pathlib
import struct
from typing import Any

import numpy as np

from jaxmelody import atomic
from jaxmelody import errors
from jaxmelody.inference import decoding
from jaxmelody.inference import evaluate
from jaxmelody.inference import weights
from jaxmelody.training import checkpoints
from jaxmelody.training import workdir_config

VALIDATION_METRICS = ('OA', 'RPA', 'RCA', 'VR', 'VFA')


def read_scalars(workdir) -> dict[str, dict[int, float]]:
  """{tag: {step: value}} of every scalar in ``<workdir>/events.out.tfevents.*``.

  Files are read in name order (creation time), so a resumed run's later
  value of a step wins. A truncated last record (a run killed mid-write) is
  ignored.

  Raises:
    errors.CheckpointError: a record that is not an Event.
  """
  from tensorboardX.proto import event_pb2  # pylint: disable=g-import-not-at-top
  scalars: dict[str, dict[int, float]] = {}
  for path in sorted(pathlib.Path(workdir).glob('events.out.tfevents.*')):
    data, i = path.read_bytes(), 0
    # TFRecord: length u64, crc u32, payload, crc u32.
    while i + 12 <= len(data):
      n = struct.unpack('<Q', data[i:i + 8])[0]
      if i + 16 + n > len(data):
        break
      try:
        event = event_pb2.Event.FromString(data[i + 12:i + 12 + n])
      except Exception as e:  # protobuf's DecodeError and friends
        raise errors.CheckpointError(
            f'{path}: not a TensorBoard event file ({e})') from e
      i += n + 16
      for value in event.summary.value:
        scalars.setdefault(value.tag, {})[int(event.step)] = float(
            value.simple_value)
  return scalars


def training_summary(scalars) -> dict[str, Any]:
  """Median and max training frames/s (the first log, with compilation, is
  dropped when there are others) and validation scores by step."""
  fps = scalars.get('train/frames_per_s', {})
  rates = [fps[s] for s in sorted(fps)]
  rates = rates[1:] or rates
  validation = {}
  for key in VALIDATION_METRICS:
    for step, value in scalars.get(f'val/{key}', {}).items():
      validation.setdefault(step, {})[key] = value
  return {'frames_per_s_median': float(np.median(rates)) if rates else None,
          'frames_per_s_max': float(np.max(rates)) if rates else None,
          'frames_per_s_logs': len(rates),
          'validation': dict(sorted(validation.items()))}


def _choose_steps(workdir: pathlib.Path, config, checkpoint):
  """(step folders, step, how they were chosen); several are averaged."""
  if checkpoint and ',' in str(checkpoint):
    folders = [checkpoints.step_folder(pathlib.Path(c))
               for c in str(checkpoint).split(',')]
    steps = sorted(int(f.name) for f in folders)
    return folders, steps[-1], ('weight average of steps '
                                + ', '.join(map(str, steps)) + ' (given)')
  if checkpoint:
    folder = checkpoints.step_folder(pathlib.Path(checkpoint))
    return [folder], int(folder.name), 'given (--checkpoint)'
  ckpts = checkpoints.TrainCheckpoints(workdir, config.train, create=False)
  try:
    best, latest = ckpts.best_step(), ckpts.latest_step()
  finally:
    ckpts.close()
  if best is not None:
    return [ckpts.directory / str(best)], best, 'best validation OA'
  if latest is None:
    raise errors.CheckpointError(
        f'{workdir}: holds no checkpoint to export (train first)')
  return [ckpts.directory / str(latest)], latest, 'latest (never validated)'


def _provenance(workdir: pathlib.Path, config) -> dict[str, Any]:
  """The commits that trained the workdir, and those of the run it
  continued (``config.train.init_from``) when that run is still there."""
  out = {'starts': checkpoints.read_starts(workdir)}
  origin = config.train.init_from
  if origin:
    try:
      trunk = checkpoints.step_folder(pathlib.Path(origin)).parents[1]
    except errors.CheckpointError:
      trunk = None
    out['init_from'] = {'path': origin, 'starts': checkpoints.read_starts(
        trunk) if trunk else []}
  return out


def export_workdir(config, workdir, checkpoint=None, output_dir=None):
  """Exports a step of a training workdir as a pretrained-model folder.

  Args:
    config: this command's config: its model must be the workdir's; the
      recipe is read from the workdir's ``config.json``
      (``workdir_config.trained_config``), so the exported config is the
      one the weights were trained with.
    workdir: the training workdir.
    checkpoint: a step folder (or workdir) to export instead of the best;
      several separated by commas export their weight average (recorded
      as the last step).
    output_dir: where to write; default
      ``jaxmelody/pretrained/<config.model.name>``.

  Returns:
    (output folder, the dict recorded as info.json's ``scores``).

  Raises:
    errors.CheckpointError: no checkpoint there, or unreadable.
    errors.ConfigError: the config names another model than the workdir's.
  """
  workdir = pathlib.Path(workdir)
  if not (workdir / workdir_config.CONFIG_FILE).is_file():
    raise errors.CheckpointError(
        f'{workdir}: not a training workdir (no {workdir_config.CONFIG_FILE})')
  config = workdir_config.trained_config(config, workdir)
  folders, step, chosen = _choose_steps(workdir, config, checkpoint)
  summary = training_summary(read_scalars(workdir))
  scores = {'step': step, 'selected_by': chosen,
            # An average's validation was never measured during training.
            'validation': (summary['validation'].get(step)
                           if len(folders) == 1 else None),
            'validation_singers': list(config.data.val_singers),
            'train_frames_per_s_median': summary['frames_per_s_median'],
            'trained_by': _provenance(workdir, config)}
  variables = weights.average_variables(
      [checkpoints.restore_variables(f) for f in folders])
  out = pathlib.Path(output_dir) if output_dir else (
      weights.PRETRAINED_DIR / str(config.model.name))
  checkpoints.export_pretrained(variables, config, out, scores)
  return out, scores


def format_summary(out, scores, validation=None) -> str:
  """The lines --mode=export prints (``validation``: {step: scores})."""
  lines = [f'step {step:6d} validation ' + ', '.join(
      f'{k} {v[k]:.2f}' for k in VALIDATION_METRICS if k in v)
           for step, v in (validation or {}).items()]
  val = scores['validation']
  shown = ', '.join(f'{k} {val[k]:.2f}' for k in VALIDATION_METRICS
                    if k in val) if val else 'not validated'
  fps = scores['train_frames_per_s_median']
  return '\n'.join(lines + [
      f'exported step {scores["step"]} ({scores["selected_by"]}): {shown}',
      'train frames/s (median): ' + (f'{fps:.0f}' if fps else 'not logged'),
      f'-> {os.fspath(out)}'])


def eval_protocol(config) -> dict[str, Any]:
  """The settings an evaluation's scores depend on besides the weights."""
  decoder, voicing_threshold = decoding.from_config(config.eval)
  return {
      'sets': [list(s) for s in config.eval.sets],
      'decoder': decoder,
      'voicing_threshold': voicing_threshold,
      'bn_inference': config.model.bn_inference,
      'mir1k_label_offset_s': config.data.mir1k_label_offset_s,
      'res_type': config.data.res_type,
      'integer_hz': bool(config.eval.integer_hz),
  }


def record_test_scores(out, results, protocol) -> dict[str, Any]:
  """Adds ``{'protocol', 'sets': {name: means}}`` as ``scores.test`` to the
  folder's info.json (replacing an earlier one); returns that entry."""
  path = pathlib.Path(out) / 'info.json'
  info = json.loads(path.read_text())
  info['scores'] = dict(info.get('scores') or {})
  entry = {'protocol': protocol,
           'sets': {name: {k: int(v) if isinstance(v, (int, np.integer))
                           else float(v) for k, v in means.items()}
                    for name, means in results.items()}}
  info['scores']['test'] = entry
  with atomic.atomic_path(path) as tmp:  # never half an info.json
    pathlib.Path(tmp).write_text(json.dumps(info, indent=2))
  return entry


def main(config, workdir, checkpoint=None, output_dir=None,
         evaluate_sets: bool = False) -> int:
  """--mode=export [--evaluate]."""
  if not workdir:
    raise errors.ConfigError('--mode=export: --workdir is required (the '
                             'training workdir to export)')
  out, scores = export_workdir(config, workdir, checkpoint, output_dir)
  validation = training_summary(read_scalars(workdir))['validation']
  print(format_summary(out, scores, validation), flush=True)
  if evaluate_sets:
    # The exported model as predict and --mode=eval see it: its trained
    # recipe, with this command's evaluation options. Outputs (per-clip
    # CSVs) go to <workdir>/eval/.
    trained = workdir_config.trained_config(config, pathlib.Path(workdir))
    results = evaluate.run_eval(trained, workdir, checkpoint=os.fspath(out))
    record_test_scores(out, results, eval_protocol(trained))
    print(f'recorded the scores of {", ".join(results)} in '
          f'{os.fspath(pathlib.Path(out) / "info.json")}', flush=True)
  return 0
