"""``jaxmelody-beam``: the command line of the Beam pipeline (beam_extract.py).

  jaxmelody-beam --input='songs/*.mp3' --output=melody_out
      [--input_list=FILE] [--checkpoint=PATH] [--decoder=viterbi]
      [--voicing_threshold=P] [--batch_size=8]
      [--runner=DirectRunner] [any Beam pipeline option]

The ``jaxmelody`` command's spellings work too (``-o/--output-dir``,
``--voicing-threshold``, ``--input-list``, ``--batch-size``). Flags it does
not know go to Beam (``PipelineOptions``); one unknown to both, or a
malformed one, is an ``error:`` line and exit status 2, as is any other
unusable request, and inputs of which none names a file. A finished run
prints one summary line and exits 0, or 1 when some file failed (its row in
``summary.csv`` says why). Without ``-v`` the log lines of Beam's worker
processes are not shown.
"""

import argparse
import contextlib
import csv
import io
import logging
import os
import sys
import tempfile
import time

from jaxmelody.apps import beam_extract
from jaxmelody import errors
from jaxmelody import runtime
from jaxmelody.inference import decoding


def _parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(
      prog='jaxmelody-beam',
      description='Extract the melody of many recordings with Apache Beam '
      '(locally or on Dataflow, Flink, Spark). Flags not listed here go to '
      'Beam (--runner, --direct_num_workers, --project, ...).',
      epilog="example: jaxmelody-beam --input='songs/*.mp3' --output=f0 "
      '--direct_num_workers=2 --direct_running_mode=multi_processing')
  parser.add_argument('--input', action='append', default=[],
                      help='a glob or path (repeatable; any filesystem Beam '
                      'reads)')
  # Beam's underscores and the jaxmelody command's spellings both work.
  parser.add_argument('--input_list', '--input-list', default='',
                      help='a text file with one path or glob per line')
  parser.add_argument('--output', '-o', '--output-dir', dest='output',
                      required=True,
                      help='folder for <stem>.csv and summary.csv')
  parser.add_argument('--checkpoint', default=None,
                      help='other weights (default: the bundled model)')
  parser.add_argument('--decoder', choices=decoding.DECODERS, default=None,
                      help="default: the model's config (as jaxmelody)")
  parser.add_argument('--voicing_threshold', '--voicing-threshold',
                      dest='voicing_threshold', type=float, default=None,
                      metavar='P', help='as jaxmelody --voicing-threshold')
  parser.add_argument('--batch_size', '--batch-size', dest='batch_size',
                      type=int, default=8,
                      help='most clips per worker batch (default: 8)')
  parser.add_argument('-v', '--verbose', action='store_true',
                      help='show library warnings and Beam log lines')
  return parser


def _pipeline_options(beam_args):
  """Beam's PipelineOptions; unknown or malformed flags are ConfigErrors."""
  from apache_beam.options.pipeline_options import PipelineOptions  # pylint: disable=g-import-not-at-top
  options = PipelineOptions(beam_args)
  captured = io.StringIO()
  try:
    with contextlib.redirect_stderr(captured):  # argparse's whole usage
      known = options.get_all_options()
      every = options.get_all_options(retain_unknown_options=True)
  except SystemExit as e:
    reason = (captured.getvalue().strip().splitlines() or [''])[-1]
    raise errors.ConfigError(
        f'Beam option: {reason.partition("error: ")[2] or reason}') from e
  unknown = sorted(set(every) - set(known))
  if unknown:
    raise errors.ConfigError(
        f'unknown option(s) --{", --".join(unknown)}: neither '
        "jaxmelody-beam's (see --help) nor Beam's")
  return options


def _require_a_match(patterns) -> None:
  """AudioError when none of the patterns names a file (as ``jaxmelody``)."""
  # pylint: disable-next=protected-access
  matches = [beam_extract._match(pattern) for pattern in patterns]
  if all(len(found) == 1 and found[0][1] for found in matches):
    problems = [found[0][1] for found in matches]
    raise errors.AudioError(
        problems[0] if len(problems) == 1 else
        f'none of the {len(problems)} inputs names a file '
        f'({"; ".join(problems)})')


@contextlib.contextmanager
def _worker_logs_hidden(hide: bool):
  """Sends what Beam's worker processes log to the stderr they inherit
  (~20 INFO/WARNING lines each) to a temporary file, while ``hide``."""
  if not hide:
    yield
    return
  sys.stderr.flush()
  saved = os.dup(2)
  with tempfile.TemporaryFile() as sink:
    os.dup2(sink.fileno(), 2)
    try:
      yield
    finally:
      sys.stderr.flush()
      os.dup2(saved, 2)
      os.close(saved)


def main(argv=None) -> int:
  """Runs the pipeline; 0 = all done, 1 = some files failed, 2 = error."""
  args, beam_args = _parser().parse_known_args(argv)
  if not args.verbose:
    runtime.quiet_libraries()
    logging.getLogger().setLevel(logging.ERROR)  # Beam logs to the root
  start = time.perf_counter()

  def run():
    if not (args.input or args.input_list):
      raise errors.ConfigError('no input: give --input and/or --input_list')
    if args.batch_size < 1:
      raise errors.ConfigError(f'--batch_size: must be >= 1, got '
                               f'{args.batch_size}')
    beam = beam_extract.import_beam()
    with _worker_logs_hidden(not args.verbose), beam.Pipeline(
        options=_pipeline_options(beam_args)) as pipeline:
      beam_extract.build(
          pipeline, args.input, args.output, input_list=args.input_list,
          checkpoint=args.checkpoint, decoder=args.decoder,
          voicing_threshold=args.voicing_threshold,
          batch_size=args.batch_size)
      # Checked after the options and settings, before anything runs.
      if not args.input_list:
        _require_a_match(args.input)
    return report(args.output, time.perf_counter() - start)

  return errors.exit_status(
      run, interrupted='the CSVs already written are complete')


def report(output: str, wall_s: float | None = None) -> int:
  """Prints the one-line summary of a finished run; 1 if any file failed.

  Args:
    output: the run's output folder (its summary.csv is read).
    wall_s: the run's wall-clock seconds, for the "Nx real time" figure.
  """
  from apache_beam.io.filesystems import FileSystems  # pylint: disable=g-import-not-at-top
  from jaxmelody.inference.api import real_time  # pylint: disable=g-import-not-at-top
  summary = FileSystems.join(output, beam_extract.SUMMARY_NAME)
  with FileSystems.open(summary) as f:
    rows = list(csv.DictReader(io.TextIOWrapper(f, encoding='utf-8')))
  failed = [r for r in rows if r['error']]
  audio_s = sum(float(r['duration_s'] or 0) for r in rows)
  speed = (f' in {wall_s:.1f} s ({real_time(audio_s, wall_s)})'
           if wall_s is not None else '')
  print(f'jaxmelody-beam: {len(rows) - len(failed)} file(s) -> {output}, '
        f'{audio_s:.1f} s of audio{speed}, {len(failed)} failed (see '
        f'{beam_extract.SUMMARY_NAME})', flush=True)
  return 1 if failed else 0


def console_main() -> None:
  """The console-script entry point."""
  runtime.reexec_with_tuned_malloc()
  sys.exit(main())


if __name__ == '__main__':
  console_main()
