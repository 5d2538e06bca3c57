"""The package's default configuration and the one way to load a saved one.

``get_config`` is the paper's DenseASPP_10 (dense10). It lives inside the
package so that an installed wheel has it: ``predict``, ``extract_melody``
and the ``jaxmelody`` command fall back to it when no bundled model brings
its own ``config.json``. ``configs/dense10.py`` (the command line's base
config, which every other config file imports) returns this one.

``merge`` lays a saved ``config.json`` (a bundled model's, a workdir's) over
a full config once, when it is loaded, so every field exists afterwards and
code reads ``config.section.field`` directly: a default is stated here only.
A field an older config.json lacks takes its default; a field this code
retired is dropped (``RETIRED_FIELDS``); any other field this code does not
know is a ``ConfigError`` (a typo, or a config of a newer version whose
meaning this code cannot honour).
"""

from typing import Any

import ml_collections

from jaxmelody.errors import ConfigError

# Fields earlier versions wrote to config.json, each with the one value
# whose behaviour this code still has (None: any value; the field changed
# no result beyond float32 rounding).
RETIRED_FIELDS = {
    # One inference forward for running averages (model/folded_forward.py).
    'eval.fast_inference': None,
    'eval.fast_inference_conv': None,
    # No learning-rate warm-up: neither schedule ('constant', 'wsd') has
    # one; 0 is what an old config's field meant for them.
    'train.warmup_steps': 0,
}


def get_config() -> ml_collections.ConfigDict:
  """Returns the dense10 configuration (see the module docstring)."""
  config = ml_collections.ConfigDict()

  config.model = ml_collections.ConfigDict()
  config.model.name = 'dense10'
  config.model.growth = 10                     # channels per dense layer
  config.model.dilations = (3, 6, 12, 18, 24)  # one dense layer per rate
  config.model.input_repeats = 8               # decoder input = stack + x * 8
  config.model.decoder_channels = (64, 32)     # CONV6, CONV7 (CONV8 has 1)
  config.model.dtype = 'float32'               # compute dtype ('bfloat16' ok)
  # 'running': BatchNorm running averages at inference (our models).
  # 'batch': statistics of the piece being processed (the released code).
  config.model.bn_inference = 'running'

  config.data = ml_collections.ConfigDict()
  config.data.name = 'mir1k'
  config.data.train_split = 'train'
  config.data.manual_root = ''   # '' = TFDS's own manual folder
  config.data.data_dir = ''      # '' = TFDS's default data_dir
  # MIR-1K label time of .pv line i is 0.02 i + label_offset_s seconds;
  # 0.02 = the physical frame centre (ours), 0.01 = the authors' convention.
  config.data.mir1k_label_offset_s = 0.02
  config.data.res_type = 'polyphase'  # librosa resampler for non-16 kHz audio
  config.data.crop_frames = 256       # training crop length (frames)
  # Augmentation: transpose each window by up to this many semitones
  # (CFP rows and target together; input_pipeline.pitch_shift). 0 = off.
  config.data.pitch_shift_semitones = 0
  # Singers carved out of MIR-1K train for validation (never a test set).
  config.data.val_singers = ('abjones', 'amy')
  config.data.synthetic_size = 64     # clips in synthetic_melody's train split
  # Share of training examples drawn from synthetic_melody's train clips
  # (input_pipeline.train_and_validation); 0 = none.
  config.data.synthetic_fraction = 0.0
  # Shares of the training examples drawn from mir1k_augmented: degraded
  # copies of the training clips, and no-melody clips (robustness recipe;
  # jaxmelody.data.datasets.MIX_IN). 0 = none.
  config.data.augmented_fraction = 0.0
  config.data.no_melody_fraction = 0.0
  config.data.seed = 0
  config.data.read_threads = 4        # grain threads reading/cropping clips
  # Build datasets with Apache Beam: its flags, e.g. '--runner=DirectRunner
  # --direct_num_workers=2 --direct_running_mode=multi_processing' (needs
  # the [beam] extra); '' = in this process. The examples are the same.
  config.data.beam_options = ''

  config.train = ml_collections.ConfigDict()
  config.train.batch_size = 16        # global batch, split over devices
  config.train.learning_rate = 1e-3
  # 'constant' (the paper's) or 'wsd': constant until decay_start_step, then
  # a linear decay to learning_rate * final_lr_fraction at decay_steps
  # (0 = num_steps). See optimizer.learning_rate.
  config.train.lr_schedule = 'constant'
  config.train.decay_start_step = 0
  config.train.decay_steps = 0
  config.train.final_lr_fraction = 0.0
  # Moving average of the params (0 = none); validated and exported if kept.
  config.train.ema_decay = 0.0
  # A checkpoint (workdir or step folder) of a run with the same model that
  # a new workdir continues from: e.g. a 'wsd' decay branching off a
  # 'constant' run at decay_start_step (checkpoints.restore_branch).
  config.train.init_from = ''
  # BatchNorm folded into the convolutions and matrix-product gradients
  # (jaxmelody/model/folded_train.py): the same step to float32 rounding,
  # several times faster on CPU. False = differentiate the flax module as written.
  config.train.fast_step = True
  config.train.num_steps = 20000
  config.train.log_every_steps = 50
  config.train.checkpoint_every_steps = 500
  config.train.keep_checkpoints = 3
  config.train.seed = 0
  # Validation (every eval.every_steps) on the first N clips; 0 = all.
  config.train.val_max_clips = 0

  config.eval = ml_collections.ConfigDict()
  config.eval.every_steps = 1000      # validation during training
  # (dataset, split) pairs evaluated by --mode=eval.
  config.eval.sets = (('mir1k', 'test'), ('adc2004', 'test'))
  config.eval.piece_frames = 0        # 0 = whole clip; >0 cuts into pieces
  # Fixed padded lengths (frames) the jitted inference compiles for.
  # The largest is also the window long files are cut into: with 2048 a
  # 10-minute song peaks at 1.3 GB RSS, with 4096 at 1.7 GB
  # (benchmarks/long_song_memory.py).
  config.eval.pad_lengths = (256, 320, 384, 448, 512, 640, 768, 1024, 2048)
  # How --mode=eval decodes: 'argmax' (the paper's) or 'viterbi'
  # (decoding.py, the default of the package: decoding.DEFAULT_DECODER);
  # voicing_threshold P in (0, 1) or 0 = the decoder's own.
  config.eval.decoder = 'viterbi'
  config.eval.voicing_threshold = 0.0
  # Truncate decoded Hz to integers as the released code did (reproduction
  # only: it lowers RPA slightly at low pitch).
  config.eval.integer_hz = False

  config.distributed = False  # call jax.distributed.initialize() first
  return config


def _as_default_type(value: Any, default: Any) -> Any:
  """JSON's lists back to the tuples the default config holds."""
  if isinstance(default, tuple) and isinstance(value, list):
    return tuple(_as_default_type(v, default[0] if default else ())
                 if isinstance(v, list) else v for v in value)
  return value


def merge(saved: dict[str, Any], base: ml_collections.ConfigDict | None = None,
          *, source: str = 'config.json') -> ml_collections.ConfigDict:
  """A full config: base with the fields of a saved config.json over it.

  Args:
    saved: the nested dict read from a config.json.
    base: the full config the saved fields overwrite (not modified);
      None = ``get_config()``.
    source: what saved came from, for error messages (e.g. its path).

  Returns:
    A new ConfigDict with every field of base; saved's values where it has
    them (lists as tuples where base holds a tuple).

  Raises:
    ConfigError: a field base does not have (and not retired), a retired
      field with a value this code no longer implements, or a value of the
      wrong type.
  """
  config = (get_config() if base is None
            else base.copy_and_resolve_references())

  def overlay(node, tree, prefix):
    for name, value in tree.items():
      key = f'{prefix}{name}'
      if key in RETIRED_FIELDS:
        kept = RETIRED_FIELDS[key]
        if kept is not None and value != kept:
          raise ConfigError(f'{source}: {key}={value!r} is no longer '
                            f'supported (only {kept!r}); train with an '
                            'earlier version of jaxmelody')
        continue
      if not isinstance(node, ml_collections.ConfigDict) or name not in node:
        raise ConfigError(f'{source}: unknown field {key!r} (not in '
                          'jaxmelody/default_config.py)')
      if isinstance(value, dict):
        overlay(node[name], value, f'{key}.')
        continue
      try:
        node[name] = _as_default_type(value, node[name])
      except (TypeError, ValueError) as e:
        raise ConfigError(f'{source}: {key}={value!r}: {e}') from e

  overlay(config, saved, '')
  return config
