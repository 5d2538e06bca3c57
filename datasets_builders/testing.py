"""A TensorFlow-free stand-in for ``tfds.testing.DatasetBuilderTestCase``.

TFDS's own test case reads datasets back with ``as_dataset`` (TensorFlow) and
imports ``dill``; neither is installed here. This one keeps its interface
(``DATASET_CLASS``, ``SPLITS``, ``BUILDER_CONFIG_NAMES_TO_TEST``,
``OVERLAPPING_SPLITS``, ``EXAMPLE_DIR``, dummy data in ``dummy_data/`` beside
the builder) but builds array_record into a temporary folder and reads it
back with ``as_data_source``. It checks the split sizes, that the keys are
track ids (never paths), that examples are stored in track-id order, the
feature shapes and dtypes, the target/f0 agreement, split disjointness and
that a reloaded builder sees the same data; and that a Beam build
(DirectRunner, when apache-beam is installed) stores the same examples.
"""

import pathlib
import tempfile
import unittest
from unittest import mock

import numpy as np
import tensorflow_datasets as tfds

from jaxmelody.frontend.feature_config import FEATURES
from jaxmelody.frontend import pitch


class BuilderTestCase(unittest.TestCase):
  """Subclass and set DATASET_CLASS and SPLITS ({split: number of examples})."""

  DATASET_CLASS = None
  SPLITS: dict[str, int] = {}
  BUILDER_CONFIG_NAMES_TO_TEST: list[str] | None = None  # None = all
  OVERLAPPING_SPLITS: tuple[str, ...] = ()
  UNVOICED_SPLITS: tuple[str, ...] = ()  # no melody anywhere, by design
  EXAMPLE_DIR: str | None = None  # None = dummy_data/ beside the builder

  @property
  def dummy_data(self) -> pathlib.Path:
    if self.EXAMPLE_DIR:
      return pathlib.Path(self.EXAMPLE_DIR)
    return pathlib.Path(self.DATASET_CLASS.code_path).parent / 'dummy_data'

  def _configs(self):
    if self.BUILDER_CONFIG_NAMES_TO_TEST is not None:
      return list(self.BUILDER_CONFIG_NAMES_TO_TEST)
    return [c.name for c in self.DATASET_CLASS.BUILDER_CONFIGS] or [None]

  def test_download_and_prepare(self):
    if self.DATASET_CLASS is None:
      self.skipTest('base class')
    for config in self._configs():
      with self.subTest(config=config), tempfile.TemporaryDirectory() as tmp:
        self._check_config(config, tmp)

  def _check_config(self, config, data_dir):
    builder = self.DATASET_CLASS(config=config, data_dir=data_dir)
    keys = []
    generate = builder._generate_examples  # pylint: disable=protected-access

    def recording(*args, **kwargs):
      for key, example in generate(*args, **kwargs):
        keys.append((key, example['track_id']))
        yield key, example

    manual = self.dummy_data if builder.MANUAL_DOWNLOAD_INSTRUCTIONS else None
    with mock.patch.object(builder, '_generate_examples', recording):
      builder.download_and_prepare(
          file_format='array_record',
          download_config=tfds.download.DownloadConfig(manual_dir=manual))
    for key, track_id in keys:
      self.assertEqual(key, track_id)
      self.assertNotIn('/', key, 'keys must be track ids, never paths')

    sources = builder.as_data_source()
    self.assertEqual(set(sources), set(self.SPLITS))
    ids = {}
    for split, expected in self.SPLITS.items():
      self.assertEqual(builder.info.splits[split].num_examples, expected)
      self.assertLen(sources[split], expected)
      order = [self._check_example(e, split) for e in sources[split]]
      self.assertEqual(order, sorted(order), 'stored in track-id order')
      ids[split] = set(order)
    for a in ids:
      for b in ids:
        if a < b and not {a, b} & set(self.OVERLAPPING_SPLITS):
          self.assertFalse(ids[a] & ids[b], f'splits {a} and {b} overlap')

    reloaded = tfds.builder_from_directory(builder.data_dir)
    for split, expected in self.SPLITS.items():
      self.assertLen(reloaded.as_data_source(split=split), expected)

  def test_beam_build_equals_single_process_build(self):
    """A Beam build (DirectRunner) stores the very same examples, in order."""
    if self.DATASET_CLASS is None:
      self.skipTest('base class')
    try:
      from apache_beam.options import pipeline_options  # pylint: disable=g-import-not-at-top
    except ImportError:
      self.skipTest("apache-beam is an optional extra: pip install '.[beam]'")
    config = self._configs()[0]
    with tempfile.TemporaryDirectory() as one, \
        tempfile.TemporaryDirectory() as other:
      plain = self._build(config, one)
      beamed = self._build(config, other, beam_options=(
          pipeline_options.PipelineOptions(['--runner=DirectRunner'])))
      for split in self.SPLITS:
        want = plain.as_data_source(split=split)
        got = beamed.as_data_source(split=split)
        self.assertLen(got, len(want))
        for a, b in zip(want, got):
          self.assertEqual(set(a), set(b))
          for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)

  def _build(self, config, data_dir, beam_options=None):
    builder = self.DATASET_CLASS(config=config, data_dir=data_dir)
    manual = self.dummy_data if builder.MANUAL_DOWNLOAD_INSTRUCTIONS else None
    builder.download_and_prepare(
        file_format='array_record',
        download_config=tfds.download.DownloadConfig(
            manual_dir=manual, beam_options=beam_options))
    return builder

  def _check_example(self, example, split) -> str:
    cfp, target = example['cfp'], example['target']
    f0, times = example['f0_hz'], example['times']
    n_frames = cfp.shape[-1]
    self.assertGreater(n_frames, 0)
    self.assertEqual(cfp.shape, (3, FEATURES.n_bins, n_frames))
    self.assertEqual(cfp.dtype, np.float32)
    self.assertTrue(np.isfinite(cfp).all())
    self.assertEqual((target.shape, target.dtype), ((n_frames,), np.int32))
    self.assertEqual((f0.shape, f0.dtype), ((n_frames,), np.float32))
    np.testing.assert_allclose(times, FEATURES.frame_times(n_frames))
    np.testing.assert_array_equal(target, pitch.hz_to_class(f0))
    if split in self.UNVOICED_SPLITS:
      self.assertFalse((f0 > 0).any(), f'{split} should have no melody')
    else:
      self.assertTrue((f0 > 0).any(), 'dummy clips should contain a melody')
    return example['track_id'].decode()

  # unittest has no assertLen; keep absltest's spelling for readability.
  def assertLen(self, container, expected, msg=None):  # noqa: N802
    self.assertEqual(len(container), expected, msg)
