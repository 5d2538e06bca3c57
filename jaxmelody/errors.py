"""The project's exception types.

``run.py`` turns any ``JaxMelodyError`` into one ``error: <what>: <why>`` line
on stderr and exit status 2, so every message must read well on its own.
"""


class JaxMelodyError(Exception):
  """Base class of every error caused by bad input, files or flags."""


class AudioError(JaxMelodyError):
  """An audio file or array that cannot be used (missing, corrupt, too short, NaN)."""


class LabelError(JaxMelodyError):
  """A pitch annotation file that is missing or malformed."""


class DatasetError(JaxMelodyError):
  """A dataset that is missing, incomplete or cannot be built."""


class CheckpointError(JaxMelodyError):
  """A checkpoint that is missing, corrupt or does not fit the model."""


class ConfigError(JaxMelodyError):
  """A configuration value or flag that makes no sense."""


class Interrupted(JaxMelodyError):
  """SIGINT/SIGTERM stopped a run after saving what it had reached."""
