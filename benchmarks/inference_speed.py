"""End-to-end CPU inference speed: real-time factor, stage shares, peak RSS.

Usage (from the repository root)::

  python benchmarks/inference_speed.py [--limit 20] [--seconds 60] \
      [--checkpoint path/to/weights.pkl]

Runs ``extract_melody``'s pipeline (decode + resample, CFP, model, argmax
decoding) with configs/dense10.py (running-average BatchNorm) and the
authors' released weights (there is no bundled pretrained model yet) on

- clip: a 60 s mixture from ``jaxmelody.synth`` (several seeds joined) written
  as a 44.1 kHz wav, so resampling is exercised; one warm-up call, then best
  of ``--repeats``; plus the model alone in frames/s;
- mir1k: the MIR-1K test set (260 clips of leon, yifen, stool, titon,
  tammy), or its first ``--limit`` clips, after compiling every pad length.

Each measurement runs in its own subprocess, so its peak RSS (ru_maxrss) is
its own. Real-time factor = audio seconds / wall seconds (higher is faster).
Prints the figures and rewrites this script's section of
benchmarks/RESULTS.md. The helpers ``machine_info`` and ``update_results``
are shared with the other benchmark scripts.
"""

import argparse
import datetime
import json
import os
import pathlib
import platform
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / 'benchmarks' / 'RESULTS.md'
SHARED = ROOT.parent / 'shared'
RELEASED = (SHARED / 'reference' / 'msfcn' /
            'train_single_for_pitch_epoch_22.pkl')
MIR1K_TEST_SINGERS = ('leon', 'yifen', 'stool', 'titon', 'tammy')
STAGES = ('load', 'cfp', 'model', 'decode')


def load_avg() -> str:
  """The 1/5/15-minute load averages as ``uptime`` prints them."""
  return ', '.join(f'{x:.2f}' for x in os.getloadavg())


def machine_info() -> str:
  """One line: cores, CPU model, jax version and backend, date."""
  import jax  # pylint: disable=g-import-not-at-top
  info = {}
  with open('/proc/cpuinfo', encoding='utf-8') as f:
    for line in f:
      key, _, value = line.partition(':')
      info.setdefault(key.strip(), value.strip())
  cpu = (f'{info.get("model name", platform.processor())} (family '
         f'{info.get("cpu family", "?")} model {info.get("model", "?")}, '
         f'{float(info.get("cpu MHz", 0)):.0f} MHz)')
  date = datetime.datetime.now().strftime('%Y-%m-%d %H:%M')
  return (f'{os.cpu_count()} cores (nproc), {cpu}; jax {jax.__version__}, '
          f'backend {jax.default_backend()}; {date}')


def update_results(section: str, body: str) -> None:
  """Rewrites the ``## section`` of RESULTS.md, keeping every other section."""
  text = RESULTS.read_text(encoding='utf-8') if RESULTS.exists() else (
      '# Benchmark results\n\nWritten by the scripts in benchmarks/ (each '
      'rewrites its own section).\n')
  head = f'## {section}'
  block = f'{head}\n\n{body.strip()}\n'
  parts = text.split('\n## ')
  kept = [parts[0].rstrip() + '\n'] + ['## ' + p.rstrip() + '\n'
                                       for p in parts[1:]]
  idx = next((i for i, p in enumerate(kept) if p.startswith(head + '\n')),
             None)
  if idx is None:
    kept.append(block)
  else:
    kept[idx] = block
  RESULTS.write_text('\n'.join(kept), encoding='utf-8')


def peak_rss_mib() -> float:
  """Peak resident memory of this process (Linux ru_maxrss is in KiB)."""
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed_extract(path, model) -> tuple[float, dict[str, float]]:
  """Runs one file through the pipeline: (audio s, {stage: seconds})."""
  from jaxmelody import audio, cfp, pitch  # pylint: disable=g-import-not-at-top
  t = [time.perf_counter()]
  samples = audio.load_audio(path)  # decode + resample to 16 kHz (polyphase)
  t.append(time.perf_counter())
  feats = cfp.compute_cfp(samples)
  t.append(time.perf_counter())
  logits = model.logits(feats)  # jitted forward, result back on the host
  t.append(time.perf_counter())
  pitch.decode(logits)
  t.append(time.perf_counter())
  seconds = len(samples) / 16000
  return seconds, {s: t[i + 1] - t[i] for i, s in enumerate(STAGES)}


def _model(checkpoint):
  from jaxmelody import predict  # pylint: disable=g-import-not-at-top
  config = predict.default_config()  # dense10, running BatchNorm
  return config, predict.get_model(config, checkpoint)


def worker_clip(args) -> dict:
  """The 60 s clip at 44.1 kHz: warm-up, best of repeats, model alone."""
  import soundfile as sf  # pylint: disable=g-import-not-at-top
  # pylint: disable-next=g-import-not-at-top
  from jaxmelody import cfp, models, predict, synth
  sr, each = 44100, 6.0
  audio = np.concatenate([synth.synthesize(seed, each, sr=sr).audio
                          for seed in range(int(np.ceil(args.seconds / each)))])
  audio = audio[:int(args.seconds * sr)]
  with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, 'clip44k.wav')
    sf.write(path, audio, sr, subtype='PCM_16')
    start = time.perf_counter()
    config, model = _model(args.checkpoint)
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    timed_extract(path, model)  # compiles CFP and the model's pad length
    warm_s = time.perf_counter() - start
    runs = [timed_extract(path, model) for _ in range(args.repeats)]
    seconds, stages = min(runs, key=lambda r: sum(r[1].values()))
    start = time.perf_counter()
    predict.extract_melody(path, checkpoint=args.checkpoint, config=config)
    api_s = time.perf_counter() - start
    samples = predict.audio_lib.load_audio(path)
  feats = cfp.compute_cfp(samples)
  n_frames = feats.shape[-1]
  model_runs = []
  for _ in range(args.repeats):
    start = time.perf_counter()
    model.logits(feats)
    model_runs.append(time.perf_counter() - start)
  rss = peak_rss_mib()  # before the FLOP count's extra compile
  gflops = models.forward_gflops(model.model, model.variables, frames=256)
  return {'audio_s': seconds, 'stages': stages, 'load_weights_s': load_s,
          'warmup_s': warm_s, 'extract_melody_s': api_s, 'frames': n_frames,
          'model_frames_per_s': n_frames / min(model_runs),
          'gflops_per_256_frames': gflops, 'peak_rss_mib': rss,
          'load': load_avg()}


def worker_mir1k(args) -> dict:
  """The MIR-1K test clips (or the first --limit), after compiling."""
  from jaxmelody import cfp  # pylint: disable=g-import-not-at-top
  folder = SHARED / 'data' / 'mir1k' / 'Wavfile'
  paths = sorted(p for p in folder.iterdir()
                 if p.name.split('_')[0] in MIR1K_TEST_SINGERS)
  paths = paths[:args.limit] if args.limit else paths
  _, model = _model(args.checkpoint)
  rng = np.random.default_rng(0)
  for n in (200, 600, 1000):  # the CFP chunk and pad lengths 512 and 1024
    model.logits(cfp.compute_cfp(rng.standard_normal(n * 256 + 1000)
                                 .astype(np.float32)))
  total_audio, totals = 0.0, dict.fromkeys(STAGES, 0.0)
  for path in paths:
    seconds, stages = timed_extract(path, model)
    total_audio += seconds
    for s in STAGES:
      totals[s] += stages[s]
  return {'clips': len(paths), 'audio_s': total_audio, 'stages': totals,
          'peak_rss_mib': peak_rss_mib(), 'load': load_avg()}


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
  parser.add_argument('--checkpoint', default=str(RELEASED))
  parser.add_argument('--no_results', action='store_true',
                      help='do not rewrite benchmarks/RESULTS.md')
  parser.add_argument('--worker', choices=('clip', 'mir1k'), default=None,
                      help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.worker:
    result = (worker_clip if args.worker == 'clip' else worker_mir1k)(args)
    print('RESULT ' + json.dumps(result), flush=True)
    return

  load_before = load_avg()
  out = {}
  for part in ('clip', 'mir1k'):
    cmd = [sys.executable, __file__, f'--worker={part}'] + [
        a for a in sys.argv[1:] if a != '--no_results']
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = [l for l in proc.stdout.splitlines() if l.startswith('RESULT ')]
    if proc.returncode or not lines:
      raise SystemExit(f'error: inference_speed: {part} worker failed:\n'
                       f'{proc.stderr[-3000:]}')
    out[part] = json.loads(lines[-1][len('RESULT '):])
  clip, mir = out['clip'], out['mir1k']
  model_share = clip['stages']['model'] / sum(clip['stages'].values())
  gflop_s = (clip['model_frames_per_s'] / 256
             * clip['gflops_per_256_frames'])
  body = '\n'.join([
      f'Command: `python benchmarks/inference_speed.py'
      f'{" " + " ".join(sys.argv[1:]) if sys.argv[1:] else ""}`  ',
      f'Machine: {machine_info()}  ',
      f'Load average before: {load_before}  ',
      f'Weights: {pathlib.Path(args.checkpoint).name} (authors\' release) with '
      'configs/dense10.py (running BatchNorm averages).', '',
      f'- {args.seconds:.0f} s clip, 44.1 kHz wav, best of {args.repeats} '
      'after '
      f'one warm-up ({clip["warmup_s"]:.1f} s incl. compile; weights load '
      f'{clip["load_weights_s"]:.1f} s): {_stage_line(clip)}',
      f'- same clip through `jaxmelody.extract_melody` (warm): '
      f'{clip["extract_melody_s"]:.2f} s, real-time factor '
      f'{clip["audio_s"] / clip["extract_melody_s"]:.1f}x',
      f'- model alone: {clip["model_frames_per_s"]:.0f} frames/s '
      f'({clip["frames"]} frames, padded to the next pad length; '
      f'{clip["gflops_per_256_frames"]:.1f} GFLOP per 256 frames by XLA\'s '
      f'count, i.e. {gflop_s:.0f} '
      f'GFLOP/s); model share of the clip pipeline {100 * model_share:.0f}%',
      f'- MIR-1K test, {mir["clips"]} clips from 16 kHz flac: '
      f'{_stage_line(mir)}',
      '- GPU: not measured (no accelerator was lent to this task).'])
  print(body)
  if not args.no_results:
    update_results('Inference speed (inference_speed.py)', body)


if __name__ == '__main__':
  main()
