"""Packs MIR-1K train and the wheels into .carry/ for one GPU-machine call.

Usage (from the repository root)::

  python scripts/pack_for_device.py [--mir1k ../shared/data/mir1k] \
      [--out .carry] [--kbps 48] [--cfp_clips 3]

The GPU machine these scripts target sees only the working tree plus at most 64 MiB of
carried, git-ignored paths, and MIR-1K train is ~147 MB of FLAC. So this
writes (into ``--out``, ignored by git):

  mir1k/Wavfile/<clip>.ogg   the 740 train clips (every singer except the
                             five test singers) as Opus in OGG, 16 kHz mono
  mir1k/PitchLabel/<clip>.pv their labels, byte for byte
  wheels/                    ../shared/device-wheels plus --extra_wheels
                             (tensorboardX, cffi, pycparser: missing there)

The test singers never travel: test scores are computed locally, on the
lossless originals. It prints the bitrate, the total size with the git
working tree against the 64 MiB limit, and how much the Opus round trip
changes the CFP of a few clips (what the model trains on).
"""

import argparse
import concurrent.futures
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import soundfile as sf

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
# pylint: disable=g-import-not-at-top,wrong-import-position
from datasets_builders.mir1k import mir1k_dataset_builder as mir1k
from jaxmelody.errors import DatasetError
from jaxmelody.frontend import audio as audio_lib
from jaxmelody.frontend import cfp as cfp_lib
from jaxmelody.frontend.feature_config import FEATURES

LIMIT_BYTES = 64 << 20  # what one device call may carry, tree included
# Imported by jaxmelody (tensorboardX) or soundfile (cffi, which needs
# pycparser) and absent from both the GPU machine and ../shared/device-wheels.
EXTRA_WHEELS = ('tensorboardx', 'cffi', 'pycparser')
# libsndfile maps compression_level in [0, 1] linearly onto an Opus target
# of 256 kbps (0) down to 6 kbps (1) per file; the script prints the
# bitrate the files actually reach.
_OPUS_MAX_KBPS, _OPUS_MIN_KBPS = 256.0, 6.0


def opus_level(kbps: float) -> float:
  """soundfile's compression_level for an Opus target bitrate (kbit/s)."""
  if not _OPUS_MIN_KBPS <= kbps <= _OPUS_MAX_KBPS:
    raise ValueError(f'--kbps: {kbps} is outside Opus\' '
                     f'{_OPUS_MIN_KBPS:g}-{_OPUS_MAX_KBPS:g} kbps')
  return (_OPUS_MAX_KBPS - kbps) / (_OPUS_MAX_KBPS - _OPUS_MIN_KBPS)


def train_clips(wav_dir: pathlib.Path) -> list[pathlib.Path]:
  """Audio files of the MIR-1K train singers, sorted by track id."""
  files = sorted(p for p in wav_dir.iterdir()
                 if p.suffix.lower() in audio_lib.AUDIO_EXTENSIONS)
  if not files:
    raise DatasetError(f'{wav_dir}: no audio files (expected MIR-1K Wavfile/)')
  return [p for p in files if mir1k.singer(p.stem) not in mir1k.TEST_SINGERS]


def encode_opus(src: pathlib.Path, dst: pathlib.Path, kbps: float) -> float:
  """Writes ``src`` as 16 kHz mono Opus; returns its duration in seconds.

  The audio is the builder's own input (``load_audio``: mono by channel
  mean, 16 kHz), so decoding the file is the only step that differs.
  """
  samples = audio_lib.load_audio(src)
  sf.write(dst, samples, FEATURES.sample_rate, format='OGG',
           subtype='OPUS', compression_level=opus_level(kbps))
  return len(samples) / FEATURES.sample_rate


def cfp_roundtrip(src: pathlib.Path, packed: pathlib.Path) -> dict:
  """How much the Opus round trip changes a clip's CFP.

  Returns:
    {'max_abs', 'mean_abs', 'rel_l2' (||a - b|| / ||a||), 'frames'}; the CFP
    of each file is the builder's ([3, 256, T], float32).
  """
  a = cfp_lib.compute_cfp(audio_lib.load_audio(src))
  b = cfp_lib.compute_cfp(audio_lib.load_audio(packed))
  if a.shape != b.shape:
    raise DatasetError(f'{packed}: CFP has {b.shape[-1]} frames after the '
                       f'Opus round trip, {a.shape[-1]} before')
  diff = np.abs(a - b)
  return {'max_abs': float(diff.max()), 'mean_abs': float(diff.mean()),
          'rel_l2': float(np.linalg.norm(a - b) / np.linalg.norm(a)),
          'frames': a.shape[-1]}


def tree_bytes(repo: pathlib.Path = REPO) -> int:
  """Bytes of what travels besides carried paths: tracked + untracked files."""
  listed = subprocess.run(
      ['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
      cwd=repo, capture_output=True, check=True).stdout.split(b'\0')
  paths = (repo / p.decode() for p in listed if p)
  return sum(p.stat().st_size for p in paths if p.is_file())


def folder_bytes(folder: pathlib.Path) -> int:
  return sum(p.stat().st_size for p in folder.rglob('*') if p.is_file())


def pack(mir1k_dir, out, wheel_dirs, *, kbps=48.0, max_clips=0, workers=2):
  """Writes ``out``/mir1k and ``out``/wheels; returns a summary dict.

  Args:
    mir1k_dir: MIR-1K folder with Wavfile/ and PitchLabel/.
    out: Folder to (re)create.
    wheel_dirs: Folders whose files go into ``out``/wheels.
    kbps: Opus target bitrate.
    max_clips: Pack only the first N train clips (0 = all; for dry runs).
    workers: Encoding threads (libsndfile runs without the GIL).

  Returns:
    {'clips', 'seconds', 'audio_bytes', 'kbps', 'total_bytes', 'files'}.
  """
  mir1k_dir, out = pathlib.Path(mir1k_dir), pathlib.Path(out)
  clips = train_clips(mir1k_dir / 'Wavfile')
  if max_clips:
    clips = clips[:max_clips]
  labels = [mir1k_dir / 'PitchLabel' / f'{p.stem}.pv' for p in clips]
  missing = [p.name for p in labels if not p.is_file()]
  if missing:
    raise DatasetError(f'{mir1k_dir / "PitchLabel"}: {len(missing)} label '
                       f'files missing ({", ".join(missing[:5])})')
  shutil.rmtree(out, ignore_errors=True)
  wav_out, pv_out, whl_out = (out / 'mir1k' / 'Wavfile',
                              out / 'mir1k' / 'PitchLabel', out / 'wheels')
  for folder in (wav_out, pv_out, whl_out):
    folder.mkdir(parents=True)
  packed = [wav_out / f'{p.stem}.ogg' for p in clips]
  with concurrent.futures.ThreadPoolExecutor(workers) as pool:
    seconds = sum(pool.map(encode_opus, clips, packed, [kbps] * len(clips)))
  for label in labels:
    shutil.copy2(label, pv_out / label.name)
  for folder in wheel_dirs:
    for wheel in sorted(pathlib.Path(folder).glob('*')):
      if wheel.is_file() and wheel.suffix in ('.whl', '.gz'):
        shutil.copy2(wheel, whl_out / wheel.name)
  audio_bytes = sum(p.stat().st_size for p in packed)
  return {'clips': clips, 'packed': packed, 'seconds': seconds,
          'audio_bytes': audio_bytes,
          'kbps': audio_bytes * 8 / 1000 / max(seconds, 1e-9),
          'total_bytes': folder_bytes(out)}


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--mir1k', default=str(REPO.parent / 'shared' / 'data' /
                                             'mir1k'))
  parser.add_argument('--out', default=str(REPO / '.carry'))
  parser.add_argument('--wheels', default=str(REPO.parent / 'shared' /
                                              'device-wheels'))
  parser.add_argument('--extra_wheels', default=str(REPO / '.whl'),
                      help='more wheels (EXTRA_WHEELS); skipped if absent')
  parser.add_argument('--kbps', type=float, default=48.0)
  parser.add_argument('--max_clips', type=int, default=0,
                      help='only the first N train clips (0 = all)')
  parser.add_argument('--cfp_clips', type=int, default=3,
                      help='clips whose CFP round trip is measured')
  args = parser.parse_args(argv)
  wheel_dirs = [d for d in (args.wheels, args.extra_wheels)
                if pathlib.Path(d).is_dir()]
  have = {p.name.split('-')[0].lower()
          for d in wheel_dirs for p in pathlib.Path(d).glob('*.whl')}
  missing = [name for name in EXTRA_WHEELS if name not in have]
  if missing:
    print(f'warning: no wheel of {", ".join(missing)} in {args.extra_wheels}: '
          'the GPU machine lacks them; scripts/README.md has the pip line',
          file=sys.stderr)
  s = pack(args.mir1k, args.out, wheel_dirs, kbps=args.kbps,
           max_clips=args.max_clips)
  tree = tree_bytes()
  total = s['total_bytes'] + tree
  print(f'packed {len(s["clips"])} train clips, {s["seconds"]:.0f} s of '
        f'audio: {s["audio_bytes"] / 1e6:.1f} MB of Opus at '
        f'{s["kbps"]:.1f} kbps (target {args.kbps:g})')
  print(f'{args.out}: {s["total_bytes"] / 2**20:.1f} MiB; git working tree '
        f'{tree / 2**20:.1f} MiB; together {total / 2**20:.1f} MiB of the '
        f'{LIMIT_BYTES / 2**20:.0f} MiB a call carries')
  # Spread over the corpus: first, middle and last clip, and so on.
  picks = np.linspace(0, len(s['clips']) - 1, args.cfp_clips).round()
  for i in dict.fromkeys(int(i) for i in picks) if args.cfp_clips else ():
    r = cfp_roundtrip(s['clips'][i], s['packed'][i])
    print(f'CFP round trip {s["clips"][i].stem} ({r["frames"]} frames): '
          f'max |diff| {r["max_abs"]:.4f}, mean |diff| {r["mean_abs"]:.2e}, '
          f'relative L2 {r["rel_l2"]:.4f}')
  if total > LIMIT_BYTES:
    print('error: pack: over the 64 MiB a call carries; lower --kbps',
          file=sys.stderr)
    return 2
  return 0


if __name__ == '__main__':
  sys.exit(main())
