"""XLA's FLOP count of dense10's inference forward with and without the CONV6 fold.

  python -m benchmarks.conv6_fold_flops [--config configs/dense10.py]
      [--frames 256] [--no_results]

Compiles the running-BatchNorm forward pass on 1 x 256 x frames x 3 twice:
as written (CONV6 convolves the encoder stack plus ``input_repeats`` copies
of the input) and with ``decoder_fold.folded_block`` in CONV6's place (the
copies folded into one kernel), and prints XLA's cost-analysis FLOPs of both
(a multiply-add counts 2), the saving, and the largest logit difference
between the two on a random input with random weights. No timing: the
figures do not depend on the machine's load. Rewrites its section of
benchmarks/RESULTS.md unless --no_results.
"""

import argparse
import importlib.util
import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
# pylint: disable=g-import-not-at-top,wrong-import-position
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

if __name__ == '__main__' and not __package__:
  # `python benchmarks/conv6_fold_flops.py` from the repository root: rerun as
  # the module, so that the repository's packages import.
  os.execv(sys.executable,
           [sys.executable, '-m', 'benchmarks.conv6_fold_flops', *sys.argv[1:]])
# pylint: disable=wrong-import-position
from jaxmelody.frontend.feature_config import FEATURES
from jaxmelody.model import decoder_fold
from jaxmelody.model import network

SECTION = 'CONV6 fold FLOPs (conv6_fold_flops.py)'


def load_config(path):
  spec = importlib.util.spec_from_file_location('_bench_config', str(path))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


def forward_fns(model_config):
  """(model, plain forward, folded forward), both f(variables, x) -> logits."""
  model = network.create_model(model_config)
  repeats = int(model_config.input_repeats)

  def plain(variables, x):
    return model.apply(variables, x, train=False)

  def folded(variables, x):
    valid = jnp.ones((1, 1, x.shape[2], 1), bool)

    def conv6_folded(next_fun, args, kwargs, context):
      module = context.module
      if (context.method_name == '__call__'
          and isinstance(module, network.PreActBlock)
          and module.name == 'conv6'):
        return decoder_fold.folded_block(module, args[0], valid, x.shape[-1],
                                         repeats)
      return next_fun(*args, **kwargs)

    with nn.intercept_methods(conv6_folded):
      return model.apply(variables, x, train=False)

  return model, plain, folded


def xla_flops(fn, variables, x) -> float:
  shapes = jax.tree_util.tree_map(
      lambda a: jax.ShapeDtypeStruct(np.shape(a), a.dtype), (variables, x))
  cost = jax.jit(fn).lower(*shapes).compile().cost_analysis()
  if isinstance(cost, (list, tuple)):
    cost = cost[0]
  return float(cost['flops'])


def random_variables(model, frames, seed=0):
  """Random weights with BatchNorm statistics that are not the identity."""
  variables = network.init_variables(model, jax.random.PRNGKey(seed),
                                     frames=frames)
  rng = np.random.default_rng(seed)

  def perturb(path, a):
    name = jax.tree_util.keystr(path)
    a = np.asarray(a)
    if 'var' in name:
      return rng.uniform(0.5, 2.0, a.shape).astype(a.dtype)
    return (a + rng.normal(0, 0.1, a.shape)).astype(a.dtype)

  return jax.tree_util.tree_map_with_path(perturb, variables)


def measure(model_config, frames: int) -> dict[str, float]:
  model, plain, folded = forward_fns(model_config)
  variables = random_variables(model, frames)
  x = np.random.default_rng(1).uniform(
      0, 1, (1, FEATURES.n_bins, frames, 3)).astype(np.float32)
  out = {'plain': xla_flops(plain, variables, x),
         'folded': xla_flops(folded, variables, x)}
  diff = np.abs(np.asarray(jax.jit(plain)(variables, x))
                - np.asarray(jax.jit(folded)(variables, x)))
  out['saving'] = 1.0 - out['folded'] / out['plain']
  out['max_logit_diff'] = float(diff.max())
  return out


def report(config_path, frames, m) -> str:
  return '\n'.join([
      f'config: {config_path}, input 1 x {FEATURES.n_bins} x {frames} x 3, '
      f'running BatchNorm; jax {jax.__version__}, backend '
      f'{jax.default_backend()}',
      f'XLA FLOPs as written: {m["plain"] / 1e9:.3f} G',
      f'XLA FLOPs, CONV6 folded: {m["folded"] / 1e9:.3f} G',
      f'saving: {100 * m["saving"]:.1f}%',
      f'max |logit difference| (random weights and input): '
      f'{m["max_logit_diff"]:.2e}'])


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--config', default='configs/dense10.py')
  parser.add_argument('--frames', type=int, default=256)
  parser.add_argument('--no_results', action='store_true')
  args = parser.parse_args(argv)
  config = load_config(ROOT / args.config)
  text = report(args.config, args.frames, measure(config.model, args.frames))
  print(text)
  if not args.no_results:
    from benchmarks.report import update_results
    update_results(SECTION, f'Command: `python -m benchmarks.conv6_fold_flops'
                   f' --config {args.config} --frames {args.frames}`\n\n'
                   f'```\n{text}\n```')


if __name__ == '__main__':
  main()
