"""scripts/events_to_csv.py on event files written by tensorboardX."""

import csv

import pytest
import tensorboardX


@pytest.fixture(scope='module')
def events(load_script):
  return load_script('events_to_csv.py')


def _rows(path):
  with open(path, encoding='utf-8') as f:
    return [(int(r['step']), r['tag'], float(r['value']))
            for r in csv.DictReader(f)]


def test_scalars_of_two_sittings_become_one_csv(events, tmp_path):
  for sitting, steps in enumerate(((50, 100), (100, 150))):
    writer = tensorboardX.SummaryWriter(str(tmp_path),
                                        filename_suffix=f'.{sitting}')
    for step in steps:
      writer.add_scalar('train/loss', 1.0 / step + sitting, step)
      if step == 100:
        writer.add_scalar('val/OA', 80.5 + sitting, step)
    writer.close()
  assert events.convert(tmp_path, remove=True) == 4
  rows = _rows(tmp_path / 'scalars.csv')  # 6 significant digits
  # Step 100 was logged in both sittings: the later one wins.
  assert rows == [(50, 'train/loss', pytest.approx(0.02, rel=1e-5)),
                  (100, 'train/loss', pytest.approx(1.01, rel=1e-5)),
                  (100, 'val/OA', 81.5),
                  (150, 'train/loss', pytest.approx(1.0 / 150 + 1, rel=1e-5))]
  assert not list(tmp_path.glob('events.out.tfevents.*'))


def test_a_workdir_without_events_is_left_alone(events, tmp_path):
  assert events.convert(tmp_path, remove=True) == 0
  assert not (tmp_path / 'scalars.csv').exists()


def test_rows_of_earlier_sittings_in_the_csv_are_kept(events, tmp_path):
  # A sitting on another machine left only its scalars.csv behind.
  (tmp_path / 'scalars.csv').write_text(
      'step,tag,value\n50,train/loss,2.5\n100,train/loss,9\n')
  writer = tensorboardX.SummaryWriter(str(tmp_path))
  for step in (100, 150):
    writer.add_scalar('train/loss', step / 100, step)
  writer.close()
  assert events.convert(tmp_path, remove=False) == 3
  # Step 100 is in both: the event file, the newer record, wins.
  assert _rows(tmp_path / 'scalars.csv') == [
      (50, 'train/loss', 2.5), (100, 'train/loss', 1.0),
      (150, 'train/loss', 1.5)]
