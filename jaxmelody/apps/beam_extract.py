"""Melody extraction at catalogue scale: an Apache Beam pipeline.

The same extraction as ``jaxmelody FILES`` (``api.extract_melody``), as
a pipeline that runs locally (DirectRunner) or on Dataflow, Flink or Spark;
its command line, ``jaxmelody-beam``, is ``beam_cli.py``.
Inputs are globs or paths on any filesystem Beam reads (local, gs://, s3://,
hdfs://), or a text file listing one per line. Outputs, in ``--output``:

- ``<stem>.csv`` per track, the format of ``jaxmelody``'s CSV (two inputs
  with one stem get ``<stem>-2``, ... in path order; a path matched twice is
  processed once);
- ``summary.csv``: ``track,path,duration_s,melody_s,mean_voicing,error``
  sorted by track; ``mean_voicing`` is the mean voicing probability,
  1 - p(no melody), of the frames reported as melody (not ``--confidence``'s
  number, which depends on the decoding); a file that could not be
  processed is a row with its ``error`` (the pipeline itself does not
  fail).

Each worker loads and compiles the model once (``DoFn.setup``); clips come
in batches (``beam.BatchElements``) and pad to the model's fixed lengths,
so the compiled forward passes are reused from clip to clip.
"""

import csv
import io
import os
import pathlib
import tempfile

from jaxmelody import errors

SUMMARY_NAME = 'summary.csv'
SUMMARY_COLUMNS = ('track', 'path', 'duration_s', 'melody_s',
                   'mean_voicing', 'error')


def import_beam():
  """The ``apache_beam`` module (an optional extra), or a ConfigError."""
  try:
    import apache_beam as beam  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise errors.ConfigError(
        "apache-beam is not installed: pip install 'jaxmelody[beam]'") from e
  return beam


def _is_local(path: str) -> bool:
  return '://' not in path or path.startswith('file://')


def _load(path: str):
  """16 kHz mono samples of a file on any filesystem Beam reads."""
  from apache_beam.io.filesystems import FileSystems  # pylint: disable=g-import-not-at-top
  from jaxmelody.frontend import audio  # pylint: disable=g-import-not-at-top
  if _is_local(path):
    return audio.load_audio(path.removeprefix('file://'))
  try:
    with FileSystems.open(path) as f:
      data = f.read()
  except Exception as e:  # each filesystem raises its own types
    raise errors.AudioError(f'{path}: cannot read ({e})') from e
  with tempfile.NamedTemporaryFile(suffix=pathlib.PurePosixPath(path).suffix
                                   ) as tmp:
    tmp.write(data)
    tmp.flush()
    return audio.load_audio(tmp.name)


def _write(path: str, text: str) -> None:
  """Writes text so that ``path`` never holds a partial file."""
  from apache_beam.io.filesystems import FileSystems  # pylint: disable=g-import-not-at-top
  tmp = f'{path}.tmp-{os.getpid()}'
  with FileSystems.create(tmp) as f:
    f.write(text.encode('utf-8'))
  FileSystems.rename([tmp], [path])


def _match(pattern: str):
  """(path, None) per file a glob or path names, or (pattern, error)."""
  from apache_beam.io.filesystems import FileSystems  # pylint: disable=g-import-not-at-top
  if _is_local(pattern):  # relative to where the command was started
    pattern = os.path.abspath(pattern.removeprefix('file://'))
  try:
    found = sorted(m.path for r in FileSystems.match([pattern])
                   for m in r.metadata_list)
  except Exception as e:  # each filesystem raises its own types
    found, reason = [], str(e).splitlines()[0] if str(e) else type(e).__name__
  else:
    reason = 'no file matches'
  return [(p, None) for p in found] or [(pattern, f'{pattern}: {reason}')]


def _unique_stems(paths):
  """(path, out stem) per distinct path, in path order, stems made unique
  as ``jaxmelody`` makes them (``inputs.stems``)."""
  from jaxmelody.apps import inputs  # pylint: disable=g-import-not-at-top
  paths = sorted(set(paths))
  return list(zip(paths, inputs.stems(paths)))


def _row(track, path, duration='', melody='', voicing='', error=''):
  return dict(zip(SUMMARY_COLUMNS,
                  (track, path, duration, melody, voicing, error)))


def summary_text(rows) -> str:
  """The summary CSV of all rows, sorted by track then path."""
  out = io.StringIO()
  writer = csv.DictWriter(out, SUMMARY_COLUMNS, lineterminator='\n')
  writer.writeheader()
  writer.writerows(sorted(rows, key=lambda r: (r['track'], r['path'])))
  return out.getvalue()


class ExtractMelodies:
  """The DoFn body: a batch of (path, stem) in, summary rows out.

  Kept apart from ``beam.DoFn`` (``make_dofn``) so that it is plain Python.
  """

  def __init__(self, config, checkpoint, output, decoder, voicing_threshold):
    self.config, self.checkpoint, self.output = config, checkpoint, output
    self.decoder, self.threshold = decoder, voicing_threshold
    self._model = None

  def setup(self):
    from jaxmelody.inference import api  # pylint: disable=g-import-not-at-top
    self._model = api.get_model(self.config, self.checkpoint)

  def process(self, batch):
    from apache_beam.io.filesystems import FileSystems  # pylint: disable=g-import-not-at-top
    # pylint: disable-next=g-import-not-at-top
    from jaxmelody.apps import write_files
    from jaxmelody.frontend.feature_config import FEATURES  # pylint: disable=g-import-not-at-top
    from jaxmelody.inference import api
    how = api.Decoding(self.decoder, self.threshold)
    for path, stem in batch:
      try:
        samples = _load(path)
        melody, _ = api.melody_of(samples, self._model, how)
        _write(FileSystems.join(self.output, f'{stem}.csv'),
               write_files.csv_text(melody.times, melody.f0_hz, 'f0_hz'))
      except Exception as e:  # a bad file is a row, never a failed pipeline
        error = str(e) if isinstance(e, errors.JaxMelodyError) else (
            f'{path}: {type(e).__name__}: {e}')
        yield _row(stem, path, error=error)
        continue
      voiced = melody.f0_hz > 0
      yield _row(stem, path, f'{len(samples) / FEATURES.sample_rate:.3f}',
                 f'{voiced.sum() * FEATURES.frame_seconds:.3f}',
                 f'{melody.voicing[voiced].mean():.4f}' if voiced.any()
                 else '')


def make_dofn(body: ExtractMelodies):
  """``body`` as a ``beam.DoFn``."""
  beam = import_beam()

  class _DoFn(beam.DoFn):
    def setup(self):
      body.setup()

    def process(self, batch):
      yield from body.process(batch)

  return _DoFn()


def build(pipeline, inputs, output, *, input_list='', config=None,
          checkpoint=None, decoder=None, voicing_threshold=None,
          batch_size=8):
  """Adds the extraction to ``pipeline``; returns the summary PCollection.

  Args:
    pipeline: a ``beam.Pipeline``.
    inputs: globs or paths (any filesystem Beam reads).
    output: the output folder (created if needed).
    input_list: optional text file with one path or glob per line.
    config: full config (default: ``api.default_config()``).
    checkpoint, decoder, voicing_threshold: as ``api.extract_melody``.
    batch_size: most clips per batch handed to a worker.
  """
  beam = import_beam()
  from apache_beam.io.filesystems import FileSystems  # pylint: disable=g-import-not-at-top
  from jaxmelody.inference import api  # pylint: disable=g-import-not-at-top
  from jaxmelody.inference import decoding  # pylint: disable=g-import-not-at-top
  from jaxmelody.inference import weights  # pylint: disable=g-import-not-at-top
  config = config or api.default_config()
  # As jaxmelody (cli.predict): the config's decoding unless told otherwise.
  decoder, voicing_threshold = decoding.from_config(config.eval, decoder,
                                                    voicing_threshold)
  # Fails here, with one clear error, rather than in every worker's setup.
  weights.resolve_variables(checkpoint, config)
  if checkpoint:  # workers may run elsewhere; commas join averaged paths
    checkpoint = ','.join(os.path.abspath(p) if os.path.exists(p) else p
                          for p in os.fspath(checkpoint).split(','))
  if _is_local(output):
    output = os.path.abspath(output.removeprefix('file://'))
    os.makedirs(output, exist_ok=True)
  # Local paths are made absolute here, where the command was started.
  patterns = pipeline | 'Inputs' >> beam.Create(
      [os.path.abspath(p) if _is_local(p) else p for p in inputs])
  if input_list:
    listed = (pipeline | 'ReadList' >> beam.io.ReadFromText(input_list)
              | 'Strip' >> beam.Map(str.strip) | beam.Filter(bool))
    patterns = (patterns, listed) | 'AllInputs' >> beam.Flatten()
  matched = patterns | 'Match' >> beam.FlatMap(_match)
  unmatched = (matched | 'Unmatched' >> beam.Filter(lambda m: m[1])
               | 'NoFileRow' >> beam.Map(lambda m: _row('', m[0], error=m[1])))
  # Stems are made unique over all paths at once: numbering within groups
  # of one stem could clash with a file whose own stem is ``x-2``.
  named = (matched | 'Matched' >> beam.Filter(lambda m: not m[1])
           | 'Paths' >> beam.Map(lambda m: m[0])
           | 'AllPaths' >> beam.combiners.ToList()
           | 'UniqueStems' >> beam.FlatMap(_unique_stems))
  body = ExtractMelodies(config, checkpoint, output, decoder,
                         voicing_threshold)
  rows = (named | 'Spread' >> beam.Reshuffle()
          | 'Batch' >> beam.BatchElements(min_batch_size=1,
                                          max_batch_size=batch_size)
          | 'Extract' >> beam.ParDo(make_dofn(body)))
  summary = ((rows, unmatched) | 'AllRows' >> beam.Flatten()
             | 'Collect' >> beam.combiners.ToList())
  summary | 'WriteSummary' >> beam.Map(lambda all_rows: _write(
      FileSystems.join(output, SUMMARY_NAME), summary_text(all_rows)))
  return summary
