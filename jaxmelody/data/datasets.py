"""Building and reading the melody datasets (TFDS array_record, no TensorFlow).

Datasets are built through the TFDS Python API with
``file_format='array_record'`` and read with ``as_data_source``: neither needs
TensorFlow (the ``tfds`` command-line tool, ``as_dataset`` and tfrecord do).
Corpora that must be downloaded by hand are read from
``<manual_root>/<name>/``; ``manual_root`` defaults to TFDS's own manual
folder ``<data_dir>/downloads/manual``. A dataset that is not built yet is
built on first use.

Names: ``NAMES``, the builders of ``datasets_builders``: ``mir1k``
(label-time configs ``centered`` / ``msfcn``), ``adc2004``, ``mirex05``,
``ikala``; ``synthetic_melody``, ``mir1k_augmented`` and ``robustness``
(generated from the others or from nothing, no download of their own).
"""

import contextlib
import io
import os
import pathlib
import shlex
import shutil
import sys
import time

import tensorflow_datasets as tfds

import datasets_builders
from datasets_builders import common
from datasets_builders.synthetic_melody import (
    synthetic_melody_dataset_builder as synthetic)
from jaxmelody import errors
from jaxmelody.data import track_source

NAMES = tuple(sorted(datasets_builders.BUILDERS))
# config.data.mir1k_label_offset_s -> mir1k builder config.
MIR1K_CONFIGS = {0.02: 'centered', 0.01: 'msfcn'}
_DEFAULT_SYNTHETIC = synthetic.Builder.BUILDER_CONFIGS[0]
# Corpora whose audio is not 16 kHz: built with common.RES_TYPE only.
_RESAMPLED = ('adc2004', 'mirex05', 'ikala')


def _check_name(name: str) -> None:
  if name not in datasets_builders.BUILDERS:
    raise errors.ConfigError(f'dataset {name!r}: unknown; expected one of '
                             f'{", ".join(NAMES)}')


def _config(name: str, data_config):
  """The builder config (a name or a BuilderConfig) the data config asks for."""
  if name == 'mir1k':
    offset = float(data_config.mir1k_label_offset_s)
    for value, config_name in MIR1K_CONFIGS.items():
      if abs(offset - value) < 1e-9:
        return config_name
    raise errors.ConfigError(
        f'config.data.mir1k_label_offset_s: {offset} is not supported; use '
        '0.02 (label at the centre of its window) or 0.01 (the authors\')')
  if name == 'synthetic_melody':
    # An explicit config name ('tiny' for tests) wins over size and seed.
    explicit = getattr(data_config, 'synthetic_config', '')
    if explicit:
      known = [c.name for c in synthetic.Builder.BUILDER_CONFIGS]
      if explicit not in known:
        raise errors.ConfigError(
            f'config.data.synthetic_config: {explicit!r} is not one of '
            f'{", ".join(known)}')
      return explicit
    size, seed = int(data_config.synthetic_size), int(data_config.seed)
    if size < 1:
      raise errors.ConfigError(
          f'config.data.synthetic_size: must be positive, got {size}')
    if (size, seed) == (_DEFAULT_SYNTHETIC.num_train, _DEFAULT_SYNTHETIC.seed):
      return _DEFAULT_SYNTHETIC.name
    return synthetic.make_config(size, seed)
  return None


def builder_name(name: str, data_config) -> str:
  """TFDS name of the dataset a config uses, e.g. 'mir1k/centered'."""
  _check_name(name)
  config = _config(name, data_config)
  if config is None:
    return name
  return f'{name}/{config if isinstance(config, str) else config.name}'


def data_dir(data_config) -> str | None:
  """Where built datasets live (None = TFDS's default data_dir)."""
  return os.fspath(data_config.data_dir) if data_config.data_dir else None


def make_builder(name: str, data_config) -> tfds.core.DatasetBuilder:
  """The (possibly not yet built) TFDS builder of a dataset."""
  _check_name(name)
  return datasets_builders.BUILDERS[name](config=_config(name, data_config),
                                          data_dir=data_dir(data_config))


def manual_dir(name: str, data_config, builder=None) -> pathlib.Path:
  """``<manual_root>/<folder>``; manual_root defaults to TFDS's manual folder.

  The folder is the dataset's name, or the ``MANUAL_NAME`` of a builder that
  reads another corpus's files (``robustness`` reads ``mir1k``'s).
  """
  root = data_config.manual_root
  if not root:
    builder = builder or make_builder(name, data_config)
    root = pathlib.Path(os.fspath(builder.data_dir_root)) / 'downloads'
    root = root / 'manual'
  folder = getattr(datasets_builders.BUILDERS[name], 'MANUAL_NAME', name)
  return pathlib.Path(os.fspath(root)).expanduser() / folder


def build(name: str, data_config, *, max_examples_per_split: int | None = None
          ) -> tfds.core.DatasetBuilder:
  """Builds a dataset unless it is built already; returns its builder.

  Args:
    name: dataset name (see ``NAMES``).
    data_config: ``config.data`` (manual_root, data_dir, mir1k_label_offset_s,
      res_type, synthetic_size, seed; optional synthetic_config, a named
      synthetic_melody config such as 'tiny' that overrides size and seed).
    max_examples_per_split: build only the first few clips of each split (for
      tests; never into a data_dir used for training).

  Raises:
    errors.DatasetError: the corpus's manual folder is missing or incomplete.
    errors.ConfigError: an unknown name or an unsupported config value.
  """
  builder = make_builder(name, data_config)
  if builder.is_prepared():
    stored = common.stored_fingerprint(builder)
    if stored == common.fingerprint(type(builder)):
      return builder
    builder = _remove_stale(name, data_config, builder, stored)
  res_type = getattr(data_config, 'res_type', common.RES_TYPE)
  if name in _RESAMPLED and res_type != common.RES_TYPE:
    raise errors.ConfigError(
        f'config.data.res_type: {res_type!r}; the {name} dataset is built '
        f'with {common.RES_TYPE!r} resampling (the published scores need it)')
  manual = None
  if builder.MANUAL_DOWNLOAD_INSTRUCTIONS:
    manual = manual_dir(name, data_config, builder)
    if not manual.is_dir() or not any(manual.iterdir()):
      raise errors.DatasetError(
          f'{name}: not built yet and its manual folder {manual} is missing or '
          f'empty. {" ".join(builder.MANUAL_DOWNLOAD_INSTRUCTIONS.split())}')
  start = time.perf_counter()
  print(f'building dataset {builder.info.full_name} (first use) in '
        f'{builder.data_dir_root}...', file=sys.stderr, flush=True)
  beam_options = _beam_options(data_config)
  with _quiet_tfds():
    builder.download_and_prepare(
        file_format='array_record',
        download_config=tfds.download.DownloadConfig(
            manual_dir=manual, max_examples_per_split=max_examples_per_split,
            beam_options=beam_options))
  common.write_fingerprint(builder)
  print(f'built {builder.info.full_name} in {time.perf_counter() - start:.0f}'
        ' s', file=sys.stderr, flush=True)
  return builder


def _beam_options(data_config):
  """Beam PipelineOptions of ``config.data.beam_options``, or None (no Beam).

  Raises:
    errors.ConfigError: Beam flags given but apache-beam is not installed.
  """
  flags = shlex.split(data_config.beam_options or '')
  if not flags:
    return None
  try:
    from apache_beam.options import pipeline_options  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise errors.ConfigError(
        'config.data.beam_options: apache-beam is not installed: pip install '
        "'jaxmelody[beam]'") from e
  return pipeline_options.PipelineOptions(flags)


# TFDS's own messages and progress bars while building ('Downloading and
# preparing dataset Unknown size', one shuffling bar per split) are shown
# only when this is True (run.py --verbose).
VERBOSE = False


@contextlib.contextmanager
def _quiet_tfds():
  """Keeps TFDS's build chatter off the terminal unless VERBOSE."""
  if VERBOSE:
    yield
    return
  from tensorflow_datasets.core.utils import tqdm_utils  # pylint: disable=g-import-not-at-top
  tqdm_utils.disable_progress_bar()
  try:
    with contextlib.redirect_stdout(io.StringIO()):
      yield
  finally:
    tqdm_utils.enable_progress_bar()


def _remove_stale(name: str, data_config, builder, stored):
  """Deletes a build made by other feature/CFP code; returns a fresh builder.

  The examples hold CFP features, so a build whose fingerprint (see
  ``common.fingerprint``) differs from the current code's is never read: it
  is rebuilt from the manual folder, or, when that folder is missing, the
  run stops with an error that says so.
  """
  folder = pathlib.Path(os.fspath(builder.data_dir))
  why = ('with no fingerprint (an older version of the code)' if stored is None
         else f'with fingerprint {stored}')
  current = common.fingerprint(type(builder))
  if builder.MANUAL_DOWNLOAD_INSTRUCTIONS:
    manual = manual_dir(name, data_config, builder)
    if not manual.is_dir() or not any(manual.iterdir()):
      raise errors.DatasetError(
          f'{builder_name(name, data_config)}: the build in {folder} was made '
          f'{why}, but the current feature configuration and CFP code give '
          f'{current}, and its manual folder {manual} is missing to rebuild '
          f'it; provide the corpus there (or delete {folder} once it is)')
  print(f'note: {builder_name(name, data_config)}: the build in {folder} was '
        f'made {why}, not by the current feature configuration and CFP code '
        f'({current}); rebuilding it', file=sys.stderr, flush=True)
  shutil.rmtree(folder)
  return make_builder(name, data_config)


def disk_size(builder) -> int:
  """Bytes of every file in a built dataset's version folder."""
  folder = pathlib.Path(os.fspath(builder.data_dir))
  return sum(p.stat().st_size for p in folder.rglob('*') if p.is_file())


def get_source(name: str, split: str, data_config
               ) -> track_source.TrackSource:
  """The examples of ``name``/``split``, building the dataset on first use.

  ``split`` is a split name or any TFDS split expression ('all',
  'train+test', 'train[:10]'). A builder's ``UNIONS`` name splits made of
  written ones (mir1k's ``train`` is ``validation+fit``): such a name reads
  the written splits that exist, in order.
  """
  builder = build(name, data_config)
  parts = getattr(builder, 'UNIONS', {}).get(split)
  expression = split
  if parts:
    present = [p for p in parts if p in builder.info.splits]
    expression = '+'.join(present) or split
  try:
    source = builder.as_data_source(split=expression)
  except ValueError as e:  # unknown split or bad split expression
    raise errors.DatasetError(
        f'{builder_name(name, data_config)}: cannot read split {split!r} '
        f'({e}); it has {", ".join(sorted(builder.info.splits))} '
        '(and "all")') from e
  return track_source.TrackSource(
      source, f'{builder_name(name, data_config)}:{split}')


# Sets a training source may mix in: (config.data field holding the share
# of the training source they make up, dataset, split; None = the split of
# MIR-1K being trained on, 'fit' or 'train').
MIX_IN = (('synthetic_fraction', 'synthetic_melody', 'train'),
          ('augmented_fraction', 'mir1k_augmented', None),
          ('no_melody_fraction', 'mir1k_augmented', 'no_melody'))


def names_to_build(config) -> list[str]:
  """Dataset names ``config`` trains on, mixes in (share > 0) or evaluates on.

  In that order, each once; e.g. ['mir1k', 'mir1k_augmented', 'adc2004'].
  """
  mixed_in = [name for field, name, _ in MIX_IN
              if float(config.data.get(field, 0.0)) > 0]
  names = ([config.data.name] + mixed_in
           + [name for name, _ in config.eval.sets])
  return list(dict.fromkeys(names))


def build_all(config) -> list[str]:
  """Builds every dataset of ``names_to_build(config)``.

  Returns:
    The TFDS names built (or found built), e.g. ['mir1k/centered', 'adc2004'].
  """
  names = names_to_build(config)
  for name in names:
    _check_name(name)  # fail before spending time on the first build
  built = []
  for name in names:
    build(name, config.data)
    built.append(builder_name(name, config.data))
  return built
