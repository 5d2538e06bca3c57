"""Tests of jaxmelody.inference.api (the Python API) and predict_files (outputs,
bad input).

A smoke-size model with random weights stands in for the pretrained one, so
these tests check plumbing and error handling, not melody accuracy.
"""

import os
import pathlib

import numpy as np
import pytest
import soundfile as sf

from conftest import load_config
from jaxmelody.apps import inputs
from jaxmelody.apps import prefetch
from jaxmelody.apps import write_files
from jaxmelody.data import synth
from jaxmelody import errors
from jaxmelody.frontend.feature_config import FEATURES
from jaxmelody.frontend import pitch
from jaxmelody.inference import api
from jaxmelody.inference import decoding



@pytest.fixture(scope='module')
def setup(tmp_path_factory, save_random_weights):
  """(config, checkpoint folder, folder of test audio files)."""
  config = load_config('smoke')
  ckpt = tmp_path_factory.mktemp('pretrained')
  save_random_weights(config.model, ckpt)

  audio = tmp_path_factory.mktemp('audio')
  sf.write(audio / 'good.wav', synth.synthesize(1, 1.0).audio, 16000)
  stereo = synth.synthesize(2, 0.6, sr=44100).audio
  sf.write(audio / 'stereo44k.wav', np.stack([stereo, 0.5 * stereo], 1), 44100)
  sf.write(audio / 'rate8k.flac', synth.synthesize(3, 0.6, sr=8000).audio, 8000)
  sf.write(audio / 'rate48k.wav', synth.synthesize(4, 0.6, sr=48000).audio,
           48000)
  sf.write(audio / 'silence.wav', np.zeros(8000, np.float32), 16000)
  nan = synth.synthesize(5, 0.5).audio
  nan[100:200] = np.nan
  sf.write(audio / 'nan.wav', nan, 16000, subtype='FLOAT')
  sf.write(audio / 'short.wav', np.zeros(300, np.float32), 16000)
  (audio / 'empty.wav').write_bytes(b'')
  (audio / 'text.wav').write_text('not audio at all\n' * 50)
  return config, str(ckpt), audio


def run(setup, audio, out, **kwargs):
  config, ckpt, _ = setup
  return write_files.run_predict(config, audio=str(audio), output_dir=str(out),
                             checkpoint=ckpt, **kwargs)


def read_csv(path):
  lines = pathlib.Path(path).read_text().splitlines()
  assert lines[0] == '# time_s,f0_hz'
  rows = [line.split(',') for line in lines[1:]]
  return [r[0] for r in rows], np.array([float(r[1]) for r in rows])


def test_csv_png_and_wav_of_one_file(setup, tmp_path):
  audio = setup[2] / 'good.wav'
  assert run(setup, audio, tmp_path, plot=True, sonify=True) == 0
  assert sorted(os.listdir(tmp_path)) == ['good.csv', 'good.melody.wav',
                                          'good.png']
  times, f0 = read_csv(tmp_path / 'good.csv')
  n_frames = FEATURES.n_frames(16000)
  assert len(times) == n_frames and times[0] == '0.016'
  assert all(len(t.split('.')[1]) == 3 for t in times)
  np.testing.assert_allclose([float(t) for t in times],
                             FEATURES.frame_times(n_frames))
  assert np.isin(np.round(f0, 3), np.round(pitch.CLASS_HZ, 3)).all()
  assert (tmp_path / 'good.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
  mix, sr = sf.read(tmp_path / 'good.melody.wav')
  assert sr == 16000 and len(mix) == 16000
  assert 0 < np.max(np.abs(mix)) <= 0.91  # normalised, no clipping


def test_sonify_writes_at_the_inputs_rate(setup, tmp_path):
  assert run(setup, setup[2] / 'stereo44k.wav', tmp_path, sonify=True) == 0
  mix, sr = sf.read(tmp_path / 'stereo44k.melody.wav')
  assert sr == 44100 and mix.shape == (sf.info(
      setup[2] / 'stereo44k.wav').frames,)


def test_stereo_and_other_rates_are_handled(setup, tmp_path):
  names = ['stereo44k.wav', 'rate8k.flac', 'rate48k.wav']
  audio = ','.join(str(setup[2] / n) for n in names)
  assert run(setup, audio, tmp_path) == 0
  for name in names:
    times, f0 = read_csv(tmp_path / (pathlib.Path(name).stem + '.csv'))
    assert abs(len(times) - FEATURES.n_frames(9600)) <= 1  # 0.6 s at 16 kHz
    assert np.isfinite(f0).all()


def test_silence_is_processed_without_nan(setup, tmp_path):
  assert run(setup, setup[2] / 'silence.wav', tmp_path) == 0
  _, f0 = read_csv(tmp_path / 'silence.csv')
  assert len(f0) == FEATURES.n_frames(8000) and np.isfinite(f0).all()
  melody = api.extract_melody(np.zeros(8000), 16000, config=setup[0],
                              checkpoint=setup[1])
  assert np.isfinite(melody.voicing).all()


@pytest.mark.parametrize('name, message', [
    ('missing.wav', 'does not exist'),
    ('empty.wav', 'empty'),
    ('text.wav', 'cannot decode'),
    ('short.wav', 'too short'),
    ('nan.wav', 'NaN'),
])
def test_one_bad_file_raises_and_writes_nothing(setup, tmp_path, name,
                                                message):
  with pytest.raises(errors.AudioError, match=message):
    run(setup, setup[2] / name, tmp_path)
  assert os.listdir(tmp_path) == []


def test_folder_without_audio_raises(setup, tmp_path):
  folder = tmp_path / 'notes'
  folder.mkdir()
  (folder / 'readme.txt').write_text('no audio here')
  with pytest.raises(errors.AudioError, match='no audio files'):
    run(setup, folder, tmp_path / 'out')


def test_batch_reports_bad_files_and_processes_the_rest(setup, tmp_path):
  reported = []
  bad = ['empty.wav', 'nan.wav', 'text.wav', 'missing.wav']
  audio = ','.join(str(setup[2] / n) for n in ['good.wav'] + bad)
  status = write_files.run_predict(setup[0], audio=audio, output_dir=str(tmp_path),
                               checkpoint=setup[1], plot=True,
                               report=reported.append)
  assert status == 1
  assert sorted(os.listdir(tmp_path)) == ['good.csv', 'good.png']
  assert len(reported) == len(bad)
  for error, name in zip(reported, bad):
    assert isinstance(error, errors.JaxMelodyError) and name in str(error)
  with pytest.raises(errors.AudioError, match='none of the 2 inputs'):
    write_files.run_predict(setup[0], audio=','.join(str(setup[2] / n)
                                                 for n in bad[:2]),
                        output_dir=str(tmp_path), checkpoint=setup[1],
                        report=reported.append)


def test_unwritable_output_folder_raises(setup, tmp_path):
  blocker = tmp_path / 'file.txt'
  blocker.write_text('a file, so no folder can be made under it')
  for target in (blocker, blocker / 'sub'):
    with pytest.raises(errors.ConfigError) as caught:
      run(setup, setup[2] / 'good.wav', target)
    assert str(caught.value).startswith(
        f'{target}: cannot be the output folder: {blocker} is a file')
  if os.geteuid() != 0:  # root ignores permissions
    locked = tmp_path / 'locked'
    locked.mkdir(mode=0o500)
    with pytest.raises(errors.JaxMelodyError, match='cannot write'):
      run(setup, setup[2] / 'good.wav', locked)


def test_folder_glob_and_list_expand_sorted(setup):
  folder = setup[2]
  paths, problems = inputs.expand_audio(str(folder))
  names = [os.path.basename(p) for p in paths]
  assert names == sorted(names) and 'good.wav' in names and not problems
  assert all(n.endswith(('.wav', '.flac')) for n in names)
  paths, _ = inputs.expand_audio(str(folder / 'rate*'))
  assert [os.path.basename(p) for p in paths] == ['rate48k.wav', 'rate8k.flac']
  paths, problems = inputs.expand_audio(f'{folder / "good.wav"},'
                                        f'{folder / "zz*.wav"}')
  assert len(paths) == 1 and 'no file matches' in str(problems[0])
  assert inputs.expand_audio('', default='d.wav')[0] == ['d.wav']
  assert inputs.stems(['a/x.wav', 'b/x.flac']) == ['x', 'x-2']
  # A file whose own stem is x-2 never shares an output with a renamed x.
  assert inputs.stems(['a/x.wav', 'b/x.wav', 'c/x-2.wav']) == [
      'x', 'x-2', 'x-2-2']
  assert inputs.stems(['c/x-2.wav', 'a/x.wav', 'b/x.wav']) == [
      'x-2', 'x', 'x-3']


def test_demo_clip_is_bundled_and_default(setup, tmp_path):
  assert api.DEMO_AUDIO.is_file()
  assert api.DEMO_AUDIO.stat().st_size < 200_000
  assert run(setup, '', tmp_path) == 0
  times, _ = read_csv(tmp_path / 'demo.csv')
  assert len(times) == FEATURES.n_frames(len(sf.read(api.DEMO_AUDIO)[0]))


def test_extract_melody_api(setup):
  config, ckpt, audio = setup
  with pytest.raises(errors.AudioError, match='sample rate'):
    api.extract_melody(np.zeros(16000), config=config, checkpoint=ckpt)
  from_path = api.extract_melody(audio / 'good.wav', config=config,
                                 checkpoint=ckpt)
  model = api.get_model(config, ckpt)
  traces = model.traces
  samples, sr = sf.read(audio / 'good.wav')
  from_array = api.extract_melody(samples, sr, config=config,
                                  checkpoint=ckpt)
  assert api.get_model(config, ckpt) is model and model.traces == traces
  np.testing.assert_allclose(from_array.f0_hz, from_path.f0_hz)
  assert len(from_path.times) == len(from_path.f0_hz) == len(
      from_path.voicing) == FEATURES.n_frames(len(samples))
  with pytest.raises(AttributeError):
    from_path.f0_hz = None  # frozen


def test_prepare_leaves_nothing_to_compile_and_results_unchanged(setup):
  config, ckpt, _ = setup
  # A fresh model, so that the clip's pad lengths are not compiled yet.
  model = api.get_model(config.copy_and_resolve_references(), ckpt)
  samples = synth.synthesize(6, 6.0).audio  # 374 frames: windows
  before = api.melody_of(samples, model)[0].f0_hz
  fresh = api.engine.InferenceModel(config.model, model.variables,
                                    pad_lengths=config.eval.pad_lengths)
  api.prepare(fresh, len(samples))
  traces = fresh.traces
  assert traces >= 1
  np.testing.assert_array_equal(api.melody_of(samples, fresh)[0].f0_hz,
                                before)
  assert fresh.traces == traces


def test_prefetching_loader_writes_the_same_files(setup, tmp_path):
  config, _, audio = setup
  names = [str(audio / n) for n in ('good.wav', 'stereo44k.wav', 'text.wav')]
  assert run(setup, ','.join(names), tmp_path / 'plain') == 1
  with prefetch.AudioLoader(names, res_type=config.data.res_type,
                            worker=False) as loader:
    assert run(setup, ','.join(names), tmp_path / 'ahead',
               loader=loader) == 1
  for stem in ('good', 'stereo44k'):
    assert ((tmp_path / 'plain' / f'{stem}.csv').read_text()
            == (tmp_path / 'ahead' / f'{stem}.csv').read_text())


def test_csv_loads_with_mir_eval_numpy_and_pandas(setup, tmp_path):
  import mir_eval  # pylint: disable=g-import-not-at-top
  import pandas as pd  # pylint: disable=g-import-not-at-top
  assert run(setup, setup[2] / 'good.wav', tmp_path, confidence=True) == 0
  path = str(tmp_path / 'good.csv')
  times, f0 = mir_eval.io.load_time_series(path, delimiter=',')
  table = np.loadtxt(path, delimiter=',')
  frame = pd.read_csv(path, comment='#', names=['time_s', 'f0_hz'])
  n_frames = FEATURES.n_frames(16000)
  assert len(times) == len(table) == len(frame) == n_frames
  np.testing.assert_allclose(table[:, 1], f0)
  np.testing.assert_allclose(frame['f0_hz'], f0)
  confidence_path = tmp_path / 'good.confidence.csv'
  assert confidence_path.read_text().startswith(
      '# time_s,f0_hz,confidence\n')
  conf = np.loadtxt(confidence_path, delimiter=',')
  np.testing.assert_allclose(conf[:, :2], table)  # CREPE's one-file layout
  assert np.all((conf[:, 2] >= 0) & (conf[:, 2] <= 1))
  frame = pd.read_csv(confidence_path, comment='#',
                      names=['time_s', 'f0_hz', 'confidence'])
  np.testing.assert_allclose(frame['confidence'], conf[:, 2])


@pytest.mark.parametrize('decoder', ['argmax', 'viterbi'])
@pytest.mark.parametrize('threshold', [None, 0.3])
def test_written_confidence_is_what_the_decision_used(setup, tmp_path,
                                                      decoder, threshold):
  """Argmax: the written confidence against 0.5 (or P) is the decision;
  Viterbi: its on/off chain over the written confidence is."""
  import librosa  # pylint: disable=g-import-not-at-top
  assert run(setup, setup[2] / 'good.wav', tmp_path, confidence=True,
             decoder=decoder, voicing_threshold=threshold) == 0
  rows = np.loadtxt(tmp_path / 'good.confidence.csv', delimiter=',')
  f0, conf = rows[:, 1], rows[:, 2]
  cut = threshold or 0.5
  if decoder == 'argmax':
    clear = np.abs(conf - cut) > 1e-4  # away from the printed rounding
    voiced = conf >= cut if threshold else conf > cut
    np.testing.assert_array_equal((f0 > 0)[clear], voiced[clear])
  else:
    melody = api.extract_melody(str(setup[2] / 'good.wav'),
                                config=setup[0], checkpoint=setup[1],
                                decoder=decoder,
                                voicing_threshold=threshold)
    np.testing.assert_allclose(melody.confidence, conf, atol=5e-5)
    chain = librosa.sequence.viterbi_binary(
        melody.confidence[None], librosa.sequence.transition_loop(
            2, 1 - decoding.VITERBI_SWITCH), p_state=cut)[0]
    np.testing.assert_array_equal(f0 > 0, chain > 0)


def test_midi_and_decoder_options(setup, tmp_path):
  import pretty_midi  # pylint: disable=g-import-not-at-top
  audio = setup[2] / 'good.wav'
  assert run(setup, audio, tmp_path / 'a', midi=True) == 0
  song = pretty_midi.PrettyMIDI(str(tmp_path / 'a' / 'good.mid'))
  assert len(song.instruments) == 1
  assert run(setup, audio, tmp_path / 'v', decoder='viterbi',
             voicing_threshold=0.99) == 0
  _, f0 = read_csv(tmp_path / 'v' / 'good.csv')
  _, f0_argmax = read_csv(tmp_path / 'a' / 'good.csv')
  assert len(f0) == len(f0_argmax)
  # A 0.99 threshold voices no more frames than the model's own argmax.
  assert np.count_nonzero(f0) <= np.count_nonzero(f0_argmax)
  with pytest.raises(errors.ConfigError, match='decoder'):
    run(setup, audio, tmp_path / 'x', decoder='beam')
