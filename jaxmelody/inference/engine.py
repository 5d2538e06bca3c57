"""Whole-clip inference: one jitted, padded forward pass for every caller.

``evaluate.py``, ``api.py`` and ``extract_melody`` all go through
``InferenceModel``. Clips are zero-padded to the smallest of a few fixed
lengths (``config.eval.pad_lengths``), so a new clip length does not trigger a
new XLA compilation. Padding is exact: BatchNorm turns zero input into
non-zero values, so every BatchNorm output is multiplied by a mask of the
valid frames (a flax method interceptor; the folded forward zeroes them
likewise), which makes the padded frames look like the convolutions' own
zero padding; in 'batch' mode (the released
code's test-time BatchNorm) the statistics are taken over the valid frames
that are not digital silence (``piece_norm``), so that mode needs no compile
per clip length either. Frames of digital silence decode as "no melody" in
every mode. Clips longer than the largest pad length are cut into
overlapping windows whose margins cover the receptive field, so the joined
logits equal those of one pass over the whole clip.

Two formulations, one per BatchNorm mode (the table of which runs where:
docs/architecture.md): with running averages (float32 compute) the forward
pass is ``folded_forward.apply_masked``, every BatchNorm folded into the
convolution after it, with the same padding semantics; in 'batch' mode (and
for a model computing in another dtype) it is the flax module with masked
BatchNorm outputs, the reference the folded forward is tested against
(``reference=True`` runs it in 'running' mode too).
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxmelody import default_config
from jaxmelody import errors
from jaxmelody.frontend.feature_config import FEATURES
from jaxmelody.frontend import pitch
from jaxmelody.inference import piece_norm
from jaxmelody.model import folded_forward
from jaxmelody.model import folded_train
from jaxmelody.model import network

BN_MODES = ('running', 'batch')


def receptive_radius(model_config) -> int:
  """Frames on each side that can influence one output frame.

  Each 3x3 layer of dilation d reaches d frames further; the dense encoder
  is a chain of its dilations, then CONV6.. and CONV8 reach one frame each.
  """
  return (sum(int(d) for d in model_config.dilations)
          + len(model_config.decoder_channels) + 1)


class InferenceModel:
  """A model and its variables, ready to turn CFP features into logits.

  Attributes:
    traces: How many times the jitted forward function was traced (one per
      compiled input shape); tests use it to check there are no recompiles.
  """

  def __init__(self, model_config, variables, *, pad_lengths=None,
               piece_frames: int | None = None, bn_inference: str | None = None,
               reference: bool = False):
    """Builds the model and places the variables on the device.

    Args:
      model_config: ``config.model``.
      variables: {'params', 'batch_stats'}.
      pad_lengths: frame counts the forward pass is compiled for; longer
        clips (or pieces) are processed in overlapping windows of the
        largest, which bounds memory on long songs.
      piece_frames: 0 runs each clip whole; > 0 cuts it into independent
        pieces of that many frames and joins their logits (the released
        code used 3120), without context across piece boundaries.
      bn_inference: 'running' (BatchNorm running averages) or 'batch' (the
        statistics of the piece being processed, as the released code; a
        piece longer than the largest pad length takes each window's own).
        For these three, None takes ``default_config.py``'s value
        (``config.eval.pad_lengths``, ``config.eval.piece_frames``,
        ``config.model.bn_inference``), the one place they are set.
      reference: run the flax module (BatchNorm outputs masked) in 'running'
        mode too instead of the folded forward: the reference the tests
        compare the folded forward with; same logits to float32 rounding,
        more work.

    Raises:
      errors.ConfigError: for an unknown mode or unusable lengths.
    """
    if None in (pad_lengths, piece_frames, bn_inference):
      defaults = default_config.get_config()  # only when a setting is unset
      if pad_lengths is None:
        pad_lengths = defaults.eval.pad_lengths
      if piece_frames is None:
        piece_frames = defaults.eval.piece_frames
      if bn_inference is None:
        bn_inference = defaults.model.bn_inference
    if bn_inference not in BN_MODES:
      raise errors.ConfigError(f'config.model.bn_inference: {bn_inference!r} '
                               f'is not one of {BN_MODES}')
    self.pad_lengths = tuple(sorted({int(n) for n in pad_lengths}))
    self.piece_frames = int(piece_frames)
    self.bn_inference = bn_inference
    self.radius = receptive_radius(model_config)
    if not self.pad_lengths or self.pad_lengths[0] < 1:
      raise errors.ConfigError(f'config.eval.pad_lengths: {pad_lengths} must '
                               'be a non-empty list of positive frame counts')
    if self.pad_lengths[-1] <= 4 * self.radius:
      raise errors.ConfigError(
          f'config.eval.pad_lengths: the largest ({self.pad_lengths[-1]}) must '
          f'exceed 4x the receptive radius ({self.radius} frames)')
    if self.piece_frames < 0:
      raise errors.ConfigError(f'config.eval.piece_frames: must be >= 0, got '
                               f'{piece_frames}')
    self.model = network.create_model(model_config)
    self.variables = jax.device_put(
        {'params': variables['params'],
         'batch_stats': variables['batch_stats']})
    self.traces = 0
    # Running averages make every BatchNorm a fixed affine map, which the
    # folded forward merges into the next convolution (float32 only).
    self.folded = bool(bn_inference == 'running' and not reference
                       and folded_train.supports(self.model))
    self._forward = jax.jit(
        self._folded_forward if self.folded else self._masked_forward,
        static_argnums=3)

  def _folded_forward(self, variables, x, n_valid, batch_stats_mode):
    """``_masked_forward`` in 'running' mode, BatchNorm folded."""
    assert not batch_stats_mode
    self.traces += 1  # runs only while tracing, i.e. once per compilation
    return folded_forward.apply_masked(self.model, variables, x, n_valid)[0]

  def _masked_forward(self, variables, x, n_valid, batch_stats_mode):
    """Logits [L, 257] of x [1, 256, L, 3] whose first n_valid frames count.

    In 'batch' mode BatchNorm normalises with the statistics of the valid,
    sounding frames only, which equals running the piece at its exact length,
    as the released code did, without a compile per length.
    """
    self.traces += 1  # runs only while tracing, i.e. once per compilation
    valid = (jnp.arange(x.shape[2]) < n_valid)[None, None, :, None]
    frames = piece_norm.sounding(x, valid) if batch_stats_mode else None

    def zero_padded_frames(next_fun, args, kwargs, context):
      bn = context.module
      if not (isinstance(bn, nn.BatchNorm) and context.method_name == '__call__'):
        return next_fun(*args, **kwargs)
      if batch_stats_mode:
        y = piece_norm.masked_batch_norm(bn, args[0], frames)
      else:
        y = next_fun(*args, **kwargs)
      return jnp.where(valid, y, jnp.zeros((), y.dtype))

    with nn.intercept_methods(zero_padded_frames):
      logits = self.model.apply(variables, x, train=False)
    return logits[0]

  def warm_up(self) -> None:
    """Compiles the forward pass for every pad length (one pass each).

    Afterwards no clip triggers a compile.
    """
    for length in self.pad_lengths:
      self.window_logits(
          np.zeros((1, FEATURES.n_bins, length, 3), np.float32), length)

  def window_logits(self, x: np.ndarray, n_valid: int) -> np.ndarray:
    """Logits [L, 257] of one model input x [1, 256, L, 3] whose first
    ``n_valid`` frames are real.

    The one call of the jitted forward: clips go through it at the pad
    lengths, a stream at its fixed window; each new L compiles once.
    """
    return np.asarray(self._forward(self.variables, x, np.int32(n_valid),
                                    self.bn_inference == 'batch'))

  def _pad_length(self, t: int) -> int:
    """The smallest pad length that holds t frames (t <= the largest)."""
    return next(n for n in self.pad_lengths if n >= t)

  def _run_padded(self, cfp: np.ndarray) -> np.ndarray:
    """One padded pass over cfp [3, 256, t], t <= the largest pad length.

    t is padded to the smallest pad length that holds it.
    """
    t = cfp.shape[-1]
    x = np.zeros((1, FEATURES.n_bins, self._pad_length(t), 3), np.float32)
    x[0, :, :t] = network.cfp_to_input(cfp)
    return self.window_logits(x, t)[:t]

  def _windows(self, t: int):
    """(lo, hi, start, stop) of each pass over a clip or piece of t frames.

    A clip that fits the largest pad length is one pass (0, t, 0, t).
    Longer ones are overlapping windows [lo, hi) that each keep only their
    core [start, stop), whose outputs see the full receptive field (margin
    frames each side), so joins are seamless with running averages. In
    'batch' mode each window normalises with its own statistics (~33 s of
    music with the default lengths): one pass over a whole song would need
    memory in proportion to its length.
    """
    longest = self.pad_lengths[-1]
    if t <= longest:
      yield 0, t, 0, t
      return
    margin = self.radius
    core = longest - 2 * margin
    for start in range(0, t, core):
      stop = min(start + core, t)
      yield max(0, start - margin), min(t, stop + margin), start, stop

  def _run_whole(self, cfp: np.ndarray) -> np.ndarray:
    """Logits of one clip (or piece) as if it ran in a single pass."""
    t = cfp.shape[-1]
    out = np.empty((t, FEATURES.n_classes), np.float32)
    for lo, hi, start, stop in self._windows(t):
      out[start:stop] = self._run_padded(cfp[..., lo:hi])[start - lo:stop - lo]
    return out

  def _pieces(self, t: int):
    """(start, stop) of each independent piece of a clip of t frames."""
    step = self.piece_frames or max(t, 1)
    return [(s, min(s + step, t)) for s in range(0, t, step)]

  def prepare(self, n_frames: int) -> None:
    """Compiles, or loads from the cache, the passes a clip will use.

    Nothing runs: a caller that would otherwise wait (for audio to decode)
    can pay the compilation then.

    Args:
      n_frames: the clip's length in frames.
    """
    batch_stats_mode = self.bn_inference == 'batch'
    lengths = {self._pad_length(hi - lo)
               for start, stop in self._pieces(n_frames)
               for lo, hi, _, _ in self._windows(stop - start)}
    for length in sorted(lengths):
      x = jax.ShapeDtypeStruct((1, FEATURES.n_bins, length, 3), jnp.float32)
      self._forward.lower(self.variables, x, np.int32(0),
                          batch_stats_mode).compile()

  def logits(self, cfp) -> np.ndarray:
    """Per-frame logits of one clip.

    Args:
      cfp: float [3, 256, T] CFP features (``cfp.compute_cfp``).

    Returns:
      float32 [T, 257]; row 0 = no melody, which wins on frames of digital
      silence.
    """
    cfp = np.asarray(cfp, np.float32)
    if cfp.ndim != 3 or cfp.shape[:2] != (3, FEATURES.n_bins):
      raise errors.AudioError(f'features: expected CFP of shape [3, '
                              f'{FEATURES.n_bins}, T], got {cfp.shape}')
    t = cfp.shape[-1]
    if t == 0:
      return np.zeros((0, FEATURES.n_classes), np.float32)
    logits = np.concatenate([self._run_whole(cfp[..., start:stop])
                             for start, stop in self._pieces(t)])
    return piece_norm.silence_to_no_melody(logits, cfp)

  def melody(self, cfp):
    """Decoded melody of one clip: (f0_hz float64 [T], voicing float64 [T])."""
    return pitch.argmax_hz(self.logits(cfp))


def from_config(config, variables) -> InferenceModel:
  """An InferenceModel with the settings of a full config."""
  return InferenceModel(config.model, variables,
                        pad_lengths=config.eval.pad_lengths,
                        piece_frames=config.eval.piece_frames,
                        bn_inference=config.model.bn_inference)
