"""The split lists of the corpora, in one place.

Builders write their splits from these lists, and benchmarks that read the
corpus files directly import them from here instead of copying them.
"""

# MIR-1K: the paper authors' test singers (260 clips); every other clip is
# ``train`` (740). The singer is the file-name prefix before the first '_'.
MIR1K_TEST_SINGERS = ('leon', 'yifen', 'stool', 'titon', 'tammy')
# Train singers held out for validation during training (never a test set):
# the builder writes their clips as the ``validation`` split and the other
# train singers' clips as ``fit``; ``train`` is the two together.
MIR1K_VALIDATION_SINGERS = ('abjones', 'amy')

# ADC2004: the 12 vocal clips singing-melody papers report on (``test``);
# the other 8 (jazz1-4, midi1-4) are ``instrumental``.
ADC2004_VOCAL = ('daisy1', 'daisy2', 'daisy3', 'daisy4', 'opera_fem2',
                 'opera_fem4', 'opera_male3', 'opera_male5', 'pop1', 'pop2',
                 'pop3', 'pop4')


def mir1k_singer(track_id) -> str:
  """The singer of a MIR-1K clip ('abjones_1_01' -> 'abjones')."""
  if isinstance(track_id, bytes):
    track_id = track_id.decode()
  return str(track_id).split('_', 1)[0]


def mir1k_split(track_id) -> str:
  """The split a MIR-1K clip is written to: 'test', 'validation' or 'fit'."""
  singer = mir1k_singer(track_id)
  if singer in MIR1K_TEST_SINGERS:
    return 'test'
  return 'validation' if singer in MIR1K_VALIDATION_SINGERS else 'fit'
