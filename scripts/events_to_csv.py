"""A training workdir's TensorBoard scalars as one small CSV, events removed.

``training_runs/<name>/`` keeps what a reader of the repository needs (the
run's ``config.json``, ``starts.jsonl`` and its scores), not TensorBoard's
binary event files. This reads every ``events.out.tfevents.*`` file of a
workdir (TFRecord framing: length, its CRC, the ``Event`` protobuf, its
CRC), writes ``scalars.csv`` (``step,tag,value``, one row per logged
scalar, sorted by step and tag, the last value winning when a resumed run
logged a step twice) and, with ``--remove``, deletes the event files. Rows
already in ``scalars.csv`` are kept (the event files of earlier sittings,
on other machines, are gone; their rows are not), the event files' values
winning for the same step and tag.

  python scripts/events_to_csv.py training_runs/* [--remove]
"""

import argparse
import csv
import pathlib
import struct
import sys

from tensorboardX.proto import event_pb2


def read_scalars(path: pathlib.Path):
  """Yields (step, tag, value) of every scalar in one event file."""
  data = path.read_bytes()
  pos = 0
  while pos + 12 <= len(data):
    (length,) = struct.unpack('<Q', data[pos:pos + 8])
    record = data[pos + 12:pos + 12 + length]
    pos += 12 + length + 4
    event = event_pb2.Event.FromString(record)
    for value in event.summary.value:
      if value.HasField('simple_value'):
        yield event.step, value.tag, value.simple_value


def convert(workdir: pathlib.Path, remove: bool) -> int:
  """Writes ``workdir/scalars.csv``; returns the number of rows."""
  files = sorted(workdir.glob('events.out.tfevents.*'))
  if not files:
    return 0
  rows = {}
  if (workdir / 'scalars.csv').is_file():
    with open(workdir / 'scalars.csv', newline='', encoding='utf-8') as f:
      for row in csv.DictReader(f):
        rows[(int(row['step']), row['tag'])] = float(row['value'])
  for path in files:  # names sort by creation time: later runs win
    for step, tag, value in read_scalars(path):
      rows[(step, tag)] = value
  with open(workdir / 'scalars.csv', 'w', newline='', encoding='utf-8') as f:
    writer = csv.writer(f)
    writer.writerow(['step', 'tag', 'value'])
    for (step, tag), value in sorted(rows.items()):
      writer.writerow([step, tag, f'{value:.6g}'])
  if remove:
    for path in files:
      path.unlink()
  return len(rows)


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('workdirs', nargs='+', type=pathlib.Path)
  parser.add_argument('--remove', action='store_true',
                      help='delete the event files once converted')
  args = parser.parse_args()
  for workdir in args.workdirs:
    if workdir.is_dir():
      n = convert(workdir, args.remove)
      if n:
        print(f'{workdir}/scalars.csv: {n} rows')
  return 0


if __name__ == '__main__':
  sys.exit(main())
