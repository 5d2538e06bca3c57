#!/bin/bash
# Test-set scores of one model under every protocol of docs/reproduction.md's
# "Test scores" table, one --mode=eval run each, in sequence (~3 min each on 2
# cores), then their scores as Markdown rows, each OA with its 95% bootstrap
# interval over clips (protocol_table.py). The Table III protocols of any
# model: eval_table3.sh.
#
# Usage (from anywhere; ../shared/data beside the repository):
#   bash scripts/eval_protocols.sh [CHECKPOINT] [CONFIG]
# CHECKPOINT: a workdir, checkpoint folder or .pkl (default: the bundled
# model); CONFIG: default configs/dense10.py.
set -euo pipefail
cd "$(dirname "$0")/.."
checkpoint=${1:+--checkpoint=$1}
config=${2:-configs/dense10.py}
out=$(mktemp -d)
run() {
  local name=$1; shift
  echo "=== $name"
  python run.py --config="$config" --mode=eval --workdir="$out/$name" \
    --config.data.manual_root=../shared/data $checkpoint "$@"
}
mir1k_only="--config.eval.sets=(('mir1k','test'),)"
run default                                    # Viterbi, running BatchNorm
run argmax --config.eval.decoder=argmax
run batch_viterbi --config.model.bn_inference=batch
run batch_argmax --config.model.bn_inference=batch \
  --config.eval.decoder=argmax
# The authors' MIR-1K label timing (10 ms early); ADC2004 is unaffected.
run default_authors_labels --config.data.mir1k_label_offset_s=0.01 \
  "$mir1k_only"
run batch_argmax_authors_labels --config.model.bn_inference=batch \
  --config.eval.decoder=argmax --config.data.mir1k_label_offset_s=0.01 \
  "$mir1k_only"
echo "per-clip scores: $out/<protocol>/eval/"
python scripts/protocol_table.py "$out"
