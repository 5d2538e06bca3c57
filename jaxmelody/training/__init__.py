"""Training: the loss and step, the optimizer, checkpoints and export.

Layer 3 of jaxmelody, beside ``data`` and ``inference``: imports the base
modules, ``frontend``, ``model``, ``data`` and, for validation and export,
``inference.evaluate``, ``inference.decoding`` and ``inference.weights``.

Modules:
  train: the loss, one data-parallel step and the loop with validation
    (``train_and_evaluate``).
  optimizer: Adam, its learning-rate schedule and the weight EMA.
  checkpoints: orbax training checkpoints and the portable pretrained-model
    format (``variables.msgpack`` + ``config.json``).
  workdir_config: the config a workdir was started with and what may change
    on resume.
  export: a trained workdir as a pretrained-model folder, and its log.

Conventions:
  a workdir holds ``config.json``, ``starts.jsonl``, ``checkpoints/`` and
  TensorBoard events.
"""
