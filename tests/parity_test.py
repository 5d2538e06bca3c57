"""Parity with the authors' published per-clip scores (needs ../shared).

The released weights, run with configs/msfcn_released.py's protocol through
our own audio loading, CFP, inference and scoring, must reproduce the
per-clip OA in the authors' CSVs. yifen_2_13 is padded to 1024 frames and
caught a masked-BatchNorm precision bug once; daisy1 is ADC2004 (44.1 kHz,
polyphase resampling, REF at 5.8 ms).
"""

import csv

import numpy as np
import pytest

from configs import msfcn_released
from jaxmelody.frontend import audio
from jaxmelody.frontend import cfp
from jaxmelody.frontend import pitch
from jaxmelody.inference import engine
from jaxmelody.inference import evaluate
from jaxmelody.model import released_weights

CLIPS = [('mir1k', 'leon_1_01'), ('mir1k', 'yifen_2_13'),
         ('adc2004', 'daisy1'), ('adc2004', 'pop3')]
CSV = {'mir1k': 'test_result_of_MIR1K.csv',
       'adc2004': 'test_result_of_ADC2004.csv'}


@pytest.fixture(scope='module')
def released(request):
  shared = request.getfixturevalue('shared_dir')
  config = msfcn_released.get_config()
  variables = released_weights.import_msfcn_checkpoint(
      shared / 'reference/msfcn/train_single_for_pitch_epoch_22.pkl')
  return shared, config, engine.from_config(config, variables)


def _published_oa(shared, corpus, clip):
  with open(shared / 'reference/msfcn' / CSV[corpus], encoding='utf-8') as f:
    return {row['Songname']: float(row['OA']) for row in csv.DictReader(f)}[clip]


@pytest.mark.slow
@pytest.mark.parametrize('corpus,clip', CLIPS)
def test_released_weights_reproduce_published_clip_oa(released, corpus, clip):
  shared, config, model = released
  root = shared / 'data' / corpus
  if corpus == 'mir1k':
    samples = audio.load_audio(root / 'Wavfile' / f'{clip}.flac')
    times, f0 = pitch.read_pv(root / 'PitchLabel' / f'{clip}.pv',
                              offset_s=config.data.mir1k_label_offset_s)
  else:
    samples = audio.load_audio(root / f'{clip}.wav',
                               res_type=config.data.res_type)
    times, f0 = pitch.read_ref(root / f'{clip}REF.txt')
  features = cfp.compute_cfp(samples)
  frame_times = cfp.frame_times(features.shape[-1])
  reference = pitch.resample_reference(times, f0, frame_times)
  estimate = np.floor(model.melody(features)[0])  # their whole-Hz output
  oa = evaluate.score_clip(frame_times, reference, estimate)['OA']
  # Measured: MIR-1K clips match to 0.01; ADC2004 clips differ by up to
  # ~0.3 (the authors' own code on these files gives 0.13 on average).
  tolerance = 0.05 if corpus == 'mir1k' else 0.5
  assert abs(oa - _published_oa(shared, corpus, clip)) <= tolerance
