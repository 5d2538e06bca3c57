#!/usr/bin/env bash
# Trains dense10 on MIR-1K train in one call of a remote GPU machine.
#
# Device call (from the repository root; .carry/ made by
# scripts/pack_for_device.py):   command 'bash scripts/device_train.sh',
# carry ['.carry'], timeout_s 480. See scripts/README.md.
#
# Steps: install the carried wheels, check the imports and the GPU, train
# (run.py builds mir1k/centered from the carried Opus train clips on first
# use: its fit and validation splits, the test singers never travel) with
# validation on config.data.val_singers, stop at STEPS or at the wall-clock
# deadline, then `run.py --mode=export` writes the checkpoint with the best
# validation OA to $OUT/pretrained/ and prints its validation scores and the
# training frames/s. Only a few files may come back
# from $OUT, so the orbax workdir stays in $WORK.
#
# Everything is an environment variable; a CPU dry run:
#   DRYRUN=1 STEPS=2 BATCH=2 EVAL_EVERY=2 CLIPS_PER_SINGER=1 OUT=/tmp/out \
#     bash scripts/device_train.sh
set -euo pipefail
export PYTHONUNBUFFERED=1
export TQDM_MININTERVAL=${TQDM_MININTERVAL:-20}  # a few progress lines only

OUT=${OUT:-/tmp/out}
CARRY=${CARRY:-.carry}
WORK=${WORK:-/tmp/jaxmelody_device}   # TFDS data and orbax workdir
DRYRUN=${DRYRUN:-0}                   # 1: this CPU, venv, no wheels, no GPU
# Paper recipe from configs/dense10.py (Adam 1e-3, batch 16, 256-frame
# crops); the deadline below ends training if STEPS takes longer.
STEPS=${STEPS:-12000}
BATCH=${BATCH:-16}
EVAL_EVERY=${EVAL_EVERY:-1000}        # validation + checkpoint period
LOG_EVERY=${LOG_EVERY:-100}
READ_THREADS=${READ_THREADS:-12}      # grain threads cropping clips
DTYPE=${DTYPE:-float32}
CLIPS_PER_SINGER=${CLIPS_PER_SINGER:-0}  # >0: a subset (dry runs)
# Whole-script wall clock: training gets what is left minus the export.
DEADLINE_S=${DEADLINE_S:-420}
EXPORT_RESERVE_S=${EXPORT_RESERVE_S:-45}

main() {
  stamp() { echo "== [$((SECONDS))s] $*"; }
  rm -rf "$WORK" "$OUT/pretrained" "$OUT/tb"
  mkdir -p "$WORK" "$OUT"
  local manual_root=$PWD/$CARRY tfds_dir=$WORK/tfds wd=$WORK/wd
  stamp "start: STEPS=$STEPS BATCH=$BATCH EVAL_EVERY=$EVAL_EVERY" \
    "DTYPE=$DTYPE DEADLINE_S=$DEADLINE_S DRYRUN=$DRYRUN"

  if [[ $DRYRUN == 1 ]]; then
    PY=${PY:-python}
    export PYTHONPATH=$PWD
  else
    PY=python3
    nvidia-smi -L || true
    python3 -m pip install -q --no-index --no-deps --no-build-isolation \
      --target /tmp/site "$CARRY"/wheels/*
    export PYTHONPATH=/tmp/site:$PWD
    stamp "wheels installed"
  fi
  "$PY" - "$CARRY" "$DRYRUN" <<'EOF'
import pathlib, sys
import flax, grain, jax, librosa, mir_eval, ml_collections, optax, soundfile
import orbax.checkpoint, tensorboardX, tensorflow_datasets
print('jax', jax.__version__, 'flax', flax.__version__, 'tfds',
      tensorflow_datasets.__version__, 'libsndfile',
      soundfile.__libsndfile_version__, 'devices', jax.devices())
clip = next(pathlib.Path(sys.argv[1], 'mir1k', 'Wavfile').glob('*.ogg'))
print('decodes', clip.name, soundfile.info(clip).samplerate, 'Hz')
if sys.argv[2] != '1' and jax.default_backend() != 'gpu':
  sys.exit('error: device: jax sees no GPU')
EOF
  stamp "imports ok"

  if (( CLIPS_PER_SINGER > 0 )); then  # symlinked subset, N clips a singer
    manual_root=$WORK/manual
    mkdir -p "$manual_root/mir1k/Wavfile" "$manual_root/mir1k/PitchLabel"
    declare -A taken=()
    for f in "$CARRY"/mir1k/Wavfile/*; do
      local b=${f##*/}; local s=${b%%_*}
      (( ${taken[$s]:-0} < CLIPS_PER_SINGER )) || continue
      taken[$s]=$(( ${taken[$s]:-0} + 1 ))
      ln -s "$PWD/$f" "$manual_root/mir1k/Wavfile/$b"
      ln -s "$PWD/$CARRY/mir1k/PitchLabel/${b%.*}.pv" \
        "$manual_root/mir1k/PitchLabel/${b%.*}.pv"
    done
  fi
  # run.py builds mir1k/centered from $manual_root on first use (inside the
  # training deadline below).

  local budget=$(( DEADLINE_S - SECONDS - EXPORT_RESERVE_S ))
  if (( budget < 30 )); then
    echo "error: deadline: only ${budget}s left to train"; return 1
  fi
  stamp "training for at most ${budget}s"
  local rc=0
  timeout --signal=INT --kill-after=30 "$budget" "$PY" run.py \
    --config=configs/dense10.py --workdir="$wd" \
    --config.data.manual_root="$manual_root" \
    --config.data.data_dir="$tfds_dir" \
    --config.data.read_threads="$READ_THREADS" \
    --config.model.dtype="$DTYPE" \
    --config.train.batch_size="$BATCH" --config.train.num_steps="$STEPS" \
    --config.train.log_every_steps="$LOG_EVERY" \
    --config.train.checkpoint_every_steps="$EVAL_EVERY" \
    --config.eval.every_steps="$EVAL_EVERY" || rc=$?
  # 124: stopped at the deadline (SIGINT: pending checkpoints are finished).
  stamp "training ended, status $rc"
  [[ $rc == 0 || $rc == 124 ]] || return "$rc"

  # The step with the best validation OA -> $OUT/pretrained (info.json
  # holds the step, its validation scores and the median train frames/s).
  "$PY" run.py --config=configs/dense10.py --mode=export --workdir="$wd" \
    --output_dir="$OUT/pretrained" \
    --config.data.manual_root="$manual_root" \
    --config.data.data_dir="$tfds_dir" \
    --config.model.dtype="$DTYPE" --config.train.batch_size="$BATCH"
  mkdir -p "$OUT/tb"
  cp "$(ls "$wd"/events.out.tfevents.* | tail -n 1)" "$OUT/tb/"
  stamp "done"
  ls -l "$OUT" "$OUT/pretrained" "$OUT/tb"
}

mkdir -p "$OUT"
main 2>&1 | tee "$OUT/log.txt"
