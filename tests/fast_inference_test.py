"""The folded-BatchNorm inference path equals today's path to float32 rounding.

``InferenceModel(fast=True)`` runs ``folded_forward.apply_masked``;
``fast=False`` runs the flax module with every BatchNorm output zeroed past
the clip (and CONV6's copies folded by ``decoder_fold``). Both must give the
same logits for padded, exactly-sized and windowed clips.
"""


import numpy as np
import pytest

from conftest import assert_rel_close
from conftest import load_config
from jaxmelody import errors
from jaxmelody.inference import engine
from jaxmelody.model import folded_forward
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
  """(config, plain InferenceModel, fast InferenceModel) with random weights:
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
  both = []
  for fast in (False, True):
    config.eval.fast_inference = fast
    both.append(engine.from_config(config, variables))
  plain, fast = both
  assert not plain.fast and fast.fast
  others = [engine.InferenceModel(config.model, variables,
                                  pad_lengths=config.eval.pad_lengths,
                                  fast_conv=conv)
            for conv in ('chunked', 'shifted')]
  return config, plain, fast, others


def _assert_close(got, want, what):
  assert_rel_close(got, want, TOLERANCE, what)


def test_fast_logits_equal_plain_logits(pair):
  config, plain, fast, others = pair
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
    for im in (fast, *others):
      got = im.logits(cfp)
      label = f'{config.model.name} {im.fast_conv}: {what} ({frames} frames)'
      _assert_close(got, want, label)
      # The voicing row apart: one column of 257 could hide in the norm.
      _assert_close(got[:, 0], want[:, 0], label + ', voicing row')
  for im in (fast, *others):
    assert im.traces == len(fast.pad_lengths)


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
  config.eval.fast_inference = False
  plain = engine.from_config(config, variables)
  fast = [engine.InferenceModel(config.model, variables, pad_lengths=(64,),
                                fast_conv=conv)
          for conv in folded_forward.CONV_IMPLS]
  rng = np.random.default_rng(4)
  for frames in (40, 64, 150):
    cfp = rng.random((3, 256, frames), dtype=np.float32)
    want = plain.logits(cfp)
    for im in fast:
      got = im.logits(cfp)
      _assert_close(got, want, (im.fast_conv, frames))
      _assert_close(got[:, 0], want[:, 0], (im.fast_conv, frames))


def test_fast_path_only_where_it_applies():
  config = load_config('smoke')
  variables = {'params': {}, 'batch_stats': {}}  # not traced here
  # Off by default: measured only 1.05x the plain forward.
  assert not config.eval.fast_inference
  assert not engine.from_config(config, variables).fast
  config.eval.fast_inference = True
  assert engine.from_config(config, variables).fast
  config.model.bn_inference = 'batch'   # the authors' protocol: today's path
  assert not engine.from_config(config, variables).fast
  config.model.bn_inference = 'running'
  config.model.dtype = 'bfloat16'       # the folded form is float32 only
  assert not engine.from_config(config, variables).fast
  with pytest.raises(errors.ConfigError, match='fast_conv'):
    engine.InferenceModel(config.model, variables, fast_conv='gemm')


@pytest.mark.parametrize('fast', [True, False])
def test_warm_up_compiles_each_pad_length_once(fast, save_random_weights,
                                               tmp_path):
  config = load_config('smoke')
  config.eval.pad_lengths = (32, 48, 64)
  config.eval.fast_inference = fast
  im = engine.from_config(config,
                          save_random_weights(config.model, tmp_path))
  assert im.fast == fast
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
  config.eval.fast_inference = False
  plain = engine.from_config(config, variables)
  config.eval.fast_inference = True
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
