"""The ``jaxmelody`` command: melody extraction from the command line.

  jaxmelody song.mp3 [more files, folders or globs] [-o DIR] [--plot]
      [--sonify] [--midi] [--confidence] [--decoder argmax|viterbi]
      [--voicing-threshold P] [--checkpoint PATH] [--verbose]

``python run.py --mode=predict`` runs the same ``predict``, options
included (``--config.eval.decoder`` and ``--config.eval.voicing_threshold``
stand for ``--decoder`` and ``--voicing-threshold``): the same files, the
same ``error:`` lines, exit status 0 (all done), 1 (some inputs failed, each
reported) or 2 (nothing could be done: bad flags, no input, no model,
unwritable folder).
"""

import argparse
import os
import sys

from jaxmelody import __version__
from jaxmelody import errors
from jaxmelody import runtime
from jaxmelody.apps import inputs
from jaxmelody.inference import decoding

_EPILOG = """\
outputs, per input file STEM (in --output-dir):
  STEM.csv              "time_s,f0_hz" per 16 ms frame, f0 0 = no melody;
                        the first frame at 0.016 s, frame k at (k + 1) *
                        0.016 s; f0 is one of 256 pitches a quarter
                        semitone apart, 31.5 to 1250 Hz;
                        the header is a '#' comment line, so
                        mir_eval.io.load_time_series(path, delimiter=','),
                        numpy.loadtxt(path, delimiter=',') and
                        pandas.read_csv(path, comment='#', names=[...]) read it
  STEM.confidence.csv   --confidence: "time_s,f0_hz,confidence" in one file;
                        confidence is what the melody/no-melody decision
                        used: without --voicing-threshold, the best pitch's
                        probability against no melody's (argmax: a melody
                        iff > 0.5); with P, the probability of a melody
                        (argmax: iff >= P); viterbi smooths it over time,
                        so short runs across the threshold may not flip
  STEM.mid              --midi: the melody as notes
  STEM.png              --plot: the spectrum with the melody drawn over it
  STEM.melody.wav       --sonify: the melody as a tone mixed over the input
                        (mono, at the input's sample rate)

examples:
  jaxmelody song.mp3                      # -> melody_out/song.csv
  jaxmelody music/ -o f0 --midi --plot    # every audio file in music/
  jaxmelody 'takes/*.wav' --decoder viterbi --voicing-threshold 0.6

live: jaxmelody --stream - --help (raw PCM on standard input to
"time_s,f0_hz" lines as frames become final; a microphone, MIDI out)
"""


def _parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(
      prog='jaxmelody',
      description='Extract the singing melody (f0 in Hz every 16 ms, '
      '31.5-1250 Hz) from music recordings.',
      epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('inputs', nargs='+', metavar='FILE_OR_FOLDER_OR_GLOB',
                      help='audio files (wav, flac, mp3, ogg, ...), folders '
                      '(their audio files) or quoted glob patterns')
  parser.add_argument('-o', '--output-dir', default=inputs.DEFAULT_OUTPUT_DIR,
                      help='where the outputs go (default: %(default)s)')
  parser.add_argument('--plot', action='store_true',
                      help='also write STEM.png')
  parser.add_argument('--sonify', action='store_true',
                      help='also write STEM.melody.wav')
  parser.add_argument('--midi', action='store_true',
                      help='also write STEM.mid (the melody as notes)')
  parser.add_argument('--confidence', action='store_true',
                      help='also write STEM.confidence.csv '
                      '(time_s,f0_hz,confidence; see below)')
  parser.add_argument('--decoder', choices=decoding.DECODERS,
                      default=None,
                      help='viterbi (default): a smooth path that avoids '
                      'one-frame octave jumps and voicing flicker; argmax: '
                      'the most likely pitch per frame (the paper)')
  parser.add_argument('--voicing-threshold', type=float, default=None,
                      metavar='P',
                      help='a frame has a melody when its voicing '
                      'probability is at least P (0 < P < 1); default: the '
                      "model's own decision")
  parser.add_argument('--checkpoint', default=None,
                      help='other weights: a training workdir, a checkpoint '
                      "folder or the paper authors' .pkl (default: the "
                      'bundled model)')
  parser.add_argument('-v', '--verbose', action='store_true',
                      help='show library warnings and log lines')
  parser.add_argument('--version', action='version',
                      version=f'%(prog)s {__version__}')
  return parser


# What a Ctrl-C leaves: every output file is written whole or not at all.
INTERRUPTED = 'outputs already written are complete'


def predict(config, audio, *, output_dir: str = '',
            plot: bool = False, sonify: bool = False, midi: bool = False,
            confidence: bool = False, decoder: str | None = None,
            voicing_threshold: float | None = None, checkpoint=None,
            workdir=None, loader=None) -> int:
  """Writes the melodies of audio files: ``jaxmelody`` and ``--mode=predict``.

  Args:
    config: the full config; its ``eval.decoder`` and
      ``eval.voicing_threshold`` (0 = the decoder's own decision) apply
      where ``decoder`` and ``voicing_threshold`` are None.
    audio: files, folders or globs (see ``inputs.expand_audio``);
      empty = the bundled demo clip.
    output_dir, plot, sonify, midi, confidence, checkpoint, workdir, loader:
      see ``write_files.run_predict``.
    decoder: 'argmax' or 'viterbi', or None.
    voicing_threshold: P in (0, 1), or None.

  Returns:
    0 when every file was processed, 1 when some failed (each reported).
  """
  # pylint: disable-next=g-import-not-at-top
  from jaxmelody.apps import write_files
  decoder, voicing_threshold = decoding.from_config(config.eval, decoder,
                                                    voicing_threshold)
  return write_files.run_predict(
      config, audio=audio, output_dir=output_dir, plot=plot, sonify=sonify,
      midi=midi, confidence=confidence, decoder=decoder,
      voicing_threshold=voicing_threshold, checkpoint=checkpoint,
      workdir=workdir, loader=loader)


def main(argv=None) -> int:
  """Runs the command; returns the exit status."""
  argv = sys.argv[1:] if argv is None else list(argv)
  if any(a == '--stream' or a.startswith('--stream=') for a in argv):
    from jaxmelody.apps import stream_cli  # pylint: disable=g-import-not-at-top
    return stream_cli.main(argv)
  args = _parser().parse_args(argv)
  if not args.verbose:
    runtime.quiet_libraries()

  def run():
    # pylint: disable=g-import-not-at-top
    # The files start decoding in a second process before JAX is imported
    # (prefetch.py); the loader checks the resampler the config asks for.
    from jaxmelody import default_config
    from jaxmelody.apps import prefetch
    with prefetch.AudioLoader(
        inputs.expand_audio(args.inputs)[0],
        res_type=default_config.get_config().data.res_type) as loader:
      from jaxmelody.inference import api
      return predict(api.default_config(), args.inputs,
                     output_dir=args.output_dir, plot=args.plot,
                     sonify=args.sonify, midi=args.midi,
                     confidence=args.confidence, decoder=args.decoder,
                     voicing_threshold=args.voicing_threshold,
                     checkpoint=args.checkpoint, loader=loader)

  return errors.exit_status(run, interrupted=INTERRUPTED)


def console_main() -> None:
  """The console-script entry point."""
  # Before JAX is imported: huge-page malloc makes XLA:CPU much faster.
  runtime.reexec_with_tuned_malloc()
  status = main()
  # Every output is written and closed by now; tearing down the interpreter
  # (XLA's client, JAX's exit hooks) would add ~0.4 s of waiting for nothing.
  sys.stdout.flush()
  sys.stderr.flush()
  os._exit(status)  # pylint: disable=protected-access


if __name__ == '__main__':
  console_main()
