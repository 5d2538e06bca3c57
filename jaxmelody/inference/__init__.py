"""Inference: from audio to a melody, for files, arrays and streams.

Layer 3 of jaxmelody, beside ``data`` and ``training``: imports the base
modules, ``frontend`` and ``model``; ``evaluate`` reads ``data.datasets`` and
``weights`` restores orbax checkpoints through ``training.checkpoints``
(imported when such a checkpoint is named).

Modules:
  api: ``extract_melody``, ``Melody`` and ``get_model``: the public API.
  engine: ``InferenceModel``, one jitted, padded whole-clip forward for every
    caller.
  piece_norm: per-piece BatchNorm and digital silence.
  decoding: per-frame scores to a melody (argmax, threshold or Viterbi).
  viterbi: librosa's two Viterbi paths, cheaper (banded, two-state).
  viterbi_loops: the banded chain's loop in numpy or numba, and which runs.
  weights: which weights eval, predict and the API run with, and their
    checks.
  evaluate: whole-track scores with mir_eval, the mean over clips.
  stream: ``MelodyStream``, streaming extraction (push samples, get frames).
  stream_decode: decoding logits as they arrive.

Conventions:
  a melody (``api.Melody``): float64 [T] times ((k + 1) * 0.016 s), f0_hz
    (0 = no melody), voicing and confidence.
  decoders: 'argmax' (the paper) or 'viterbi' (the default).
"""
