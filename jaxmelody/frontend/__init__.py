"""The front end: audio in, CFP features and pitch classes out.

Layer 1 of jaxmelody (above the base modules ``errors``, ``runtime``,
``atomic`` and ``default_config``; below ``model``): it imports nothing from
the other subpackages.

Modules:
  feature_config: ``FeatureConfig`` and ``FEATURES``, the one place that owns
    the audio and feature constants (16 kHz, hop 256 = 16 ms, 256 bins).
  audio: loading any file soundfile/librosa reads as 16 kHz mono float32.
  cfp: ``compute_cfp``, the CFP features in JAX.
  cfp_reference: the authors' CFP math in NumPy, the reference ``cfp`` is
    tested against.
  cfp_stream: the same front end on a stream, in pieces.
  pitch: the 257 pitch classes, label readers and the per-frame argmax.

Conventions:
  audio: float32 [n_samples] mono at ``FEATURES.sample_rate``.
  CFP features: float32 [3, 256, T], channels [spectrum, GCoS, GC], rows
    log-frequency bins from 31 Hz, 48 per octave, one frame per 16 ms.
  pitch classes: int [T], 0 = no melody, m >= 1 = ``pitch.CLASS_HZ[m]`` Hz.
"""
