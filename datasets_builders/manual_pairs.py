"""Corpora in a manual folder of audio files with one label file each.

Shared by the adc2004, mirex05 and ikala builders, which name this module in
their ``EXTRA_SOURCES`` (its contents count in their fingerprints; the other
builders' do not change with it).
"""

import pathlib

from datasets_builders import common


def labelled_pairs(builder, dl_manager, label_suffix: str, expected: int,
                   audio_dir: str = '', label_dir: str = '',
                   **pair_options) -> dict[str, tuple[pathlib.Path,
                                                      pathlib.Path]]:
  """The corpus's {track_id: (audio path, label path)}, sorted by track id.

  Args:
    builder: the ``common.MelodyBuilder`` (its name and
      ``MANUAL_DOWNLOAD_INSTRUCTIONS``).
    dl_manager: the TFDS download manager (its manual folder).
    label_suffix: what a label file's name adds to its track id.
    expected: the number of clips of the full corpus (fewer: a warning).
    audio_dir: the audio files' folder in the manual folder ('' = itself).
    label_dir: the label files' folder in the manual folder ('' = itself).
    **pair_options: ``audio_glob`` and ``audio_id`` of ``common.pair_files``.

  Raises:
    errors.DatasetError: see ``common.manual_dir`` and ``common.pair_files``.
  """
  instructions = builder.MANUAL_DOWNLOAD_INSTRUCTIONS
  root = common.manual_dir(dl_manager, builder.name, instructions)
  pairs = common.pair_files(builder.name, root / audio_dir, root / label_dir,
                            label_suffix, instructions, **pair_options)
  common.warn_if_partial(builder.name, len(pairs), expected)
  return pairs


def test_and_rest(builder, pairs: dict, is_test, rest: str) -> dict:
  """Split generators: 'test' (``is_test(track_id)``) and ``rest`` (the rest).

  Each split's examples are ``builder._generate_examples`` of its pairs, in
  track id order.
  """
  test_ids, rest_ids = common.split_ids(pairs, is_test)
  return {split: builder._generate_examples({i: pairs[i] for i in ids})  # pylint: disable=protected-access
          for split, ids in (('test', test_ids), (rest, rest_ids))}
