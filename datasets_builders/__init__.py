"""TFDS builders of the melody corpora (array_record, built without TensorFlow).

Importing this package registers every builder with TFDS (``mir1k``,
``adc2004``, ``mirex05``, ``ikala``, ``synthetic_melody``,
``robustness``, ``mir1k_augmented``); build and read
them through ``jaxmelody.data.datasets``.
"""

from datasets_builders.adc2004 import adc2004_dataset_builder
from datasets_builders.ikala import ikala_dataset_builder
from datasets_builders.mir1k import mir1k_dataset_builder
from datasets_builders.mir1k_augmented import mir1k_augmented_dataset_builder
from datasets_builders.mirex05 import mirex05_dataset_builder
from datasets_builders.robustness import robustness_dataset_builder
from datasets_builders.synthetic_melody import synthetic_melody_dataset_builder

BUILDERS = {
    'adc2004': adc2004_dataset_builder.Builder,
    'ikala': ikala_dataset_builder.Builder,
    'mir1k': mir1k_dataset_builder.Builder,
    'mir1k_augmented': mir1k_augmented_dataset_builder.Builder,
    'mirex05': mirex05_dataset_builder.Builder,
    'robustness': robustness_dataset_builder.Builder,
    'synthetic_melody': synthetic_melody_dataset_builder.Builder,
}
