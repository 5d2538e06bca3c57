"""End-to-end inference speed: real-time factor, stage shares, peak RSS.

Usage (from the repository root)::

  python -m benchmarks.inference_speed [--limit 20] [--seconds 60] \
      [--checkpoint path/to/weights.pkl]
  python -m benchmarks.inference_speed --quick   # does it run? (no figures)
  python -m benchmarks.inference_speed \
      --xla_flags=--xla_cpu_multi_thread_eigen=false  # under an XLA:CPU flag

Runs ``extract_melody``'s pipeline (decode + resample, CFP, model, argmax
decoding) with the API's default config (``api.default_config``:
dense10, running-average BatchNorm, so the folded forward) and the weights of
``--checkpoint`` (default: the bundled pretrained model, what
``extract_melody`` uses; the authors' ``.pkl`` has the same architecture
and so the same speed) on the default backend:

- clip: a 60 s mixture from ``jaxmelody.data.synth`` (several seeds joined)
  written as a 44.1 kHz wav, so resampling is exercised; every pad length and the
  CFP compiled first, one warm-up call, then best of ``--repeats``; plus the
  model alone (``InferenceModel.logits`` on the clip's CFP) in frames/s for
  the plain formulation (flax module, BatchNorm outputs masked: the
  reference) and the fast one (``folded_forward.apply_masked``, what every
  inference runs), interleaved, best of ``--repeats`` each;
  (how fast the fast one could be at most: ``inference_bound.py``);
- mir1k: the MIR-1K test set (260 clips of leon, yifen, stool, titon,
  tammy), or its first ``--limit`` clips, after compiling every pad length
  and every CFP chunk shape, so no compile falls inside the timed run.

Each measurement runs in its own subprocess, so its peak RSS (ru_maxrss) is
its own. Real-time factor = audio seconds / wall seconds (higher is faster).
Prints the figures and rewrites this script's section of
benchmarks/RESULTS.md.
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
# pylint: disable=g-import-not-at-top,wrong-import-position

if __name__ == '__main__' and not __package__:
  # `python benchmarks/inference_speed.py` from the repository root: rerun as
  # the module, so that the repository's packages import.
  os.execv(sys.executable,
           [sys.executable, '-m', 'benchmarks.inference_speed', *sys.argv[1:]])
# pylint: disable=wrong-import-position
from benchmarks.inference_bound import forward_gflops_fast, model_alone
from benchmarks.report import (SHARED, load_avg, machine_info,
                               peak_rss_mib, update_results)
from datasets_builders.splits import MIR1K_TEST_SINGERS

STAGES = ('load', 'cfp', 'model', 'decode')


def timed_extract(path, model) -> tuple[float, dict[str, float]]:
  """Runs one file through the pipeline: (audio s, {stage: seconds})."""
  from jaxmelody.frontend import audio  # pylint: disable=g-import-not-at-top
  from jaxmelody.frontend import cfp  # pylint: disable=g-import-not-at-top
  from jaxmelody.frontend import pitch  # pylint: disable=g-import-not-at-top
  t = [time.perf_counter()]
  samples = audio.load_audio(path)  # decode + resample to 16 kHz (polyphase)
  t.append(time.perf_counter())
  feats = cfp.compute_cfp(samples)
  t.append(time.perf_counter())
  logits = model.logits(feats)  # jitted forward, result back on the host
  t.append(time.perf_counter())
  pitch.argmax_hz(logits)
  t.append(time.perf_counter())
  seconds = len(samples) / 16000
  return seconds, {s: t[i + 1] - t[i] for i, s in enumerate(STAGES)}


def _model(args):
  from jaxmelody.inference import api  # pylint: disable=g-import-not-at-top
  config = api.default_config()  # dense10, running BatchNorm
  return config, api.get_model(config, args.checkpoint)


def weights_used(checkpoint) -> str:
  """The weights ``api.get_model`` resolves ``--checkpoint`` to, as a
  path relative to the repository root (no machine's absolute paths)."""
  from jaxmelody.inference import api  # pylint: disable=g-import-not-at-top
  from jaxmelody.inference import weights  # pylint: disable=g-import-not-at-top
  path = (os.path.abspath(checkpoint) if checkpoint else
          str(weights.PRETRAINED_DIR / api.default_config().model.name))
  return os.path.relpath(path, ROOT)


def config_used() -> str:
  """Where ``api.default_config`` takes the config from."""
  # pylint: disable-next=g-import-not-at-top
  from jaxmelody import default_config
  from jaxmelody.inference import weights
  name = default_config.get_config().model.name
  bundled = weights.PRETRAINED_DIR / name / 'config.json'
  if bundled.is_file():
    return str(bundled)
  return f'jaxmelody/default_config.py ({name}, = configs/{name}.py)'


def warm_up(model) -> float:
  """Compiles every pad length of the model and every CFP chunk shape.

  Returns:
    seconds taken.
  """
  from jaxmelody.frontend import cfp  # pylint: disable=g-import-not-at-top
  from jaxmelody.frontend.feature_config import FEATURES  # pylint: disable=g-import-not-at-top
  start = time.perf_counter()
  model.warm_up()
  rng = np.random.default_rng(0)
  # CFP chunks: 64 and 128 frames for short clips, 256 otherwise.
  for frames in (40, 100, 300):
    cfp.compute_cfp(rng.standard_normal(frames * FEATURES.hop)
                    .astype(np.float32))
  return time.perf_counter() - start


def worker_clip(args) -> dict:
  """The 60 s clip at 44.1 kHz: warm-up, best of repeats, model alone."""
  import soundfile as sf  # pylint: disable=g-import-not-at-top
  # pylint: disable-next=g-import-not-at-top
  from jaxmelody.data import synth
  from jaxmelody.frontend import cfp
  from jaxmelody.inference import api
  from jaxmelody.model import network
  sr, each = 44100, 6.0
  audio = np.concatenate([synth.synthesize(seed, each, sr=sr).audio
                          for seed in range(int(np.ceil(args.seconds / each)))])
  audio = audio[:int(args.seconds * sr)]
  with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, 'clip44k.wav')
    sf.write(path, audio, sr, subtype='PCM_16')
    start = time.perf_counter()
    config, model = _model(args)
    load_s = time.perf_counter() - start
    compile_s = warm_up(model)  # every pad length, every CFP chunk shape
    start = time.perf_counter()
    timed_extract(path, model)  # warm-up call (nothing left to compile)
    warm_s = time.perf_counter() - start
    runs = [timed_extract(path, model) for _ in range(args.repeats)]
    seconds, stages = min(runs, key=lambda r: sum(r[1].values()))
    start = time.perf_counter()
    api.extract_melody(path, checkpoint=args.checkpoint, config=config)
    api_s = time.perf_counter() - start
    samples = api.audio_lib.load_audio(path)
  feats = cfp.compute_cfp(samples)
  rss = peak_rss_mib()  # the pipeline's, before a second model is built
  alone = model_alone(config, model.variables, feats, args.repeats)
  gflops = network.forward_gflops(model.model, model.variables, frames=256)
  import jax  # pylint: disable=g-import-not-at-top
  return {'audio_s': seconds, 'stages': stages, 'load_weights_s': load_s,
          'compile_s': compile_s, 'warmup_s': warm_s,
          'extract_melody_s': api_s, 'frames': int(feats.shape[-1]),
          'pad_lengths': list(model.pad_lengths), **alone,
          'gflops_per_256_frames': gflops,
          'fast_gflops_per_256_frames': forward_gflops_fast(model),
          'peak_rss_mib': rss, 'load': load_avg(),
          'backend': jax.default_backend(),
          'devices': [str(d) for d in jax.devices()]}


def worker_mir1k(args) -> dict:
  """The MIR-1K test clips (or the first --limit), after compiling."""
  folder = SHARED / 'data' / 'mir1k' / 'Wavfile'
  paths = sorted(p for p in folder.iterdir()
                 if p.name.split('_')[0] in MIR1K_TEST_SINGERS)
  paths = paths[:args.limit] if args.limit else paths
  _, model = _model(args)
  compile_s = warm_up(model)
  traces = model.traces
  total_audio, totals = 0.0, dict.fromkeys(STAGES, 0.0)
  for path in paths:
    seconds, stages = timed_extract(path, model)
    total_audio += seconds
    for s in STAGES:
      totals[s] += stages[s]
  return {'clips': len(paths), 'audio_s': total_audio, 'stages': totals,
          'peak_rss_mib': peak_rss_mib(), 'load': load_avg(),
          'compile_s': compile_s, 'fast': bool(model.folded),
          'compiles_while_timed': model.traces - traces}


def _stage_line(r) -> str:
  wall = sum(r['stages'].values())
  shares = ', '.join(
      f'{s} {r["stages"][s]:.2f} s ({100 * r["stages"][s] / wall:.0f}%)'
      for s in STAGES)
  return (f'{r["audio_s"]:.1f} s of audio in {wall:.2f} s: real-time factor '
          f'**{r["audio_s"] / wall:.1f}x**; {shares}; peak RSS '
          f'{r["peak_rss_mib"]:.0f} MiB; load avg after: {r["load"]}')


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--seconds', type=float, default=60.0)
  parser.add_argument('--repeats', type=int, default=3)
  parser.add_argument('--limit', type=int, default=0,
                      help='MIR-1K clips to run (0 = all 260)')
  parser.add_argument('--checkpoint', default='',
                      help='weights (default: the bundled pretrained model)')
  parser.add_argument('--no_results', action='store_true',
                      help='do not rewrite benchmarks/RESULTS.md')
  parser.add_argument('--xla_flags', default=None,
                      help='XLA_FLAGS for the measuring processes (recorded '
                      'in the output; default: the environment\'s)')
  parser.add_argument('--quick', action='store_true',
                      help='checks that the script runs: a 12 s clip, one '
                      'repetition, 2 MIR-1K clips; RESULTS.md untouched '
                      '(the figures mean nothing)')
  parser.add_argument('--worker', choices=('clip', 'mir1k'), default=None,
                      help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.quick:
    args.seconds, args.repeats, args.limit = 12.0, 1, 2
    args.no_results = True
  if args.worker:
    result = (worker_clip if args.worker == 'clip' else worker_mir1k)(args)
    print('RESULT ' + json.dumps(result), flush=True)
    return

  # Measure what the jaxmelody command and run.py run with: huge-page malloc
  # (jaxmelody/runtime.py); the workers inherit it.
  from jaxmelody import runtime
  runtime.reexec_with_tuned_malloc()
  if args.xla_flags is not None:
    os.environ['XLA_FLAGS'] = args.xla_flags  # the workers inherit it
  load_before = load_avg()
  out = {}
  for part in ('clip', 'mir1k'):
    cmd = [sys.executable, '-m', 'benchmarks.inference_speed',
           f'--worker={part}'] + [
               a for a in sys.argv[1:] if a != '--no_results']
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                          check=False)
    lines = [l for l in proc.stdout.splitlines() if l.startswith('RESULT ')]
    if proc.returncode or not lines:
      raise SystemExit(f'error: inference_speed: {part} worker failed:\n'
                       f'{proc.stderr[-3000:]}')
    out[part] = json.loads(lines[-1][len('RESULT '):])
  clip, mir = out['clip'], out['mir1k']
  model_share = clip['stages']['model'] / sum(clip['stages'].values())
  gflop_s = (clip['plain_frames_per_s'] / 256
             * clip['gflops_per_256_frames'])
  formulation = ('fast (folded BatchNorm, `folded_forward.apply_masked`)'
                 if mir['fast'] else
                 'plain (flax module, masked BatchNorm)')
  body = '\n'.join([
      f'Command: `python -m benchmarks.inference_speed'
      f'{" " + " ".join(sys.argv[1:]) if sys.argv[1:] else ""}`  ',
      f'Machine: {machine_info()}  ',
      f'Backend: {clip["backend"]} ({", ".join(clip["devices"])})  ',
      f'Load average before: {load_before}  ',
      f'Malloc (GLIBC_TUNABLES): {os.environ.get("GLIBC_TUNABLES") or "default"}  ',
      f'XLA_FLAGS: {os.environ.get("XLA_FLAGS") or "none"}  ',
      f'Weights: {weights_used(args.checkpoint)} with {config_used()} '
      f'(running BatchNorm averages; pad lengths {clip["pad_lengths"]}, all '
      f'compiled before timing); pipeline forward: {formulation}.', '',
      f'- {args.seconds:.0f} s clip, 44.1 kHz wav, best of {args.repeats} '
      f'after compiling every pad length and CFP chunk shape '
      f'({clip["compile_s"]:.1f} s; weights load '
      f'{clip["load_weights_s"]:.1f} s) and one warm-up call '
      f'({clip["warmup_s"]:.1f} s): {_stage_line(clip)}',
      f'- same clip through `jaxmelody.extract_melody` (warm): '
      f'{clip["extract_melody_s"]:.2f} s, real-time factor '
      f'{clip["audio_s"] / clip["extract_melody_s"]:.1f}x',
      f'- model alone (`InferenceModel.logits` on the clip\'s CFP, '
      f'{clip["frames"]} frames padded to the next pad length, best of '
      f'{args.repeats}, runs interleaved): plain '
      f'{clip["plain_frames_per_s"]:.0f} frames/s, fast '
      f'**{clip["fast_frames_per_s"]:.0f} frames/s**, ratio '
      f'**{clip["fast_frames_per_s"] / clip["plain_frames_per_s"]:.2f}x**; '
      f'XLA\'s FLOP count per 256 frames: flax module as written '
      f'{clip["gflops_per_256_frames"]:.1f} GFLOP (plain at '
      f'{gflop_s:.0f} GFLOP/s), fast '
      f'{clip["fast_gflops_per_256_frames"]:.1f} GFLOP; model share of the '
      f'clip pipeline {100 * model_share:.0f}%',
      f'- MIR-1K test, {mir["clips"]} clips from 16 kHz flac, after '
      f'compiling ({mir["compile_s"]:.1f} s; compiles while timed: '
      f'{mir["compiles_while_timed"]}): {_stage_line(mir)}'])
  print(body)
  if not args.no_results:
    update_results('Inference speed (inference_speed.py)', body)


if __name__ == '__main__':
  main()
