"""Per-piece BatchNorm and digital silence.

``config.model.bn_inference='batch'`` normalises each piece with its own
statistics, as the released code did at test time. Taken over every frame,
those statistics degenerate on digital silence: zero variance, then the
tiny differences the zero padding makes at the edges are scaled up to unit
size and the model reports a melody in silence. So the statistics here are
those of the *sounding* frames only (any CFP value above ``SILENCE_LEVEL``);
a piece with none falls back to the running averages. A clip that is music
throughout gets exactly the released code's statistics.

Independently of the BatchNorm mode, ``silence_to_no_melody`` marks frames
of digital silence as "no melody": whatever the network says there, no one
is singing.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

# CFP channels are min-max scaled to [0, 1] over the clip (``cfp.py``); a
# frame of digital silence is all zeros, any audible frame far above this.
SILENCE_LEVEL = 1e-4

# The logits given to a silent frame: "no melody" wins by e^30.
_SILENT_NO_MELODY, _SILENT_PITCH = 0.0, -30.0


def silent_frames(cfp) -> np.ndarray:
  """bool [T]: the frames of cfp [3, H, T] where every value is silent."""
  return np.asarray(cfp).max(axis=(0, 1)) <= SILENCE_LEVEL


def silence_to_no_melody(logits, cfp) -> np.ndarray:
  """logits [T, C] with the rows of silent cfp [3, H, T] frames set to row 0."""
  logits = np.array(logits, np.float32)
  silent = silent_frames(cfp)
  logits[silent] = _SILENT_PITCH
  logits[silent, 0] = _SILENT_NO_MELODY
  return logits


def sounding(x, valid):
  """bool [1, 1, L, 1]: valid frames of model input x [1, H, L, C] not silent."""
  loud = jnp.max(x, axis=(0, 1, 3)) > SILENCE_LEVEL
  return valid & loud[None, None, :, None]


def masked_batch_norm(bn: nn.BatchNorm, x, frames):
  """BatchNorm of x [B, H, L, C] with the statistics of the given frames.

  Written out rather than ``bn(x, mask=...)``: on XLA:CPU (jax 0.10) the
  jitted ``mean(where=mask)`` inside the model gave statistics far enough off
  to move logits by tens (measured on MIR-1K yifen_2_13), while sums of
  ``x * mask`` agree with the unpadded pass to 1e-4.

  Args:
    bn: the bound flax BatchNorm (its scale, bias, epsilon and running
      averages are used).
    x: its input [B, H, L, C].
    frames: bool [1, 1, L, 1], the frames whose statistics count; none
      selects the running averages.

  Returns:
    Normalised, scaled and shifted x, float32 [B, H, L, C].
  """
  x = x.astype(jnp.float32)
  w = frames.astype(jnp.float32)
  count = jnp.sum(w) * x.shape[0] * x.shape[1]
  safe = jnp.maximum(count, 1.0)
  mean = jnp.sum(x * w, axis=(0, 1, 2)) / safe
  # Two-pass (biased) variance, as torch in training mode.
  var = jnp.sum(jnp.square(x - mean) * w, axis=(0, 1, 2)) / safe
  some = count > 0
  mean = jnp.where(some, mean, bn.get_variable('batch_stats', 'mean'))
  var = jnp.where(some, var, bn.get_variable('batch_stats', 'var'))
  y = (x - mean) * jax.lax.rsqrt(var + bn.epsilon)
  return (y * bn.get_variable('params', 'scale')
          + bn.get_variable('params', 'bias'))
