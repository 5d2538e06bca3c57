"""The config a training workdir was started with, and what may change on resume.

``<workdir>/config.json`` is written once, when a workdir is first used, and
never overwritten. A run that resumes the workdir compares its config with
that file: fields of the model, the data and the training recipe must match
(resuming with another model, other clips or another seed would silently mix
two experiments); fields that only say how long to train, how often to log,
save or validate, and where the data lives may change.
"""

import json
import pathlib
from typing import Any

import ml_collections

from jaxmelody import atomic
from jaxmelody import default_config
from jaxmelody.errors import ConfigError

CONFIG_FILE = 'config.json'

# Fields that may differ between the original run and a resumed one.
RESUMABLE_FIELDS = frozenset({
    'train.num_steps',
    'train.log_every_steps',
    'train.checkpoint_every_steps',
    'train.keep_checkpoints',
    'train.val_max_clips',
    'train.fast_step',   # the same step to float32 rounding
    'eval.every_steps',
    'eval.sets',         # --mode=eval's sets; not used by training
    'eval.pad_lengths',  # compiled inference lengths; same results
    'eval.decoder',      # --mode=eval's decoding; validation uses argmax
    'eval.voicing_threshold',
    'data.data_dir',
    'data.manual_root',
    'data.read_threads',
    'data.beam_options',  # how datasets are built, not what they hold
    'distributed',
})


def flatten(tree: dict[str, Any], prefix: str = '') -> dict[str, Any]:
  """{'section.field': value} of a nested dict (as read from config.json)."""
  out = {}
  for key, value in tree.items():
    if isinstance(value, dict):
      out.update(flatten(value, f'{prefix}{key}.'))
    else:
      out[f'{prefix}{key}'] = value
  return out


def as_json_tree(config) -> dict[str, Any]:
  """The config as config.json stores it (tuples become lists, etc.)."""
  return json.loads(config.to_json_best_effort())


def differing_fields(saved: dict[str, Any], config) -> list[str]:
  """Fields (dotted, sorted) whose values differ and that may not differ.

  A field present on one side only counts as differing (a config of another
  version of the code), unless it is resumable, or it is absent from the
  saved config and has its default value now (a field added to the code
  after the run started, e.g. an augmentation that is off by default), or
  it is only in the saved config and retired with the value it has there
  (``default_config.RETIRED_FIELDS``: the code still does what it said).
  """
  old, new = flatten(saved), flatten(as_json_tree(config))
  defaults = _defaults()
  retired = default_config.RETIRED_FIELDS

  def differs(k):
    if k in RESUMABLE_FIELDS:
      return False
    if k not in old and k in new and k in defaults:
      return new[k] != defaults[k]
    if k in old and k not in new and k in retired:
      return retired[k] is not None and old[k] != retired[k]
    return old.get(k, _MISSING) != new.get(k, _MISSING)

  return sorted(k for k in set(old) | set(new) if differs(k))


def _defaults() -> dict[str, Any]:
  """The package's default config, flattened (``default_config.py``)."""
  return flatten(as_json_tree(default_config.get_config()))


_MISSING = object()


def _show(value) -> str:
  return '(absent)' if value is _MISSING else json.dumps(value)


def _read(path: pathlib.Path) -> dict[str, Any]:
  try:
    return json.loads(path.read_text())
  except (OSError, ValueError) as e:
    raise ConfigError(f'{path}: unreadable ({e}); it records the config this '
                      'workdir was started with') from e


def _differences(path, saved, config, differing) -> str:
  old, new = flatten(saved), flatten(as_json_tree(config))
  shown = '; '.join(f'{k}: {_show(old.get(k, _MISSING))} in the workdir, '
                    f'{_show(new.get(k, _MISSING))} now' for k in differing)
  return (f'{path}: this workdir was started with a different config '
          f'({len(differing)} field(s) differ: {shown})')


def trained_config(config, workdir) -> ml_collections.ConfigDict:
  """The config a finished workdir's weights were trained with.

  For modes that use a run rather than continue it (``--mode=export``): the
  recipe and schedule come from ``<workdir>/config.json``, so a branch's
  flags (``train.init_from``, ``train.lr_schedule``, ...) need not be
  repeated on the command line; locations and evaluation options (the
  ``RESUMABLE_FIELDS`` outside ``train``) come from ``config``.

  Args:
    config: this command's config.
    workdir: the training workdir (holds config.json).

  Returns:
    A new ConfigDict (``default_config.merge``): config's fields, overwritten
    by the workdir's except the ``RESUMABLE_FIELDS`` outside ``train``.

  Raises:
    ConfigError: config.json is absent or unreadable, a ``model.*`` field
      differs (the command names another model than the workdir's), or it
      holds a field config does not have.
  """
  path = pathlib.Path(workdir) / CONFIG_FILE
  saved = _read(path)
  differing = [k for k in differing_fields(saved, config)
               if k.startswith('model.')]
  if differing:
    raise ConfigError(_differences(path, saved, config, differing) +
                      '; name the config the workdir was trained with')
  recipe = {}
  for key, value in flatten(saved).items():
    # The run's own schedule (steps, periods) is part of its record; only
    # locations and evaluation options are this command's.
    if not key.startswith('train.') and (
        key in RESUMABLE_FIELDS or key.split('.')[0] in RESUMABLE_FIELDS):
      continue
    *parents, name = key.split('.')
    node = recipe
    for part in parents:
      node = node.setdefault(part, {})
    node[name] = value
  return default_config.merge(recipe, config, source=str(path))


def check_or_write(config, workdir, *, write: bool = True) -> bool:
  """Writes ``<workdir>/config.json``, or checks a resumed run against it.

  Args:
    config: the full config of this run.
    workdir: the training workdir (exists).
    write: write the file when it is absent (False on processes other
      than the first of a multi-process job).

  Returns:
    True if the workdir already had a config.json (a resumed run).

  Raises:
    ConfigError: the saved config differs in fields that must match (the
      message names each with both values), or config.json is unreadable.
  """
  path = pathlib.Path(workdir) / CONFIG_FILE
  if not path.exists():
    if write:
      with atomic.atomic_path(path) as tmp:  # a resume reads it back
        pathlib.Path(tmp).write_text(config.to_json_best_effort(indent=2))
    return False
  saved = _read(path)
  differing = differing_fields(saved, config)
  if differing:
    raise ConfigError(_differences(path, saved, config, differing) +
                      '; resume with the original values or train in a new '
                      '--workdir')
  return True
