"""Melody extraction for users: ``--mode=predict`` and ``extract_melody``.

Outputs per input file (each written to a temporary name in the output
folder, then renamed, so a failure never leaves a partial file):

- ``<stem>.csv``: one row ``time_s,f0_hz`` per 16 ms frame (0 = no melody)
  under a ``# time_s,f0_hz`` comment line, so that
  ``mir_eval.io.load_time_series(path, delimiter=',')`` and
  ``numpy.loadtxt(path, delimiter=',')`` read it as it is (pandas:
  ``read_csv(path, comment='#', names=['time_s', 'f0_hz'])``);
- ``<stem>.confidence.csv`` (``confidence=True``): ``time_s,voicing``, the
  probability that a melody is present, in the same format;
- ``<stem>.mid`` (``midi=True``): the melody as notes (``midi.py``);
- ``<stem>.png`` (``plot=True``): the CFP spectrum with the melody drawn over;
- ``<stem>.melody.wav`` (``sonify=True``): the melody as a tone over the input.

Speeds are reported as "Nx real time": seconds of audio per wall second.
"""

import dataclasses
import glob
import json
import os
import pathlib
import sys
import tempfile
import time

import numpy as np
import soundfile as sf
import tqdm

from jaxmelody import audio as audio_lib
from jaxmelody import cfp as cfp_lib
from jaxmelody import decoding
from jaxmelody import errors
from jaxmelody import inference
from jaxmelody.evaluate import atomic_path
from jaxmelody.features import FEATURES

DEMO_AUDIO = pathlib.Path(__file__).resolve().parent / 'demo' / 'demo.flac'
_CACHE_SIZE = 4
_models = {}  # cache key -> InferenceModel (weights loaded, jit compiled)


@dataclasses.dataclass(frozen=True)
class Melody:
  """An extracted melody; float64 numpy arrays of one length T.

  Attributes:
    times: frame centre times (s), (k + 1) * 0.016.
    f0_hz: melody frequency per frame (Hz); 0 = no melody.
    voicing: probability that a melody is present in the frame.
  """
  times: np.ndarray
  f0_hz: np.ndarray
  voicing: np.ndarray


def default_config():
  """The API's default config: the bundled model's, else dense10's.

  A bundled pretrained model (``jaxmelody/pretrained/dense10/``) carries the
  config it was trained with; without one, ``default_config.py``.
  """
  from jaxmelody import default_config as defaults  # pylint: disable=g-import-not-at-top
  config = defaults.get_config()
  bundled = inference.PRETRAINED_DIR / config.model.name / 'config.json'
  if bundled.is_file():
    import ml_collections  # pylint: disable=g-import-not-at-top
    try:
      stored = json.loads(bundled.read_text(encoding='utf-8'))
    except (OSError, ValueError) as e:
      raise errors.CheckpointError(f'{bundled}: unreadable ({e})') from e
    config = ml_collections.ConfigDict(stored)
  return config


def get_model(config, checkpoint=None, workdir=None):
  """The InferenceModel for a config and checkpoint, cached per process.

  Repeated calls with the same checkpoint and config neither reload the
  weights nor recompile. A workdir's checkpoint may change during training,
  so it is resolved anew each time.
  """
  key = (os.path.abspath(checkpoint) if checkpoint else None,
         config.model.to_json_best_effort(sort_keys=True),
         config.eval.to_json_best_effort(sort_keys=True))
  if workdir or key not in _models:
    model = inference.from_config(
        config, inference.resolve_variables(checkpoint, config, workdir))
    if workdir:
      return model
    if len(_models) >= _CACHE_SIZE:
      _models.pop(next(iter(_models)))
    _models[key] = model
  return _models[key]


@dataclasses.dataclass(frozen=True)
class Decoding:
  """How logits become a melody (see ``decoding.decode``)."""
  decoder: str = decoding.DEFAULT_DECODER
  voicing_threshold: float | None = None


def melody_of(samples, model, how: Decoding = Decoding()
            ) -> tuple[Melody, np.ndarray]:
  """Melody and CFP [3, 256, T] of 16 kHz mono samples."""
  cfp = cfp_lib.compute_cfp(samples, FEATURES.sample_rate)
  f0_hz, voicing = decoding.decode(model.logits(cfp), decoder=how.decoder,
                                   voicing_threshold=how.voicing_threshold)
  times = FEATURES.frame_times(len(f0_hz))
  return Melody(times, f0_hz, voicing), cfp


def real_time(audio_s: float, wall_s: float) -> str:
  """'Nx real time': seconds of audio processed per wall-clock second."""
  return f'{audio_s / max(wall_s, 1e-9):.1f}x real time'


def extract_melody(audio, sr=None, *, checkpoint=None, config=None,
                   decoder: str = decoding.DEFAULT_DECODER,
                   voicing_threshold=None) -> Melody:
  """Extracts the main melody of one recording.

  Args:
    audio: a path to an audio file, or a numpy array [n] or [n, channels].
    sr: the sample rate of an array (required then; ignored for a path).
    checkpoint: see ``inference.resolve_variables``; None = the bundled
      pretrained model of ``config``.
    config: a full config; None = ``configs/dense10.py``.
    decoder: 'viterbi' (default, ``decoding.py``) or 'argmax' (the
      paper's).
    voicing_threshold: None (the decoder's own voicing decision) or P in
      (0, 1): a frame has a melody when its voicing probability is >= P.

  Returns:
    A ``Melody`` on the 16 ms frame grid.

  Raises:
    errors.AudioError: unreadable, empty, too short or non-finite audio, or
      an array without ``sr``.
    errors.CheckpointError: no usable weights.
    errors.ConfigError: unknown decoder or a threshold outside (0, 1).
  """
  how = Decoding(decoder, voicing_threshold)
  decoding.check(how.decoder, how.voicing_threshold)
  config = config or default_config()
  res_type = config.data.get('res_type', 'polyphase')
  if isinstance(audio, (str, os.PathLike)):
    samples = audio_lib.load_audio(audio, res_type=res_type)
  else:
    if sr is None:
      raise errors.AudioError('audio: a numpy array needs its sample rate; '
                              'call extract_melody(samples, sr=<Hz>)')
    samples = audio_lib.prepare_audio(audio, sr, res_type=res_type)
  return melody_of(samples, get_model(config, checkpoint), how)[0]


def expand_audio(spec):
  """Turns ``--audio`` (or the command's arguments) into file paths.

  Args:
    spec: a file, a folder (its audio files, sorted), a glob, or a comma-
      separated list of those; or a list of such items (taken whole, so a
      name may contain a comma); empty = the bundled demo clip.

  Returns:
    (paths, problems): paths to try (a missing file is kept, so it fails
    with its own message later) and an AudioError per item that named
    nothing.
  """
  if isinstance(spec, (list, tuple)):
    items = [str(s) for s in spec] or [str(DEMO_AUDIO)]
  else:
    items = [s.strip() for s in (spec or str(DEMO_AUDIO)).split(',')]
  paths, problems = [], []
  for item in filter(None, items):
    if os.path.isdir(item):
      found = sorted(os.path.join(item, name) for name in os.listdir(item)
                     if name.lower().endswith(audio_lib.AUDIO_EXTENSIONS)
                     and os.path.isfile(os.path.join(item, name)))
      if not found:
        problems.append(errors.AudioError(
            f'{item}: folder holds no audio files (looked for '
            f'{", ".join(audio_lib.AUDIO_EXTENSIONS)})'))
      paths.extend(found)
    elif glob.has_magic(item) and not os.path.exists(item):
      found = sorted(p for p in glob.glob(item) if os.path.isfile(p))
      if not found:
        problems.append(errors.AudioError(f'{item}: no file matches'))
      paths.extend(found)
    else:
      paths.append(item)
  return paths, problems


def _check_writable(output_dir: str) -> None:
  try:
    os.makedirs(output_dir, exist_ok=True)
    fd, probe = tempfile.mkstemp(prefix='.probe.', dir=output_dir)
    os.close(fd)
    os.remove(probe)
  except OSError as e:
    raise errors.ConfigError(f'{output_dir}: cannot write to the output '
                             f'folder ({e.strerror or e})') from e


def csv_text(times, values, name: str) -> str:
  """``# time_s,<name>`` then one ``t,value`` row per frame (0 printed as 0)."""
  return f'# time_s,{name}\n' + ''.join(
      f'{t:.3f},{v:.3f}\n' if v > 0 else f'{t:.3f},0\n'
      for t, v in zip(times, values))


def _write_csv(path, times, values, name: str) -> None:
  with atomic_path(path) as tmp:
    pathlib.Path(tmp).write_text(csv_text(times, values, name),
                                 encoding='utf-8')


@dataclasses.dataclass(frozen=True)
class Outputs:
  """Which files ``run_predict`` writes besides ``<stem>.csv``."""
  plot: bool = False
  sonify: bool = False
  midi: bool = False
  confidence: bool = False


def _predict_file(path, stem, model, output_dir, *, outputs: Outputs,
                  how: Decoding, res_type):
  """Writes the outputs of one file; returns its duration in seconds."""
  from jaxmelody import plots  # pylint: disable=g-import-not-at-top
  samples = audio_lib.load_audio(path, res_type=res_type)
  melody, cfp = melody_of(samples, model, how)
  base = os.path.join(output_dir, stem)
  _write_csv(base + '.csv', melody.times, melody.f0_hz, 'f0_hz')
  if outputs.confidence:
    _write_csv(base + '.confidence.csv', melody.times, melody.voicing,
               'voicing')
  if outputs.midi:
    from jaxmelody import midi  # pylint: disable=g-import-not-at-top
    with atomic_path(base + '.mid') as tmp:
      midi.write_midi(tmp, melody.times, melody.f0_hz)
  plot, sonify = outputs.plot, outputs.sonify
  if plot:
    with atomic_path(base + '.png') as tmp:
      plots.plot_melody(tmp, cfp, melody.times, melody.f0_hz,
                        title=os.path.basename(path))
  if sonify:
    mix = plots.sonify_mix(samples, FEATURES.sample_rate, melody.times,
                           melody.f0_hz)
    with atomic_path(base + '.melody.wav') as tmp:
      sf.write(tmp, mix, FEATURES.sample_rate, format='WAV', subtype='PCM_16')
  return len(samples) / FEATURES.sample_rate


def _stems(paths):
  """Output stems, made unique (``x``, ``x-2``, ...) when two inputs clash."""
  seen, stems = {}, []
  for path in paths:
    stem = pathlib.Path(path).stem
    seen[stem] = seen.get(stem, 0) + 1
    stems.append(stem if seen[stem] == 1 else f'{stem}-{seen[stem]}')
  return stems


def _print_error(error) -> None:
  tqdm.tqdm.write(f'error: {error}', file=sys.stderr)


def run_predict(config, *, audio: str = '', output_dir: str = '',
                plot: bool = False, sonify: bool = False, midi: bool = False,
                confidence: bool = False,
                decoder: str = decoding.DEFAULT_DECODER,
                voicing_threshold=None, checkpoint=None, workdir=None,
                report=_print_error, progress: bool = True) -> int:
  """Extracts the melody of every file ``audio`` names (``--mode=predict``).

  Args:
    config: the full config.
    audio: see ``expand_audio``; empty = the bundled demo clip.
    output_dir: folder for the outputs; empty = ``<workdir>/predict`` or
      ``./melody_out``.
    plot: also write ``<stem>.png``.
    sonify: also write ``<stem>.melody.wav``.
    midi: also write ``<stem>.mid``.
    confidence: also write ``<stem>.confidence.csv``.
    decoder, voicing_threshold: see ``extract_melody``.
    checkpoint: see ``inference.resolve_variables``.
    workdir: the run's workdir (its checkpoint is used when none is given).
    report: called with each bad file's error when there are several inputs.
    progress: show a progress bar over files (when there are several).

  Returns:
    0 when every file was processed, 1 when some failed (each reported).

  Raises:
    errors.JaxMelodyError: nothing could be processed (no input, the only
      input is bad, every input is bad, no weights, unwritable output).
  """
  how = Decoding(decoder, voicing_threshold)
  decoding.check(how.decoder, how.voicing_threshold)
  outputs = Outputs(plot, sonify, midi, confidence)
  paths, problems = expand_audio(audio)
  single = len(paths) + len(problems) == 1
  if not paths:
    named = audio if isinstance(audio, str) else ' '.join(map(str, audio))
    raise problems[0] if single else errors.AudioError(
        f'{named}: names no audio file ({len(problems)} item(s) matched '
        'nothing)')
  output_dir = output_dir or (os.path.join(workdir, 'predict') if workdir
                              else 'melody_out')
  _check_writable(output_dir)
  model = get_model(config, checkpoint, workdir)
  if not single:
    for problem in problems:
      report(problem)
  failures = list(problems)
  n_ok, audio_s, start = 0, 0.0, time.perf_counter()
  res_type = config.data.get('res_type', 'polyphase')
  for path, stem in zip(tqdm.tqdm(paths, desc='predict', unit='file',
                                  disable=single or not progress),
                        _stems(paths)):
    try:
      audio_s += _predict_file(path, stem, model, output_dir,
                               outputs=outputs, how=how, res_type=res_type)
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
