"""The folded inference forward equals the flax module to float32 rounding.

``InferenceModel`` runs ``folded_forward.apply_masked`` for every inference
with running averages; ``reference=True`` runs the flax module with every
BatchNorm output zeroed past the clip. Both must give the same logits for
padded, exactly-sized and windowed clips.
"""


import numpy as np
import pytest

from conftest import assert_rel_close
from conftest import load_config
from jaxmelody.inference import engine
from jaxmelody.model import network
from tests.inference_test import random_variables

# Each clip's difference norm, relative to its logits' norm.
TOLERANCE = 1e-4


@pytest.fixture(scope='module', params=[('dense10', 'positive'),
                                        ('dense10', 'signed'),
                                        ('smoke', 'positive'),
                                        ('smoke', 'signed')],
                ids='-'.join)
def pair(request, tmp_path_factory, save_random_weights):
  """(config, reference InferenceModel, folded InferenceModel), random weights:
  BatchNorm scales, shifts and running averages off their defaults, so
  padded zeros map to non-zero BatchNorm outputs. 'positive' is conftest's
  save_random_weights (all values positive)."""
  name, weights = request.param
  config = load_config(name)
  radius = engine.receptive_radius(config.model)
  # A short pad length and a long one just above the windowing minimum.
  config.eval.pad_lengths = (48, max(96, 4 * radius + 24))
  if weights == 'positive':
    variables = save_random_weights(config.model,
                                    tmp_path_factory.mktemp(name))
  else:
    variables = random_variables(network.create_model(config.model))
  plain = engine.InferenceModel(config.model, variables, reference=True,
                                pad_lengths=config.eval.pad_lengths)
  fast = engine.from_config(config, variables)
  assert not plain.folded and fast.folded
  return config, plain, fast


def _assert_close(got, want, what):
  assert_rel_close(got, want, TOLERANCE, what)


def test_fast_logits_equal_plain_logits(pair):
  config, plain, fast = pair
  short, longest = plain.pad_lengths
  rng = np.random.default_rng(0)
  cases = {
      'padded to the short length': short - 13,
      'exactly the short length': short,
      'padded to the long length': short + 20,
      'exactly the long length': longest,
      'windowed (longer than the longest)': 2 * longest + 37,
  }
  for what, frames in cases.items():
    cfp = rng.random((3, 256, frames), dtype=np.float32)
    want = plain.logits(cfp)
    got = fast.logits(cfp)
    label = f'{config.model.name}: {what} ({frames} frames)'
    _assert_close(got, want, label)
    # The voicing row apart: one column of 257 could hide in the norm.
    _assert_close(got[:, 0], want[:, 0], label + ', voicing row')
  assert fast.traces == len(fast.pad_lengths)


@pytest.mark.parametrize('decoder_channels,input_repeats',
                         [((6,), 0), ((6, 5, 4), 3)])
def test_other_layouts(decoder_channels, input_repeats):
  """One decoder layer (the pitch map shares CONV6's output with voicing),
  no input copies; three decoder layers, three copies."""
  config = load_config('smoke')
  config.model.decoder_channels = decoder_channels
  config.model.input_repeats = input_repeats
  config.eval.pad_lengths = (64,)
  variables = random_variables(network.create_model(config.model), seed=3)
  plain = engine.InferenceModel(config.model, variables, pad_lengths=(64,),
                                reference=True)
  fast = engine.from_config(config, variables)
  rng = np.random.default_rng(4)
  for frames in (40, 64, 150):
    cfp = rng.random((3, 256, frames), dtype=np.float32)
    want = plain.logits(cfp)
    got = fast.logits(cfp)
    _assert_close(got, want, frames)
    _assert_close(got[:, 0], want[:, 0], frames)


def test_folded_forward_wherever_it_applies():
  config = load_config('smoke')
  variables = {'params': {}, 'batch_stats': {}}  # not traced here
  # Running averages: every inference runs the folded forward.
  assert engine.from_config(config, variables).folded
  assert not engine.InferenceModel(config.model, variables,
                                   reference=True).folded
  config.model.bn_inference = 'batch'   # the authors' protocol: flax module
  assert not engine.from_config(config, variables).folded
  config.model.bn_inference = 'running'
  config.model.dtype = 'bfloat16'       # the folded form is float32 only
  assert not engine.from_config(config, variables).folded


@pytest.mark.parametrize('reference', [False, True])
def test_warm_up_compiles_each_pad_length_once(reference, save_random_weights,
                                               tmp_path):
  config = load_config('smoke')
  im = engine.InferenceModel(
      config.model, save_random_weights(config.model, tmp_path),
      pad_lengths=(32, 48, 64), reference=reference)
  assert im.folded != reference
  im.warm_up()
  assert im.traces == 3
  rng = np.random.default_rng(1)
  for frames in (1, 5, 31, 32, 33, 48, 49, 64, 65, 150, 333):
    im.logits(rng.random((3, 256, frames), dtype=np.float32))
  assert im.traces == 3  # nothing compiled after the warm-up
  im.warm_up()
  assert im.traces == 3


@pytest.mark.slow
def test_released_weights_real_clips(shared_dir):
  """The authors' weights (running averages) on two MIR-1K clips (padded;
  yifen_2_13 to 1024 frames): fast and plain logits agree, and so do the
  per-frame classes."""
  from jaxmelody.frontend import audio  # pylint: disable=g-import-not-at-top
  from jaxmelody.frontend import cfp  # pylint: disable=g-import-not-at-top
  from jaxmelody.model import released_weights  # pylint: disable=g-import-not-at-top
  variables = released_weights.import_msfcn_checkpoint(
      shared_dir / 'reference/msfcn/train_single_for_pitch_epoch_22.pkl')
  config = load_config('dense10')
  plain = engine.InferenceModel(config.model, variables, reference=True,
                                pad_lengths=config.eval.pad_lengths)
  fast = engine.from_config(config, variables)
  for clip in ('leon_1_01', 'yifen_2_13'):
    features = cfp.compute_cfp(audio.load_audio(
        shared_dir / 'data/mir1k/Wavfile' / f'{clip}.flac'))
    want = plain.logits(features)
    got = fast.logits(features)
    _assert_close(got, want, clip)
    _assert_close(got[:, 0], want[:, 0], clip + ', voicing row')
    agree = np.mean(np.argmax(got, 1) == np.argmax(want, 1))
    assert agree >= 0.999, (clip, agree)
