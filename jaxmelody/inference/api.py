"""Melody extraction for users: ``extract_melody`` and the models it uses.

``extract_melody`` turns one recording (a path or a numpy array) into a
``Melody`` on the 16 ms frame grid, with the bundled pretrained model unless
told otherwise; ``get_model`` caches the compiled models per process.
Writing files for many inputs (``--mode=predict``, the ``jaxmelody``
command) is ``apps/write_files.py``.

Speeds are reported as "Nx real time": seconds of audio per wall second.
"""

import dataclasses
import json
import os
import pathlib

import numpy as np

from jaxmelody import errors
from jaxmelody.frontend import audio as audio_lib
from jaxmelody.frontend import cfp as cfp_lib
from jaxmelody.frontend.feature_config import FEATURES
from jaxmelody.inference import decoding
from jaxmelody.inference import engine
from jaxmelody.inference import weights
from jaxmelody import runtime

DEMO_AUDIO = pathlib.Path(__file__).resolve().parents[1] / 'demo' / 'demo.flac'
_CACHE_SIZE = 4
_models = {}  # cache key -> InferenceModel (weights loaded, jit compiled)


@dataclasses.dataclass(frozen=True)
class Melody:
  """An extracted melody; float64 numpy arrays of one length T.

  Attributes:
    times: frame centre times (s), (k + 1) * 0.016.
    f0_hz: melody frequency per frame (Hz); 0 = no melody.
    voicing: probability that a melody is present in the frame,
      1 - p(no melody).
    confidence: the number the melody/no-melody decision used
      (``decoding.confidence``): without a voicing threshold, the best
      pitch's probability against no melody's, best / (best + p0), a melody
      iff > 0.5 for argmax; with a threshold P, the voicing probability, a
      melody iff >= P; Viterbi reads the same number and smooths it over
      time. None when not computed.
  """
  times: np.ndarray
  f0_hz: np.ndarray
  voicing: np.ndarray
  confidence: np.ndarray | None = None


def default_config():
  """The API's default config: the bundled model's, else dense10's.

  A bundled pretrained model (``jaxmelody/pretrained/dense10/``) carries the
  config it was trained with, laid over ``default_config.py``
  (``default_config.merge``: fields it lacks take their defaults).
  """
  from jaxmelody import default_config as defaults  # pylint: disable=g-import-not-at-top
  config = defaults.get_config()
  bundled = weights.PRETRAINED_DIR / config.model.name / 'config.json'
  if bundled.is_file():
    try:
      stored = json.loads(bundled.read_text(encoding='utf-8'))
    except (OSError, ValueError) as e:
      raise errors.CheckpointError(f'{bundled}: unreadable ({e})') from e
    config = defaults.merge(stored, config, source=str(bundled))
  return config


def get_model(config, checkpoint=None, workdir=None):
  """The InferenceModel for a config and checkpoint, cached per process.

  Repeated calls with the same checkpoint and config neither reload the
  weights nor recompile. A workdir's checkpoint may change during training,
  so it is resolved anew each time. Compiled programs are also kept on disk
  for the next process (``runtime.use_compilation_cache``); each pad length
  is compiled (or loaded) when a clip first needs it.
  """
  runtime.use_compilation_cache()
  key = (os.path.abspath(checkpoint) if checkpoint else None,
         config.model.to_json_best_effort(sort_keys=True),
         config.eval.to_json_best_effort(sort_keys=True))
  if workdir or key not in _models:
    model = engine.from_config(
        config, weights.resolve_variables(checkpoint, config, workdir))
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


def prepare(model, n_samples: int, how: Decoding = Decoding()) -> None:
  """Gets ready for ``melody_of`` on ``n_samples`` of 16 kHz audio.

  Compiles or loads from the caches what that clip will use (the CFP's
  chunk program, the forward passes, numba's Viterbi loop once the process
  has decoded enough to use it) without processing it: time a caller would
  otherwise spend waiting (``write_files``: while the file decodes in a
  second process) instead of on the clip's critical path. The results of
  ``melody_of`` do not change.
  """
  n_frames = FEATURES.n_frames(n_samples)
  if n_frames >= cfp_lib.DEFAULT_CHUNK_FRAMES:
    # A long clip's CFP runs in chunks of one shape: load its program with
    # one chunk of silence (shorter clips compile their own shape anyway).
    cfp_lib.compute_cfp(np.zeros(
        FEATURES.hop * (cfp_lib.DEFAULT_CHUNK_FRAMES + 1), np.float32))
  model.prepare(n_frames)
  decoding.prepare(n_frames, how.decoder)


def melody_of(samples, model, how: Decoding = Decoding()
            ) -> tuple[Melody, np.ndarray]:
  """Melody and CFP [3, 256, T] of 16 kHz mono samples."""
  cfp = cfp_lib.compute_cfp(samples, FEATURES.sample_rate)
  logits = model.logits(cfp)
  f0_hz, voicing = decoding.decode(logits, decoder=how.decoder,
                                   voicing_threshold=how.voicing_threshold)
  times = FEATURES.frame_times(len(f0_hz))
  return Melody(times, f0_hz, voicing,
                decoding.confidence(logits, how.voicing_threshold)), cfp


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
    checkpoint: see ``weights.resolve_variables``; None = the bundled
      pretrained model of ``config``.
    config: a full config; None = ``default_config()`` (the bundled
      model's).
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
  res_type = config.data.res_type
  if isinstance(audio, (str, os.PathLike)):
    samples = audio_lib.load_audio(audio, res_type=res_type)
  else:
    if sr is None:
      raise errors.AudioError('audio: a numpy array needs its sample rate; '
                              'call extract_melody(samples, sr=<Hz>)')
    samples = audio_lib.prepare_audio(audio, sr, res_type=res_type)
  return melody_of(samples, get_model(config, checkpoint), how)[0]
