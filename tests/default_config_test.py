"""default_config.merge: a saved config.json laid over the full defaults."""

import json

import pytest

from jaxmelody import default_config
from jaxmelody import errors
from jaxmelody.inference import api
from jaxmelody.inference import weights
from jaxmelody.training import workdir_config


def test_an_old_config_missing_new_fields_gets_their_defaults():
  saved = workdir_config.as_json_tree(default_config.get_config())
  del saved['data']['augmented_fraction']   # fields added after a run began
  del saved['eval']['voicing_threshold']
  saved['train']['num_steps'] = 1400
  config = default_config.merge(saved)
  assert config.data.augmented_fraction == 0.0
  assert config.eval.voicing_threshold == 0.0
  assert config.train.num_steps == 1400
  # JSON's lists come back as the tuples the defaults hold.
  assert config.model.dilations == (3, 6, 12, 18, 24)
  assert config.eval.sets == (('mir1k', 'test'), ('adc2004', 'test'))


def test_merge_leaves_the_base_alone():
  base = default_config.get_config()
  config = default_config.merge({'model': {'growth': 12}}, base)
  assert config.model.growth == 12 and base.model.growth == 10


def test_retired_fields_are_dropped_unless_their_value_is_gone():
  config = default_config.merge({'eval': {'fast_inference': True,
                                          'fast_inference_conv': 'shifted'},
                                 'train': {'warmup_steps': 0}})
  assert 'fast_inference' not in config.eval
  assert 'warmup_steps' not in config.train
  with pytest.raises(errors.ConfigError, match='warmup_steps=10 is no longer'):
    default_config.merge({'train': {'warmup_steps': 10}})


@pytest.mark.parametrize('saved,match', [
    ({'eval': {'fast_infernce': True}}, "unknown field 'eval.fast_infernce'"),
    ({'optim': {'lr': 1.0}}, "unknown field 'optim'"),
    ({'model': {'growth': {'a': 1}}}, "unknown field 'model.growth.a'"),
    ({'model': {'name': 3}}, 'model.name=3'),
])
def test_unknown_fields_and_wrong_types_are_config_errors(saved, match):
  """A typo in a hand-edited config.json, or a newer version's field, must
  not pass silently: this code could not honour it."""
  with pytest.raises(errors.ConfigError, match=match):
    default_config.merge(saved, source='x/config.json')


def test_the_bundled_config_loads_over_the_defaults():
  bundled = weights.PRETRAINED_DIR / 'dense10' / 'config.json'
  if not bundled.is_file():
    pytest.skip('no bundled model')
  config = api.default_config()
  saved = workdir_config.flatten(json.loads(bundled.read_text()))
  have = workdir_config.flatten(workdir_config.as_json_tree(config))
  defaults = workdir_config.flatten(workdir_config.as_json_tree(
      default_config.get_config()))
  assert set(have) == set(defaults)   # every field, none retired
  for key, value in saved.items():
    if key not in default_config.RETIRED_FIELDS:
      assert have[key] == value, key


def test_default_validation_singers_are_those_the_mir1k_builder_splits_off():
  """default_config cannot import the builders (layers), so the two lists
  are pinned together here."""
  from datasets_builders import splits  # pylint: disable=g-import-not-at-top
  assert sorted(default_config.get_config().data.val_singers) == sorted(
      splits.MIR1K_VALIDATION_SINGERS)
