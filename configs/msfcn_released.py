"""The authors' released DenseASPP_10 weights, run as their released code.

The model is dense10; what changes is how it is run and scored, as in the
released code: BatchNorm uses the statistics of the piece being processed
(not running averages), clips are cut into 3120-frame pieces, MIR-1K labels
are timed at 0.02 i + 0.01 s, and audio is resampled with a polyphase filter.
Evaluate the authors' checkpoint (converted on the fly) with::

  python run.py --config=configs/msfcn_released.py --mode=eval --workdir=W \
      --checkpoint=../shared/reference/msfcn/train_single_for_pitch_epoch_22.pkl \
      --config.data.manual_root=../shared/data

Expected scores: docs/reproduction.md, "Test scores" (the authors publish MIR-1K OA 86.42 and
ADC2004 OA 78.43 for these weights).
"""

import ml_collections

from configs import dense10


def get_config() -> ml_collections.ConfigDict:
  """Returns the msfcn_released configuration."""
  config = dense10.get_config()
  # Its own name: the bundled pretrained dense10 is ours, not these weights.
  config.model.name = 'msfcn_released'
  config.model.bn_inference = 'batch'   # the released code's test-time BN
  config.eval.piece_frames = 3120       # their longest piece per forward pass
  # ...run whole, as theirs were (longer pieces would be cut into windows).
  config.eval.pad_lengths = tuple(config.eval.pad_lengths) + (3120,)
  config.data.mir1k_label_offset_s = 0.01  # their MIR-1K label timing
  config.data.res_type = 'polyphase'    # reproduces their ADC2004 scores
  config.eval.integer_hz = True         # their estimates were whole Hz
  config.eval.decoder = 'argmax'        # their decoding
  return config
