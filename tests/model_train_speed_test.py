"""Tests for benchmarks/model_train_speed.py's choice of configs (no timing)."""

import pytest

from benchmarks import model_train_speed


@pytest.mark.parametrize('model', model_train_speed.MODELS)
def test_each_model_is_timed_with_table3s_recipe(model):
  config = model_train_speed.model_config(model)
  assert config.model.name == model
  # The all740 recipe: nothing held out, 2,800 steps, the default batch.
  assert tuple(config.data.val_singers) == ()
  assert config.train.num_steps == 2800
  assert (config.train.batch_size, config.data.crop_frames) == (16, 256)
  assert config.train.fast_step  # what run.py trains with


def test_quick_shrinks_only_the_batch():
  quick = model_train_speed.model_config('dense20', quick=True)
  full = model_train_speed.model_config('dense20')
  assert (quick.train.batch_size, quick.data.crop_frames) == (2, 32)
  assert quick.model.to_dict() == full.model.to_dict()
