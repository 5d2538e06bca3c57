"""Shared pytest fixtures.

Real-data tests read ``../shared`` (the corpora and the authors' reference
files, beside the checkout) and skip with a reason when it is absent, so the
suite passes on a stranger's machine too.
"""

import pathlib

import pytest

SHARED = pathlib.Path(__file__).resolve().parents[1].parent / 'shared'


@pytest.fixture(scope='session')
def shared_dir() -> pathlib.Path:
  """The ``../shared`` folder, or a skip that says why the test cannot run."""
  if not (SHARED / 'data').is_dir():
    pytest.skip(f'{SHARED} is absent: real-data test needs the MIR-1K/ADC2004 '
                'corpora and the authors\' reference files there')
  return SHARED
