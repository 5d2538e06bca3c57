"""robustness: validation beyond karaoke, from what can be made here.

Two splits, both for validation only (never trained on, never a test set):

- ``validation``: MIR-1K's 175 validation clips (singers abjones and amy,
  the same clips as ``mir1k``'s ``validation``) rendered again under one or
  two real-world conditions each (``jaxmelody.data.augment``: reverb, EQ or
  band-limiting, noise at 10-20 dB SNR, level change, MP3 at 64-96 kbit/s,
  a 44.1 kHz round trip), drawn per clip from ``(config seed, track id)``
  (``conditions_of``) so the set never depends on the build order or the
  machine. Labels are the clean clip's (``mir1k/centered`` timing).
- ``no_melody``: material with pitch but no singing melody, labelled no
  melody in every frame: the accompaniment of ``synthetic_melody`` clips
  without their voice (``accompaniment_*``), speech from espeak-ng
  (``speech_*``) and speech over such an accompaniment
  (``speech_music_*``). Its score is the false-alarm rate.

espeak-ng (a Debian/Ubuntu package) must be installed to build the default
config; the ``tiny`` config (for tests) needs none.
"""

import dataclasses
import functools
import io
import shutil
import subprocess
import zlib

import librosa
import numpy as np
import soundfile
import tensorflow_datasets as tfds

from datasets_builders import common
from datasets_builders import splits
from datasets_builders.mir1k import mir1k_dataset_builder as mir1k
from jaxmelody.data import augment
from jaxmelody.data import synth
from jaxmelody import errors
from jaxmelody.frontend import audio as audio_lib
from jaxmelody.frontend.feature_config import FEATURES
from jaxmelody.frontend import pitch

SPLITS = ('validation', 'no_melody')
# Sentences in the voices' languages, spoken by one voice each.
SENTENCES = (
    ('en', 'The quick brown fox jumps over the lazy dog near the river bank.'),
    ('en-us+f3', 'Please remember to bring your umbrella, it may rain later '
     'this afternoon.'),
    ('de', 'Heute Abend gehen wir zusammen in das kleine Kino am Markt.'),
    ('fr+m3', 'Le train de neuf heures part toujours avec un peu de retard.'),
    ('es+f2', 'Mañana vamos a visitar a mis abuelos en el pueblo.'),
    ('it', 'La biblioteca resta aperta fino alle otto di sera.'),
    ('en-gb+m5', 'Welcome back to the programme; here is the news at six '
     "o'clock."),
    ('nl+f4', 'De fietsenmaker op de hoek is vandaag helaas gesloten.'),
)


@dataclasses.dataclass(eq=False)
class RobustnessConfig(tfds.core.BuilderConfig):
  """Seed of the drawn conditions and the size of the no-melody part."""
  seed: int = 0
  num_accompaniment: int = 12
  num_speech: int = 8        # speech alone, one sentence each
  num_speech_music: int = 8  # speech over an accompaniment
  duration_s: float = 8.0    # of the accompaniments


def mir1k_pairs(dl_manager, name: str):
  """(MIR-1K's manual folder, {track id: (audio path, .pv path)})."""
  instructions = mir1k.Builder.MANUAL_DOWNLOAD_INSTRUCTIONS
  root = common.manual_dir(dl_manager, name, instructions)
  return root, common.pair_files(name, root / 'Wavfile', root / 'PitchLabel',
                                 '.pv', instructions)


def conditions_of(track_id: str, seed: int = 0):
  """The conditions a ``validation`` clip is rendered under (augment.draw)."""
  rng = np.random.default_rng([seed, zlib.crc32(track_id.encode())])
  return augment.draw(rng, max_conditions=2)


class Builder(common.MelodyBuilder):
  """Degraded MIR-1K validation clips and no-melody clips, CFP and targets."""

  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'First release.'}
  # What the examples depend on besides common's sources (fingerprint).
  EXTRA_SOURCES = (augment.__file__, synth.__file__, mir1k.__file__,
                   splits.__file__)
  # The corpus folder it reads: MIR-1K's (jaxmelody.data.datasets.manual_dir).
  MANUAL_NAME = 'mir1k'
  BUILDER_CONFIGS = [
      RobustnessConfig(name='default', description='175 degraded MIR-1K '
                       'validation clips; 28 no-melody clips (12 '
                       'accompaniments, 8 speech, 8 speech over music).'),
      RobustnessConfig(name='tiny', num_accompaniment=2, num_speech=0,
                       num_speech_music=0, duration_s=2.0,
                       description='For tests: no speech (no espeak-ng).'),
  ]
  DEFAULT_CONFIG_NAME = 'default'
  MANUAL_DOWNLOAD_INSTRUCTIONS = mir1k.Builder.MANUAL_DOWNLOAD_INSTRUCTIONS

  def _info(self) -> tfds.core.DatasetInfo:
    return common.info(self)

  def _split_generators(self, dl_manager):
    root, pairs = mir1k_pairs(dl_manager, self.name)
    pairs = {i: p for i, p in pairs.items()
             if splits.mir1k_split(i) == 'validation'}
    if not pairs:
      raise errors.DatasetError(
          f'{self.name}: no clip of the validation singers '
          f'{", ".join(splits.MIR1K_VALIDATION_SINGERS)} in {root}')
    cfg = self.builder_config
    if cfg.num_speech + cfg.num_speech_music and not shutil.which('espeak-ng'):
      raise errors.DatasetError(
          f'{self.name}: the no-melody part needs espeak-ng for its speech '
          'clips; install it (apt-get install espeak-ng) and build again')
    # Track-id order (the stored order): accompaniment < speech < speech_music.
    silent = ([('accompaniment', i) for i in range(cfg.num_accompaniment)]
              + [('speech', i) for i in range(cfg.num_speech)]
              + [('speech_music', i) for i in range(cfg.num_speech_music)])
    return {'validation': self._generate_examples('validation',
                                                  list(pairs.items())),
            'no_melody': self._generate_examples('no_melody', silent)}

  def _generate_examples(self, split: str, items):
    cfg = self.builder_config
    if split == 'validation':
      make = functools.partial(degraded_example, seed=cfg.seed)
    else:
      make = functools.partial(_no_melody_example, seed=cfg.seed,
                               duration_s=cfg.duration_s)
    return self.examples(items, make)


def degraded_example(item, *, seed: int):
  """(key, example) of a MIR-1K clip under the conditions drawn for its key.

  Args:
    item: (track id, (audio path, .pv path)); the track id is the example's
      key and, with ``seed``, draws the conditions (``conditions_of``).
    seed: the set's seed.
  """
  track_id, (audio_path, label_path) = item
  times, f0 = pitch.read_pv(label_path, hop_s=mir1k.LABEL_HOP_S,
                            offset_s=0.02)
  clean = audio_lib.load_audio(audio_path, res_type=common.RES_TYPE)
  samples = augment.apply(clean, conditions_of(track_id, seed),
                          FEATURES.sample_rate)
  return track_id, common.encode(track_id, samples, times, f0)


def accompaniment(seed: int, index: int, duration_s: float) -> np.ndarray:
  """A synthetic_melody mixture without its voice, peak 0.9."""
  clip = synth.synthesize((seed, 7, index), duration_s)
  accomp = clip.audio - clip.voice
  return 0.9 * accomp / max(float(np.abs(accomp).max()), 1e-9)


def speak(text: str, voice: str) -> np.ndarray:
  """espeak-ng's rendering of ``text``: float32 [n] at 16 kHz."""
  try:
    wav = subprocess.run(['espeak-ng', '-v', voice, '--stdout', text],
                         check=True, capture_output=True).stdout
  except (OSError, subprocess.CalledProcessError) as e:
    raise errors.DatasetError(f'espeak-ng failed for voice {voice}: {e}') from e
  samples, sr = soundfile.read(io.BytesIO(wav), dtype='float32')
  return audio_lib.prepare_audio(samples, sr, res_type=common.RES_TYPE,
                                 name=f'espeak-ng {voice}')


def _no_melody_example(item, *, seed: int, duration_s: float):
  kind, index = item
  track_id = f'{kind}_{index:03d}'
  if kind == 'accompaniment':
    samples = accompaniment(seed, index, duration_s)
  else:
    voice, text = SENTENCES[index % len(SENTENCES)]
    samples = speak(text, voice)
    if kind == 'speech_music':
      # Speech 6-12 dB above a bed of music, as in a radio programme.
      rng = np.random.default_rng([seed, 8, index])
      bed = librosa.util.fix_length(accompaniment(
          seed, 1000 + index, len(samples) / FEATURES.sample_rate),
                                    size=len(samples))
      ratio = 10 ** (-rng.uniform(6, 12) / 20)
      samples = samples + ratio * bed * (_rms(samples) / _rms(bed))
      samples = 0.9 * samples / max(float(np.abs(samples).max()), 1e-9)
  n_frames = FEATURES.n_frames(len(samples))
  return track_id, common.encode(track_id, samples.astype(np.float32), None,
                                 np.zeros(n_frames))


def _rms(x):
  return float(np.sqrt(np.mean(np.square(x)))) + 1e-12
