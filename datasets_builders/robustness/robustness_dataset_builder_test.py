"""Builds robustness from mir1k's dummy_data (the corpus folder it reads)."""

import pathlib

import numpy as np
import pytest

from datasets_builders import testing
from datasets_builders.robustness import robustness_dataset_builder as rb
from jaxmelody.data import augment


class RobustnessTest(testing.BuilderTestCase):
  DATASET_CLASS = rb.Builder
  BUILDER_CONFIG_NAMES_TO_TEST = ['tiny']
  EXAMPLE_DIR = str(pathlib.Path(rb.__file__).parents[1] / 'mir1k'
                    / 'dummy_data')
  # abjones_1_01, amy_2_03 | accompaniment_000, accompaniment_001
  SPLITS = {'validation': 2, 'no_melody': 2}
  UNVOICED_SPLITS = ('no_melody',)


def test_conditions_are_a_function_of_seed_and_track_id():
  assert rb.conditions_of('amy_2_03') == rb.conditions_of('amy_2_03')
  drawn = [rb.conditions_of(f'abjones_{k}', seed=0) for k in range(40)]
  other = [rb.conditions_of(f'abjones_{k}', seed=1) for k in range(40)]
  assert drawn != other
  assert {c.family for d in drawn for c in d} == set(augment.FAMILIES)


def test_accompaniment_has_no_voice_left():
  accomp = rb.accompaniment(0, 3, 2.0)
  assert accomp.shape == (32000,) and np.abs(accomp).max() == pytest.approx(0.9)
  clip = rb.synth.synthesize((0, 7, 3), 2.0)

  def share_of_voice(x):
    return abs(np.dot(x, clip.voice)) / (np.linalg.norm(x)
                                         * np.linalg.norm(clip.voice))
  # The mixture is mostly voice; what is left holds almost none of it.
  assert share_of_voice(clip.audio) > 0.5
  assert share_of_voice(accomp) < 0.2


def test_speech_renders_at_16_khz():
  if not rb.shutil.which('espeak-ng'):
    pytest.skip('espeak-ng is not installed (apt-get install espeak-ng)')
  voice, text = rb.SENTENCES[0]
  samples = rb.speak(text, voice)
  assert samples.dtype == np.float32 and 2 < len(samples) / 16000 < 10
  assert np.abs(samples).max() > 0.05
