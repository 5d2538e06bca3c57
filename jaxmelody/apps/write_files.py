"""``--mode=predict`` and the ``jaxmelody`` command: melodies of many files.

Outputs per input file (each written to a temporary name in the output
folder, then renamed, so a failure never leaves a partial file):

- ``<stem>.csv``: one row ``time_s,f0_hz`` per 16 ms frame (0 = no melody)
  under a ``# time_s,f0_hz`` comment line, so that
  ``mir_eval.io.load_time_series(path, delimiter=',')`` and
  ``numpy.loadtxt(path, delimiter=',')`` read it as it is (pandas:
  ``read_csv(path, comment='#', names=['time_s', 'f0_hz'])``);
- ``<stem>.confidence.csv`` (``confidence=True``): ``time_s,f0_hz,confidence``
  in one file (CREPE's layout), the same format; the confidence is the
  number the melody/no-melody decision used (``api.Melody.confidence``);
- ``<stem>.mid`` (``midi=True``): the melody as notes (``midi.py``);
- ``<stem>.png`` (``plot=True``): the CFP spectrum with the melody drawn over;
- ``<stem>.melody.wav`` (``sonify=True``): the melody as a tone over the input.

One bad file among several is reported and skipped; the others are written.
"""

import dataclasses
import os
import pathlib
import sys
import tempfile
import time

import soundfile as sf
import tqdm

from jaxmelody.apps import inputs
from jaxmelody.atomic import atomic_path
from jaxmelody import errors
from jaxmelody.frontend import audio as audio_lib
from jaxmelody.frontend.feature_config import FEATURES
from jaxmelody.inference.api import DEMO_AUDIO, Decoding, get_model, melody_of
from jaxmelody.inference.api import prepare
from jaxmelody.inference.api import real_time
from jaxmelody.inference import decoding


def _check_writable(output_dir: str) -> None:
  """Creates the output folder; a ConfigError that says what is in the way."""
  blocker = output_dir
  while blocker and not os.path.exists(blocker):
    blocker = os.path.dirname(blocker.rstrip(os.sep))
  if blocker and not os.path.isdir(blocker):
    raise errors.ConfigError(
        f'{output_dir}: cannot be the output folder: {blocker} is a file '
        '(-o/--output-dir names a folder, made if missing)')
  try:
    os.makedirs(output_dir, exist_ok=True)
    fd, probe = tempfile.mkstemp(prefix='.probe.', dir=output_dir)
    os.close(fd)
    os.remove(probe)
  except OSError as e:
    raise errors.ConfigError(f'{output_dir}: cannot write to the output '
                             f'folder ({e.strerror or e})') from e


def csv_rows(times, values) -> str:
  """One ``t,value`` row per frame, 3 decimals (0 printed as 0)."""
  return ''.join(f'{t:.3f},{v:.3f}\n' if v > 0 else f'{t:.3f},0\n'
                 for t, v in zip(times, values))


def csv_text(times, values, name: str) -> str:
  """``# time_s,<name>`` then ``csv_rows``."""
  return f'# time_s,{name}\n' + csv_rows(times, values)


def _write_csv(path, times, values, name: str) -> None:
  with atomic_path(path) as tmp:
    pathlib.Path(tmp).write_text(csv_text(times, values, name),
                                 encoding='utf-8')


def confidence_csv_text(melody) -> str:
  """``# time_s,f0_hz,confidence`` then one row per frame (4 decimals of
  confidence: the decision's threshold reads true to 5e-5)."""
  return '# time_s,f0_hz,confidence\n' + ''.join(
      f'{t:.3f},{f:.3f},{c:.4f}\n' if f > 0 else f'{t:.3f},0,{c:.4f}\n'
      for t, f, c in zip(melody.times, melody.f0_hz, melody.confidence))


@dataclasses.dataclass(frozen=True)
class Outputs:
  """Which files ``run_predict`` writes besides ``<stem>.csv``."""
  plot: bool = False
  sonify: bool = False
  midi: bool = False
  confidence: bool = False


def _predict_file(path, stem, model, output_dir, *, outputs: Outputs,
                  how: Decoding, res_type, loader):
  """Writes the outputs of one file; returns its duration in seconds."""
  if loader:
    # While the loader's worker decodes the file, get ready for its length.
    prepare(model, _samples_at_16k(path), how)
    samples = loader.load(path, res_type)
  else:
    samples = audio_lib.load_audio(path, res_type=res_type)
  melody, cfp = melody_of(samples, model, how)
  base = os.path.join(output_dir, stem)
  _write_csv(base + '.csv', melody.times, melody.f0_hz, 'f0_hz')
  if outputs.confidence:
    with atomic_path(base + '.confidence.csv') as tmp:
      pathlib.Path(tmp).write_text(confidence_csv_text(melody),
                                   encoding='utf-8')
  if outputs.midi:
    from jaxmelody.apps import midi  # pylint: disable=g-import-not-at-top
    with atomic_path(base + '.mid') as tmp:
      midi.write_midi(tmp, melody.times, melody.f0_hz)
  plot, sonify = outputs.plot, outputs.sonify
  if plot or sonify:  # matplotlib and mir_eval: only when asked for
    from jaxmelody.apps import plots  # pylint: disable=g-import-not-at-top
  if plot:
    with atomic_path(base + '.png') as tmp:
      plots.plot_melody(tmp, cfp, melody.times, melody.f0_hz,
                        title=os.path.basename(path))
  if sonify:
    # At the input's own rate (the channels mixed), not the model's 16 kHz.
    native, native_sr = audio_lib.load_mono(path)
    mix = plots.sonify_mix(native, native_sr, melody.times, melody.f0_hz)
    with atomic_path(base + '.melody.wav') as tmp:
      sf.write(tmp, mix, native_sr, format='WAV', subtype='PCM_16')
  return len(samples) / FEATURES.sample_rate


def _samples_at_16k(path) -> int:
  """The file's length at 16 kHz from its header; 0 if unknown."""
  try:
    info = sf.info(path)
  except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, OSError):
    return 0  # not a format libsndfile reads (its decoding will tell)
  return int(info.frames * FEATURES.sample_rate / info.samplerate)


def _print_error(error) -> None:
  tqdm.tqdm.write(f'error: {error}', file=sys.stderr)


def run_predict(config, *, audio: str = '', output_dir: str = '',
                plot: bool = False, sonify: bool = False, midi: bool = False,
                confidence: bool = False,
                decoder: str = decoding.DEFAULT_DECODER,
                voicing_threshold=None, checkpoint=None, workdir=None,
                report=_print_error, progress: bool = True,
                loader=None) -> int:
  """Extracts the melody of every file ``audio`` names (``--mode=predict``).

  Args:
    config: the full config.
    audio: see ``inputs.expand_audio``; empty = the bundled demo clip.
    output_dir: folder for the outputs; empty = ``<workdir>/predict`` or
      ``inputs.DEFAULT_OUTPUT_DIR``.
    plot: also write ``<stem>.png``.
    sonify: also write ``<stem>.melody.wav``.
    midi: also write ``<stem>.mid``.
    confidence: also write ``<stem>.confidence.csv``.
    decoder, voicing_threshold: see ``extract_melody``.
    checkpoint: see ``weights.resolve_variables``.
    workdir: the run's workdir (its checkpoint is used when none is given).
    report: called with each bad file's error when there are several inputs.
    progress: show a progress bar over files (when there are several).
    loader: a ``prefetch.AudioLoader`` decoding ``audio``'s files ahead;
      None = each file decoded when its turn comes.

  Returns:
    0 when every file was processed, 1 when some failed (each reported).

  Raises:
    errors.JaxMelodyError: nothing could be processed (no input, the only
      input is bad, every input is bad, no weights, unwritable output).
  """
  how = Decoding(decoder, voicing_threshold)
  decoding.check(how.decoder, how.voicing_threshold)
  outputs = Outputs(plot, sonify, midi, confidence)
  paths, problems = inputs.expand_audio(audio, default=str(DEMO_AUDIO))
  single = len(paths) + len(problems) == 1
  if not paths:
    named = audio if isinstance(audio, str) else ' '.join(map(str, audio))
    raise problems[0] if single else errors.AudioError(
        f'{named}: names no audio file ({len(problems)} item(s) matched '
        'nothing)')
  output_dir = output_dir or (os.path.join(workdir, 'predict') if workdir
                              else inputs.DEFAULT_OUTPUT_DIR)
  _check_writable(output_dir)
  model = get_model(config, checkpoint, workdir)
  if not single:
    for problem in problems:
      report(problem)
  failures = list(problems)
  n_ok, audio_s, start = 0, 0.0, time.perf_counter()
  res_type = config.data.res_type
  for path, stem in zip(tqdm.tqdm(paths, desc='predict', unit='file',
                                  disable=single or not progress),
                        inputs.stems(paths)):
    try:
      audio_s += _predict_file(path, stem, model, output_dir,
                               outputs=outputs, how=how, res_type=res_type,
                               loader=loader)
      n_ok += 1
    except (errors.JaxMelodyError, OSError) as e:
      if isinstance(e, OSError):  # e.g. disk full while writing
        e = errors.AudioError(f'{path}: cannot write its outputs ({e})')
      if single:
        raise e
      failures.append(e)
      report(e)
  if not n_ok:
    raise errors.AudioError(f'none of the {len(failures)} inputs could be '
                            'processed (errors above)')
  wall = time.perf_counter() - start
  print(f'predict: {n_ok} file(s) -> {output_dir}, {audio_s:.1f} s of audio '
        f'in {wall:.1f} s ({real_time(audio_s, wall)}), {len(failures)} failed',
        flush=True)
  return 1 if failures else 0
