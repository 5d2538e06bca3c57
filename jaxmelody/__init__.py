"""jaxmelody: singing melody extraction with a multi-scale dilated dense FCN.

The public API is imported lazily, so ``import jaxmelody`` stays cheap and a
command-line tool that only needs one layer does not pay for the others.

  extract_melody(audio, sr=None, *, checkpoint=None) -> Melody
  MelodyStream(sample_rate, decoder=..., ...): push(samples) -> Melody
  compute_cfp(audio, sr=16000) -> float32 [3, 256, T] CFP features
  import_msfcn_checkpoint(path) -> Flax variables of the authors' weights

The subpackages are layers, lowest first; a module imports only its own
layer or lower ones (``tests/layers_test.py``):

  errors, runtime, atomic, default_config   the base
  frontend   audio, CFP features, pitch classes
  model      the network and its folded formulations
  data, training, inference   datasets; training; extraction and scoring
  apps       the command lines, file outputs and Beam
"""

import importlib

__version__ = '0.1.0'

_LAZY = {
    'extract_melody': 'jaxmelody.inference.api',
    'Melody': 'jaxmelody.inference.api',
    'MelodyStream': 'jaxmelody.inference.stream',
    'compute_cfp': 'jaxmelody.frontend.cfp',
    'import_msfcn_checkpoint': 'jaxmelody.model.released_weights',
}

__all__ = sorted(_LAZY)


def __getattr__(name):
  if name in _LAZY:
    return getattr(importlib.import_module(_LAZY[name]), name)
  raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
