"""Essentia's Melodia beside dense10: accuracy and speed, one scoring path.

Usage (from the repository root; ``pip install essentia`` first)::

  python -m experiments.melodia_compare [--limit 10] [--sets mir1k,adc2004]

Sets: MIR-1K ``test`` (260 clips of leon, yifen, stool, titon, tammy; labels
``pitch.read_pv(offset_s=0.02)``, the centred timing of configs/dense10.py)
and ADC2004 ``test`` (the 12 vocal clips; ``pitch.read_ref``). Methods:

- melodia: ``EqualLoudness`` + ``PredominantPitchMelodia`` with its defaults
  (44.1 kHz input, frame 2048, hop 128; MIR-1K's 16 kHz audio is upsampled
  with the same polyphase resampler); output frame i is at i * 128 / 44100 s
  and is put onto our 16 ms frame times with ``pitch.resample_reference``;
- dense10 (running BN): the weights of ``--checkpoint`` (default: the
  authors' released ``.pkl``) through our pipeline with configs/dense10.py
  (running BatchNorm averages);
- dense10 (batch BN): the same weights with configs/msfcn_released.py's
  test-time BatchNorm (piece statistics, 3120-frame pieces, whole-Hz
  estimates) but the centred labels above (skip with ``--no_batch_bn``).

Every method is scored by ``evaluate.score_clip`` against the reference
resampled onto the frame times of our CFP (mean of per-clip percentages).
Speed is audio seconds / wall seconds per method, including audio loading and
resampling (the batch-BN row shares the running row's load and CFP time).
Prints the tables and rewrites this script's section of benchmarks/RESULTS.md.
"""

import argparse
import os
import pathlib
import sys
import time

import numpy as np

if __name__ == '__main__' and not __package__:
  # `python experiments/melodia_compare.py` from the repository root: rerun as
  # the module, so that the repository's packages import.
  os.execv(sys.executable,
           [sys.executable, '-m', 'experiments.melodia_compare', *sys.argv[1:]])
# pylint: disable=wrong-import-position
from benchmarks.report import (RELEASED, ROOT, SHARED, load_avg,
                                        machine_info, update_results)
from datasets_builders import splits
from jaxmelody.frontend import audio as audio_lib
from jaxmelody.frontend import cfp as cfp_lib
from jaxmelody.frontend.feature_config import FEATURES
from jaxmelody.frontend import pitch
from jaxmelody.inference import api
from jaxmelody.inference import engine
from jaxmelody.inference import evaluate
from jaxmelody.inference import weights

MELODIA_SR, MELODIA_HOP = 44100, 128


def _label(checkpoint) -> str:
  """The weights used, as a path relative to the repository root."""
  return os.path.relpath(pathlib.Path(checkpoint).resolve(), ROOT)


def clips(name: str):
  """(audio path, reference reader) pairs of a test set, sorted."""
  data = SHARED / 'data'
  if name == 'mir1k':
    return [(p, lambda p=p: pitch.read_pv(
        data / 'mir1k' / 'PitchLabel' / f'{p.stem}.pv', offset_s=0.02))
            for p in sorted((data / 'mir1k' / 'Wavfile').iterdir())
            if splits.mir1k_split(p.stem) == 'test']
  return [(data / 'adc2004' / f'{n}.wav',
           lambda n=n: pitch.read_ref(data / 'adc2004' / f'{n}REF.txt'))
          for n in splits.ADC2004_VOCAL]


class Melodia:
  """Essentia's predominant melody extractor with its default parameters."""

  def __init__(self):
    import essentia
    import essentia.standard as es
    essentia.log.infoActive = False
    self.loudness = es.EqualLoudness(sampleRate=MELODIA_SR)
    self.melodia = es.PredominantPitchMelodia(sampleRate=MELODIA_SR,
                                              hopSize=MELODIA_HOP)

  def __call__(self, path) -> tuple[np.ndarray, np.ndarray]:
    """(times float64 [N], f0_hz float64 [N]) of one file, 0 Hz = unvoiced."""
    return self.track(audio_lib.load_audio(path, sr=MELODIA_SR))

  def track(self, samples) -> tuple[np.ndarray, np.ndarray]:
    """Like ``__call__`` for float32 samples [n] at 44.1 kHz."""
    f0, _ = self.melodia(self.loudness(samples))
    f0 = np.maximum(np.asarray(f0, np.float64), 0.0)
    return np.arange(len(f0)) * MELODIA_HOP / MELODIA_SR, f0


def run_set(name, methods, limit) -> tuple[dict, dict, int, float]:
  """Scores every method on one set: ({method: means}, {method: rtf}, n, s)."""
  items = clips(name)[:limit or None]
  scores = {m: [] for m in methods}
  wall = dict.fromkeys(methods, 0.0)
  audio_s = 0.0
  for path, read_reference in items:
    start = time.perf_counter()
    samples = audio_lib.load_audio(path)
    feats = cfp_lib.compute_cfp(samples)
    shared_s = time.perf_counter() - start
    frame_times = FEATURES.frame_times(feats.shape[-1])
    ref = pitch.resample_reference(*read_reference(), frame_times)
    audio_s += len(samples) / FEATURES.sample_rate
    for method, run in methods.items():
      start = time.perf_counter()
      if method == 'melodia':
        est = pitch.resample_reference(*run(path), frame_times)
      else:
        est = run(feats)
        wall[method] += shared_s
      wall[method] += time.perf_counter() - start
      scores[method].append(evaluate.score_clip(frame_times, ref, est))
  means = {m: evaluate.mean_over_clips(rows) for m, rows in scores.items()}
  return means, {m: audio_s / wall[m] for m in methods}, len(items), audio_s


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--limit', type=int, default=0,
                      help='clips per set (0 = all: 260 MIR-1K, 12 ADC2004)')
  parser.add_argument('--sets', default='mir1k,adc2004')
  parser.add_argument('--checkpoint', default=str(RELEASED))
  parser.add_argument('--no_batch_bn', action='store_true')
  parser.add_argument('--no_results', action='store_true',
                      help='do not rewrite benchmarks/RESULTS.md')
  args = parser.parse_args()

  config = api.default_config()
  variables = weights.resolve_variables(args.checkpoint, config)
  running = engine.from_config(config, variables)
  methods = {'melodia': Melodia(),
             'dense10 (running BN)': lambda f: running.melody(f)[0]}
  if not args.no_batch_bn:
    batch = engine.InferenceModel(
        config.model, variables, pad_lengths=config.eval.pad_lengths,
        piece_frames=3120, bn_inference='batch')
    methods['dense10 (batch BN)'] = lambda f: np.floor(batch.melody(f)[0])
  rng = np.random.default_rng(0)
  for n in (200, 600, 1000, 1900, 3900):  # compile CFP and every pad length
    feats = cfp_lib.compute_cfp(
        rng.standard_normal(n * 256 + 1000).astype(np.float32))
    for method, run in methods.items():
      if method != 'melodia':
        run(feats)
  methods['melodia'].track(rng.standard_normal(5 * MELODIA_SR)
                           .astype(np.float32))

  load_before = load_avg()
  lines = [
      f'Command: `python -m experiments.melodia_compare'
      f'{" " + " ".join(sys.argv[1:]) if sys.argv[1:] else ""}`  ',
      f'Machine: {machine_info()}  ', f'Load average before: {load_before}  ',
      'Melodia: essentia EqualLoudness + PredominantPitchMelodia defaults at '
      '44.1 kHz (frame 2048, hop 128). dense10: '
      f'{_label(args.checkpoint)}. Labels: '
      'MIR-1K centred (0.02 i + 0.02 s), ADC2004 REF; all scored on our 16 ms '
      'grid with mir_eval (mean of per-clip %). Speed = audio s / wall s '
      '(real-time factor), including loading and resampling.']
  for name in args.sets.split(','):
    means, rtf, n, audio_s = run_set(name, methods, args.limit)
    lines += ['', f'{name} test, {n} clips, {audio_s:.0f} s of audio '
              f'(load avg after: {load_avg()}):', '',
              '| method | VR | VFA | RPA | RCA | OA | real-time factor |',
              '|---|---|---|---|---|---|---|']
    lines += [f'| {m} | ' + ' | '.join(f'{means[m][k]:.2f}'
                                       for k in evaluate.METRICS)
              + f' | {rtf[m]:.1f}x |' for m in methods]
    print('\n'.join(lines[-len(methods) - 4:]), flush=True)
  body = '\n'.join(lines)
  print(body)
  if not args.no_results:
    update_results('Melodia comparison (melodia_compare.py)', body)


if __name__ == '__main__':
  main()
