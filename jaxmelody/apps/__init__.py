"""Applications: the command lines, file outputs and Beam pipeline.

Layer 4 of jaxmelody, the top: imports any lower layer; nothing in the
package imports it.

Modules:
  cli: the ``jaxmelody`` command (``console_main``).
  write_files: the melodies of many files written as CSV, MIDI, pictures and
    sounds; the one implementation behind ``jaxmelody`` and
    ``run.py --mode=predict``.
  inputs: the files a command was asked for, and their output stems.
  prefetch: audio decoded in a second process, ahead of the model.
  plots: the spectrum with the melody over it, and the melody as sound.
  midi: the melody as MIDI notes.
  stream_cli: ``jaxmelody --stream``, a live stream frame by frame.
  live_io: microphone input and MIDI output for ``--stream``.
  beam_extract: catalogue-scale extraction as an Apache Beam pipeline.
  beam_cli: the ``jaxmelody-beam`` command (``console_main``).

Conventions:
  exit status 0 = all done, 1 = some inputs failed (each reported),
  2 = nothing could be done (``errors.exit_status``), 130 = interrupted.
"""
