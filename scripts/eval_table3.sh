#!/bin/bash
# One model's rows of the paper's Table III: its test-set scores under our
# default protocol and under the paper's, one --mode=eval run each, then the
# whole table (every model evaluated so far under OUT, the paper's rows, OA
# with its 95% bootstrap interval over clips).
#
# Usage (from anywhere; ../shared/data beside the repository):
#   bash scripts/eval_table3.sh MODEL [CHECKPOINT] [CONFIG]
# MODEL: the row, dense10, dense20, densenet or da_reversed;
# CHECKPOINT: a workdir, checkpoint folder or exported folder (empty or
# omitted: the bundled model, which only dense10 has); CONFIG: default
# configs/MODEL.py. Environment: OUT (default training_runs/table3, where
# the per-clip scores are committed, so the table grows model by model and
# across machines), PROTOCOLS (default "ours paper").
# Print the table again without evaluating:
#   python scripts/protocol_table.py --table3 training_runs/table3
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $# -lt 1 || $# -gt 3 ]]; then
  echo "usage: bash $0 MODEL [CHECKPOINT] [CONFIG]" >&2
  exit 2
fi
model=$1
checkpoint=()
if [[ -n ${2:-} ]]; then checkpoint=(--checkpoint="$2"); fi
config=${3:-configs/$model.py}
if [[ ! -f ${config%%:*} ]]; then
  echo "$config: no such config file (give CONFIG for model $model)" >&2
  exit 2
fi
out=${OUT:-training_runs/table3}
protocols=${PROTOCOLS:-ours paper}
# Checked first: a typo must not surface after a long first eval.
for protocol in $protocols; do
  case $protocol in
    ours|paper) ;;
    *) echo "unknown protocol $protocol (ours, paper)" >&2; exit 2 ;;
  esac
done
for protocol in $protocols; do
  case $protocol in
    ours) flags=() ;;                        # running BatchNorm, Viterbi
    # The paper's: their MIR-1K label timing (10 ms early), the statistics
    # of the piece being processed, argmax (ADC2004 has no label offset).
    paper) flags=(--config.data.mir1k_label_offset_s=0.01
                  --config.model.bn_inference=batch
                  --config.eval.decoder=argmax) ;;
  esac
  echo "=== $model, $protocol"
  # A stale eval/ from an earlier checkpoint must not survive a failed run.
  rm -rf "$out/$model/$protocol/eval"
  python run.py --config="$config" --mode=eval \
    --workdir="$out/$model/$protocol" \
    --config.data.manual_root=../shared/data "${checkpoint[@]}" "${flags[@]}"
done
echo "per-clip scores: $out/<model>/<protocol>/eval/"
python scripts/protocol_table.py --table3 "$out"
