"""Tests for scripts/pack_for_device.py on a synthetic three-clip MIR-1K."""

import numpy as np
import pytest
import soundfile as sf
import tensorflow_datasets as tfds

from datasets_builders.mir1k import mir1k_dataset_builder as mir1k
from jaxmelody.data import synth
from jaxmelody.frontend import audio
from jaxmelody.frontend.feature_config import FEATURES

# Two train singers (one of them a validation singer) and one test singer.
CLIPS = {'abjones_1_01': '.wav', 'Ani_1_01': '.flac', 'leon_1_01': '.wav'}
KBPS = 48.0


@pytest.fixture(scope='module')
def pack_module(load_script):
  return load_script('pack_for_device.py')


@pytest.fixture(scope='module')
def corpus(tmp_path_factory):
  """A MIR-1K-shaped folder: 2 s synthetic clips and their .pv labels."""
  root = tmp_path_factory.mktemp('mir1k')
  (root / 'Wavfile').mkdir()
  (root / 'PitchLabel').mkdir()
  for seed, (track, suffix) in enumerate(CLIPS.items()):
    clip = synth.synthesize(seed, duration_s=2.0)
    sf.write(root / 'Wavfile' / f'{track}{suffix}', clip.audio,
             FEATURES.sample_rate)
    lines = (len(clip.audio) - 640) // 320 + 1  # 40 ms windows, 20 ms hop
    semitones = np.linspace(60.0, 64.0, lines) * (np.arange(lines) % 7 > 1)
    (root / 'PitchLabel' / f'{track}.pv').write_text(
        ''.join(f'{p:.4f}\n' for p in semitones))
  return root


@pytest.fixture(scope='module')
def packed(pack_module, corpus, tmp_path_factory):
  wheels = tmp_path_factory.mktemp('wheels')
  (wheels / 'demo-1.0-py3-none-any.whl').write_bytes(b'not a real wheel')
  out = tmp_path_factory.mktemp('carry')
  summary = pack_module.pack(corpus, out, [wheels], kbps=KBPS, workers=1)
  return out, summary


def test_opus_level_maps_bitrate(pack_module):
  levels = [pack_module.opus_level(k) for k in (6, 48, 64, 256)]
  assert levels[0] == 1.0 and levels[-1] == 0.0
  assert levels == sorted(levels, reverse=True)
  with pytest.raises(ValueError, match='kbps'):
    pack_module.opus_level(300)


def test_packs_train_singers_only(packed, corpus):
  out, summary = packed
  ids = sorted(p.stem for p in (out / 'mir1k' / 'Wavfile').iterdir())
  assert ids == sorted(t for t in CLIPS if mir1k.singer(t) not in
                       mir1k.TEST_SINGERS)
  for track in ids:  # labels byte for byte
    assert ((out / 'mir1k' / 'PitchLabel' / f'{track}.pv').read_bytes() ==
            (corpus / 'PitchLabel' / f'{track}.pv').read_bytes())
  assert [p.name for p in (out / 'wheels').iterdir()] == [
      'demo-1.0-py3-none-any.whl']
  assert summary['total_bytes'] > summary['audio_bytes'] > 0


def test_opus_decodes_at_16k_close_to_original(packed, corpus):
  out, summary = packed
  # 2 s clips carry ~2 kB of OGG/Opus headers, so allow some slack.
  assert 0.8 * KBPS < summary['kbps'] < 1.5 * KBPS
  for path in (out / 'mir1k' / 'Wavfile').iterdir():
    info = sf.info(path)
    assert (info.format, info.subtype) == ('OGG', 'OPUS')
    assert info.samplerate == FEATURES.sample_rate and info.channels == 1
    original = audio.load_audio(
        corpus / 'Wavfile' / f'{path.stem}{CLIPS[path.stem]}')
    decoded = audio.load_audio(path)
    assert decoded.shape == original.shape  # pre-skip and end trimmed
    snr = 10 * np.log10(np.sum(original**2) /
                        np.sum((decoded - original)**2))
    assert snr > 10.0, f'{path.name}: {snr:.1f} dB'


def test_mir1k_builds_from_packed_train_only(packed, tmp_path):
  out, _ = packed
  builder = mir1k.Builder(data_dir=tmp_path)
  builder.download_and_prepare(
      file_format='array_record',
      download_config=tfds.download.DownloadConfig(
          manual_dir=out / 'mir1k'))
  # No test singer was packed, so there is no (empty) test split.
  assert {k: v.num_examples for k, v in builder.info.splits.items()} == {
      'validation': 1, 'fit': 1}  # abjones | Ani
  example = builder.as_data_source('fit')[0]
  assert example['cfp'].shape[:2] == (3, FEATURES.n_bins)
