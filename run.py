"""jaxmelody's command line: train, eval, predict, summary, build, export.

  python run.py --config=configs/dense10.py [--config.train.batch_size=16] \
      [--mode=train|eval|predict|summary|build|export] [--workdir=DIR]

All logic lives in the ``jaxmelody`` package; this file parses flags,
dispatches a mode, and turns the project's errors into one ``error:`` line
(exit status 2, ``errors.exit_status``) instead of a traceback.
``--mode=predict`` is the ``jaxmelody`` command (``apps.cli.predict``).
"""

import logging as std_logging
import sys

if __name__ == '__main__':
  # Before anything heavy is imported: XLA:CPU needs huge-page malloc to run
  # fast (see jaxmelody/runtime.py); this re-executes the process once.
  from jaxmelody import runtime  # pylint: disable=g-import-not-at-top
  runtime.reexec_with_tuned_malloc()

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import flags
from absl import logging
from ml_collections import config_flags

from jaxmelody import errors
from jaxmelody.apps import cli

# No default file: ml_collections parses a default (and any overrides on the
# command line) while the flag is defined, before errors can be reported.
_CONFIG = config_flags.DEFINE_config_file(
    'config', None, 'Config file (a get_config() module), e.g. '
    'configs/dense10.py.', lock_config=True)
_MODE = flags.DEFINE_enum(
    'mode', 'train',
    ['train', 'eval', 'predict', 'summary', 'build', 'export'],
    'What to do.')
_WORKDIR = flags.DEFINE_string(
    'workdir', None, 'Checkpoints, TensorBoard logs and eval outputs.')
_CHECKPOINT = flags.DEFINE_string(
    'checkpoint', None,
    'eval/predict/export weights: a workdir, a checkpoint folder or the '
    'authors\' .pkl (several, comma-separated: their weight average); '
    'default: the workdir\'s latest (export: its best validated step), else '
    'the bundled pretrained model.')
_AUDIO = flags.DEFINE_string(
    'audio', '', 'predict: a file, comma-separated files, a folder or a glob; '
    'default: the bundled demo clip.')
_OUTPUT_DIR = flags.DEFINE_string(
    'output_dir', '',
    'predict: where <stem>.csv/.png/.wav/.mid go (default: <workdir>/predict, '
    'else ./melody_out); export: the model folder to write (default: the '
    'bundled jaxmelody/pretrained/<model name>).')
_PLOT = flags.DEFINE_bool('plot', False, 'predict: also write <stem>.png.')
_SONIFY = flags.DEFINE_bool(
    'sonify', False, 'predict: also write <stem>.melody.wav.')
_MIDI = flags.DEFINE_bool('midi', False, 'predict: also write <stem>.mid.')
_CONFIDENCE = flags.DEFINE_bool(
    'confidence', False, 'predict: also write <stem>.confidence.csv.')
_EVALUATE = flags.DEFINE_bool(
    'evaluate', False, 'export: then evaluate the exported model on '
    'config.eval.sets and record the scores in its info.json.')
_VERBOSE = flags.DEFINE_bool(
    'verbose', False, 'Show library warnings, INFO log lines and TFDS\'s '
    'progress bars (hidden by default).')


def _summary(config) -> int:
  from jaxmelody.model import network  # pylint: disable=g-import-not-at-top
  print(network.summary(config.model))
  return 0


def _build(config) -> int:
  from jaxmelody.data import datasets  # pylint: disable=g-import-not-at-top
  datasets.build_all(config)
  return 0


def _predict(config) -> int:
  # The jaxmelody command's implementation; --config.eval.decoder and
  # --config.eval.voicing_threshold are its --decoder and --voicing-threshold.
  return cli.predict(
      config, _AUDIO.value, output_dir=_OUTPUT_DIR.value, plot=_PLOT.value,
      sonify=_SONIFY.value, midi=_MIDI.value, confidence=_CONFIDENCE.value,
      checkpoint=_CHECKPOINT.value, workdir=_WORKDIR.value)


def _export(config) -> int:
  from jaxmelody.training import export  # pylint: disable=g-import-not-at-top
  return export.main(
      config, _WORKDIR.value, _CHECKPOINT.value,
      _OUTPUT_DIR.value or None,
      evaluate_sets=_EVALUATE.value)


def _eval(config) -> int:
  from jaxmelody.inference import evaluate  # pylint: disable=g-import-not-at-top
  evaluate.run_eval(config, _workdir('eval', 'results go to <workdir>/eval/'),
                    _CHECKPOINT.value)
  return 0


def _train(config) -> int:
  workdir = _workdir('train')
  import jax  # pylint: disable=g-import-not-at-top
  from jaxmelody.training import train  # pylint: disable=g-import-not-at-top
  if config.distributed:
    # Reads the coordinator address and process ids from the environment
    # (SLURM, TPU pods, or JAX_COORDINATOR_ADDRESS & co).
    try:
      jax.distributed.initialize()
    except (RuntimeError, ValueError) as e:
      raise errors.ConfigError(
          f'--config.distributed: cannot join the other processes ({e}); '
          'set JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES and '
          'JAX_PROCESS_ID, or run under SLURM') from e
  logging.info('JAX process %d/%d, local devices: %s', jax.process_index(),
               jax.process_count(), jax.local_devices())
  train.train_and_evaluate(config, workdir)
  return 0


_MODES = {'train': _train, 'eval': _eval, 'predict': _predict,
          'summary': _summary, 'build': _build, 'export': _export}

# What a Ctrl-C leaves behind, per mode (errors.exit_status prints it).
_INTERRUPTED = {
    'train': 'the last saved checkpoint is kept; run again to resume',
    'eval': 'per-clip CSVs already written are complete',
    'predict': cli.INTERRUPTED,
    'export': 'the earlier model folder, if any, is kept',
    'build': 'nothing is left half built; the next use builds it again',
    'summary': 'nothing more was done',
}


def _workdir(mode: str, why: str = '') -> str:
  """--workdir, which ``mode`` requires."""
  if not _WORKDIR.value:
    raise errors.ConfigError(f'--mode={mode}: --workdir is required' +
                             (f' ({why})' if why else ''))
  return _WORKDIR.value


def _parse_flags(argv):
  """absl's parser, but a bad flag is one `error:` line and exit status 2."""
  try:
    return flags.FLAGS(argv)
  except (flags.Error, OSError, ValueError, AttributeError) as e:
    # config_flags reports a bad --config path or override as a flag error;
    # a config file that raises comes with its traceback, whose last line
    # says why.
    lines = [line for line in str(e).splitlines() if line.strip()]
    message = lines[0] if lines else type(e).__name__
    if 'Traceback (most recent call last):' in lines[1:]:
      message = f'{message} {lines[-1]}'
    if isinstance(e, flags.UnrecognizedFlagError):
      message = f'unknown flag or config field --{e.flagname}'
    elif isinstance(e, AttributeError):  # an override of a field not there
      message = f'unknown config field {message}'
    print(f'error: flags: {message}', file=sys.stderr)
    sys.exit(2)


def _load_config():
  """Returns the parsed config; a config file that fails to load is an error.

  config_flags loads the file lazily and reports failures as OSError with a
  multi-line message; keep only the part that says why.
  """
  if _CONFIG.value is None:
    raise errors.ConfigError('--config: required, e.g. '
                             '--config=configs/dense10.py')
  try:
    config = _CONFIG.value
    config.get('model')  # forces the lazy load
    return config
  except OSError as e:
    lines = [l.strip() for l in str(e).splitlines() if l.strip()]
    raise errors.ConfigError(f'--config: {lines[-1] if lines else e}') from e


# Library log lines that say nothing a user can act on.
_CHATTER = ('has no dataset_info.json', 'Using custom data configuration')


class _QuietLibraries(std_logging.Filter):
  """Drops library warnings that say nothing to a user.

  orbax warns about metadata of checkpoints it wrote itself, and TFDS about
  the empty folder of a dataset it is about to build.
  """

  def filter(self, record):
    if record.levelno >= std_logging.ERROR:
      return True
    if '/orbax/' in record.pathname:
      return False
    message = record.getMessage()
    return not any(m in message for m in _CHATTER)


def _set_verbosity() -> None:
  """Shows what a user can act on: progress bars, warnings, errors."""
  # JAX logs at INFO each accelerator backend it does not find.
  std_logging.getLogger('jax._src.xla_bridge').setLevel(std_logging.WARNING)
  if _VERBOSE.value:
    from jaxmelody.data import datasets  # pylint: disable=g-import-not-at-top
    datasets.VERBOSE = True
  elif not flags.FLAGS['verbosity'].present:
    # orbax and TFDS log every file operation at INFO (-v 0 brings the INFO
    # lines back).
    logging.set_verbosity(logging.WARNING)
    std_logging.getLogger('absl').addFilter(_QuietLibraries())


def main(argv):
  if len(argv) > 1:
    print(f'error: arguments: unexpected {" ".join(argv[1:])!r}',
          file=sys.stderr)
    return 2
  _set_verbosity()
  return errors.exit_status(
      lambda: _MODES[_MODE.value](_load_config()),
      interrupted=_INTERRUPTED[_MODE.value])


if __name__ == '__main__':
  app.run(main, flags_parser=_parse_flags)
