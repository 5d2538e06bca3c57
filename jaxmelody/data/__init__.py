"""Data: the datasets, the training input pipeline and synthetic mixtures.

Layer 3 of jaxmelody, beside ``training`` and ``inference``: imports the base
modules, ``frontend`` and ``model``; ``datasets`` also reads the builders of
the top-level ``datasets_builders`` package.

Modules:
  datasets: building and reading the TFDS (array_record) melody datasets,
    rebuilt when their fingerprint (``datasets_builders.common``) changes.
  track_source: ``TrackSource``, random access to one split's examples.
  input_pipeline: training batches and validation tracks, read with grain.
  synth: synthetic singing-melody mixtures whose f0 is known exactly
    (``Notes``, ``synthesize``).
  augment: real-world degradations of a mixture, drawn at random.

Conventions:
  an example: 'cfp' float32 [3, 256, T] and 'target' int32 [T], the pitch
    class of every frame.
"""
