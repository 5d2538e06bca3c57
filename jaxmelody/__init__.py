"""jaxmelody: singing melody extraction with a multi-scale dilated dense FCN.

The public API is imported lazily, so ``import jaxmelody`` stays cheap and a
command-line tool that only needs one layer does not pay for the others.

  extract_melody(audio, sr=None, *, checkpoint=None) -> Melody
  MelodyStream(sample_rate, decoder=..., ...): push(samples) -> Melody
  import_msfcn_checkpoint(path) -> Flax variables of the authors' weights
"""

import importlib

__version__ = '0.1.0'

_LAZY = {
    'extract_melody': 'jaxmelody.predict',
    'Melody': 'jaxmelody.predict',
    'MelodyStream': 'jaxmelody.stream',
    'import_msfcn_checkpoint': 'jaxmelody.msfcn_import',
}

__all__ = sorted(_LAZY)


def __getattr__(name):
  if name in _LAZY:
    return getattr(importlib.import_module(_LAZY[name]), name)
  raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
