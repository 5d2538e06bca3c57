"""How fast can the fast inference forward be? Its convolutions' share.

Usage (from the repository root)::

  python -m benchmarks.inference_bound [--repeats 4] [--frames 2048]

On one window of ``--frames`` frames (the longest pad length), batch 1, it
times the plain forward (``InferenceModel``, flax module with masked
BatchNorm), the fast forward (``folded_forward.apply_masked``, XLA
convolutions), and every convolution the fast forward runs, alone, on random
inputs of its shape, as XLA's convolution (``conv_kernels.xla_conv``, what
the fast forward runs) and, for the dilated layers, as one product and nine
shifted adds (``conv_kernels._shifted_conv``, training's forward).
All runs alternate (best of ``--repeats`` each), with the bundled weights.

Then it profiles both forwards (``train_profile.op_profile``: XLA's
operation times, summed by kind). The fast forward runs all these
convolutions; its convolution time, less what the fastest formulation of
each would save, is what no rewrite of the rest can remove with these
kernels: plain / that time bounds fast / plain from above, whatever the
rest (the BatchNorm borders, SELU, the dense stack's concatenations)
costs. A second line bounds it again as if every convolution ran at the
best FLOP rate measured among them. The last line is ``bound: X`` (the
first bound). Rewrites its section of benchmarks/RESULTS.md unless ``--no_results``.

``model_alone`` (frames/s of the plain and fast forwards on one clip) and ``forward_gflops_fast`` serve inference_speed.py.
"""

import functools
import os
import sys

import numpy as np

if __name__ == '__main__' and not __package__:
  # `python benchmarks/inference_bound.py` from the repository root: rerun as
  # the module, so that the repository's packages import.
  os.execv(sys.executable,
           [sys.executable, '-m', 'benchmarks.inference_bound', *sys.argv[1:]])
# pylint: disable=wrong-import-position
from benchmarks import train_profile
from benchmarks.report import (best_time, load_avg, machine_info,
                               parse_args, update_results)

SECTION = 'Bound on the fast inference forward (inference_bound.py)'


def conv_shapes(model) -> list[tuple[str, int, int, int]]:
  """(name, input channels, output channels, dilation) of each convolution
  ``folded_forward.apply_masked`` runs, in order."""
  # The stack carries the clip indicator as one more channel (see
  # folded_forward); CONV6 reads the stack only (the input copies fold into
  # its first channels); the next block adds the voicing map's channel.
  c = 1 + 3
  shapes = []
  for i, rate in enumerate(model.dilations):
    shapes.append((f'dense_{i}', c, model.growth, rate))
    c += model.growth
  chans = [c] + list(model.decoder_channels) + [1]
  for i in range(len(chans) - 1):
    extra = 1 if i == 1 else 0
    name = f'conv{6 + i}' + (' + voicing' if extra else '')
    shapes.append((name, chans[i], chans[i + 1] + extra, 1))
  return shapes


def forward_gflops_fast(model, frames: int = 256) -> float:
  """XLA's FLOP count (1e9) of ``folded_forward.apply_masked``, batch 1."""
  import jax  # pylint: disable=g-import-not-at-top
  from jaxmelody.model import folded_forward  # pylint: disable=g-import-not-at-top
  shapes = jax.tree_util.tree_map(
      lambda a: jax.ShapeDtypeStruct(np.shape(a), a.dtype), model.variables)
  x = jax.ShapeDtypeStruct((1, 256, frames, 3), np.float32)
  n = jax.ShapeDtypeStruct((), np.int32)
  cost = jax.jit(folded_forward.apply_masked, static_argnums=0).lower(
      model.model, shapes, x, n).compile().cost_analysis()
  if isinstance(cost, (list, tuple)):
    cost = cost[0]
  return float(cost['flops']) / 1e9


def model_alone(config, variables, feats, repeats) -> dict:
  """Frames/s of ``InferenceModel.logits`` on feats, plain and fast.

  Two models with the same variables: the plain formulation (flax module,
  BatchNorm outputs masked; ``InferenceModel(reference=True)``) and the fast
  one (``folded_forward.apply_masked``, what inference runs). Both are
  compiled for every pad length before the first timing; runs alternate so
  a change of machine load hits all alike; best of ``repeats`` each.
  """
  from jaxmelody.inference import engine  # pylint: disable=g-import-not-at-top
  ims = {}
  for name in ('plain', 'fast'):
    ims[name] = engine.InferenceModel(
        config.model, variables, pad_lengths=config.eval.pad_lengths,
        reference=name == 'plain')
    assert ims[name].folded == (name == 'fast'), name
    ims[name].warm_up()
  best = best_time({name: functools.partial(m.logits, feats)
                    for name, m in ims.items()}, repeats, warm_up=False)
  n = feats.shape[-1]
  out = {f'{name}_frames_per_s': n / t for name, t in best.items()}
  return out


def main():
  args = parse_args(__doc__, repeats=4, frames=2048)
  from jaxmelody import runtime
  runtime.reexec_with_tuned_malloc()  # as run.py and the jaxmelody command
  import jax
  # pylint: disable-next=g-import-not-at-top
  from jaxmelody.inference import api
  from jaxmelody.inference import engine
  from jaxmelody.inference import weights
  from jaxmelody.model import conv_kernels
  from jaxmelody.model import network
  load_before = load_avg()
  config = api.default_config()
  variables = weights.resolve_variables(None, config)
  width = args.frames
  rng = np.random.default_rng(0)
  cfp = rng.random((3, 256, width), np.float32)
  forwards = {name: engine.InferenceModel(
      config.model, variables, pad_lengths=(width,), reference=name == 'plain')
              for name in ('plain', 'fast')}
  timers = {name: functools.partial(im.logits, cfp)
            for name, im in forwards.items()}
  model = forwards['fast'].model
  impls = {'xla': conv_kernels.xla_conv,
           'shifted': conv_kernels._shifted_conv}  # pylint: disable=protected-access
  shapes = conv_shapes(model)
  for name, c, f, d in shapes:
    x = rng.standard_normal((1, 256, width, c), np.float32)
    k = rng.standard_normal((3, 3, c, f), np.float32)
    for impl, fn in impls.items():
      if impl == 'xla' or d > 1:
        jitted = jax.jit(lambda a, w, fn=fn, d=d: fn(a, w, d))
        timers[(name, impl)] = functools.partial(jitted, x, k)
  best = best_time(timers, args.repeats)
  rows, flops, peak, saving = [], 0.0, 0.0, 0.0
  for name, c, f, d in shapes:
    gflop = 2 * 9 * c * f * 256 * width / 1e9
    times = {i: best[(name, i)] for i in impls if (name, i) in best}
    fastest = min(times, key=times.get)
    saving += times['xla'] - times[fastest]
    flops += gflop
    peak = max(peak, gflop / times[fastest])
    cells = ' | '.join(f'{1e3 * times[i]:.0f}' if i in times else '-'
                       for i in impls)
    rows.append(f'| {name} | {c} -> {f} | {d} | {gflop:.2f} | {cells} | '
                f'{fastest} | {gflop / times[fastest]:.0f} |')
  plain, fast = best['plain'], best['fast']
  # XLA's operation times inside each forward (the fast one's convolutions
  # are XLA's, which it runs as it runs them there).
  prof = {}
  x = network.cfp_to_input(cfp)[None]
  for name, im in forwards.items():
    call = (im.variables, x, np.int32(width), False)
    hlo = im._forward.lower(*call).compile().as_text()  # pylint: disable=protected-access
    prof[name] = train_profile.op_profile(
        hlo, lambda im=im, call=call: jax.block_until_ready(
            im._forward(*call)))  # pylint: disable=protected-access
  kinds = {n: ', '.join(f'{k} {v:.0f}' for k, v in sorted(
      p['kinds'].items(), key=lambda kv: -kv[1])) for n, p in prof.items()}
  convs = prof['fast']['kinds'].get('conv forward', 0.0) / 1e3 - saving
  body = '\n'.join([
      f'Command: `python -m benchmarks.inference_bound'
      f'{" " + " ".join(sys.argv[1:]) if sys.argv[1:] else ""}`  ',
      f'Machine: {machine_info()}  ',
      f'Load average before: {load_before}; after: {load_avg()}  ',
      f'Malloc (GLIBC_TUNABLES): {os.environ.get("GLIBC_TUNABLES") or "default"}; '
      f'XLA_FLAGS: {os.environ.get("XLA_FLAGS") or "none"}  ',
      f'One window of {width} frames, batch 1, bundled weights (running '
      f'BatchNorm). Each convolution of the fast forward alone, on random '
      f'inputs of its shape, in each formulation (ms; best of '
      f'{args.repeats}, all runs and the two forwards interleaved):', '',
      '| convolution | channels | dilation | GFLOP | xla | shifted | '
      'fastest | GFLOP/s |',
      '|---|---|---|---|---|---|---|---|', *rows, '',
      f'- forwards (`InferenceModel.logits`): plain {1e3 * plain:.0f} ms, '
      f'fast {1e3 * fast:.0f} ms (fast / plain {plain / fast:.2f}x)',
      f'- XLA\'s operation times inside them (ms, `jax.profiler`, summed by '
      f'kind as `train_profile.py` does): plain: {kinds["plain"]}; fast: '
      f'{kinds["fast"]}',
      f'- the fast forward\'s convolutions, as it runs them, less what the '
      f'fastest formulation above would save ({1e3 * saving:.0f} ms): '
      f'{1e3 * convs:.0f} ms for {flops:.1f} GFLOP; so with these kernels '
      f'fast / plain is at most **{plain / convs:.2f}x** (plain\'s timed '
      'wall over that), whatever the rest costs',
      f'- were every convolution as fast per FLOP as the fastest measured '
      f'alone ({peak:.0f} GFLOP/s): {1e3 * flops / peak:.0f} ms, at most '
      f'{plain * peak / flops:.2f}x',
      f'bound: {plain / convs:.2f}'])
  print(body)
  if not args.no_results:
    update_results(SECTION, body)


if __name__ == '__main__':
  main()
