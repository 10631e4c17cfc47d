#!/usr/bin/env bash
# The tokenizer study of issue #4 on Fashion-MNIST: every variant trained with the same short budget
# (STEPS x 64 images, seed 42, AdamW peak 2e-3 cosine to 2e-4, EMA 0.98) from the shipped architecture (trainer defaults),
# then evaluated on the same held-out images.
# Each variant writes its own model dir under OUT; scripts/study-collect.py gathers the metrics into
# the shipped model card. Runs JOBS variants at a time, one PyTorch thread each.
#   scripts/study-fmnist.sh [OUT] [STEPS] [JOBS]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/target/study}"; STEPS="${2:-300}"; JOBS="${3:-2}"
mkdir -p "$OUT"
# name | overrides (on top of the shipped softvq-fmnist-32 config)
VARIANTS=(
  "softvq-tau0.07|"
  "softvq-tau0.01|model.tau=0.01"
  "softvq-tau0.5|model.tau=0.5"
  "softvq-tau2.0|model.tau=2.0"
  "softvq-noalign|align=false"
  "hardvq|model.quantizer=hardvq"
  "autoencoder|model.quantizer=none"
  "softvq-tokens8|model.tokens=8"
  "softvq-tokens16|model.tokens=16"
  "softvq-tokens64|model.tokens=64"
)
# ONLY="name1 name2" runs just those variants.
if [[ -n "${ONLY:-}" ]]; then
  KEEP=(); for v in "${VARIANTS[@]}"; do [[ " $ONLY " == *" ${v%%|*} "* ]] && KEEP+=("$v"); done; VARIANTS=("${KEEP[@]}")
fi
run_one() {
  local name="${1%%|*}" extra="${1#*|}"
  local dir="$OUT/$name"
  if [[ -f "$dir/model/model.json" ]]; then echo "study: $name done already"; return; fi
  mkdir -p "$dir"
  echo "study: $name starts ($extra)"
  JAVA_OPTS="-Dai.djl.pytorch.num_threads=1 -Dai.djl.pytorch.num_interop_threads=1 -Xmx3g" \
    "$ROOT/softstream" train \
    name="$name" output_dir="$dir/model" checkpoint_dir="$dir/ckpt" checkpoint_every=100 \
    steps="$STEPS" lr=2e-3 min_lr=2e-4 warmup_steps=30 ema_decay=0.98 log_every=50 eval_images=2000 probe_train_images=5000 \
    teacher_dir="$ROOT/models/fmnist-teacher" $extra > "$dir/train.log" 2>&1 \
    && echo "study: $name finished" || echo "study: $name FAILED (see $dir/train.log)"
}
export -f run_one; export OUT STEPS ROOT
printf '%s\n' "${VARIANTS[@]}" | xargs -P "$JOBS" -I{} bash -c 'run_one "$@"' _ {}
