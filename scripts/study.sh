#!/usr/bin/env bash
# The tokenizer study of issue #4: every variant trained with the same budget from the shipped architecture,
# then evaluated on the same held-out images.
#   fashion-mnist: STEPS x 64 images, seed 42, AdamW peak 2e-3 cosine to 2e-4, EMA 0.98, teacher alignment.
#   photos:        STEPS x BATCH crops of the same 20 000 training crops, AdamW 1e-3 cosine to 2e-4, EMA 0.998,
#                  HOG alignment (the shipped softvq-photo-64 recipe). Budget it past the mean-colour plateau
#                  (~1,500 steps, trainer/README.md "Photo data") or the variants compare plateaus.
# Each variant writes its own model dir under OUT; scripts/study-collect.py gathers the metrics into
# the shipped model card. Runs JOBS variants at a time, one PyTorch thread each.
#   scripts/study.sh DATASET [OUT] [STEPS] [JOBS] [BATCH]      DATASET = fashion-mnist | photos
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATASET="${1:?usage: scripts/study.sh fashion-mnist|photos [OUT] [STEPS] [JOBS] [BATCH]}"
OUT="${2:-$ROOT/target/study-$DATASET}"; STEPS="${3:-300}"; JOBS="${4:-2}"; BATCH="${5:-64}"
case "$DATASET" in
  fashion-mnist)
    BASE="batch_size=$BATCH lr=2e-3 min_lr=2e-4 warmup_steps=30 ema_decay=0.98 eval_images=2000 probe_train_images=5000 teacher_dir=$ROOT/models/fmnist-teacher"
    HEAP=3g ;;
  photos)
    BASE="dataset=photos model.image_size=64 model.channels=3 model.patch_size=8 model.tokens=32 model.code_dim=16 align=true align_target=hog align_weight=0.1 batch_size=$BATCH lr=1e-3 min_lr=2e-4 warmup_steps=100 ema_decay=0.998 photo_train_crops=20000 photo_heldout_crops=1000 eval_images=1000"
    HEAP=4g ;;
  *) echo "unknown data set '$DATASET' (fashion-mnist or photos)" >&2; exit 2 ;;
esac
mkdir -p "$OUT"
# name | overrides (on top of the data set's base config)
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
  "softvq-seed43|seed=43"   # the baseline again with another seed (init, data order, photo crops): run-to-run spread
)
# ONLY="name1 name2" runs just those variants, in that order.
if [[ -n "${ONLY:-}" ]]; then
  KEEP=(); for o in $ONLY; do for v in "${VARIANTS[@]}"; do [[ "${v%%|*}" == "$o" ]] && KEEP+=("$v"); done; done; VARIANTS=("${KEEP[@]}")
fi
run_one() {
  local name="${1%%|*}" extra="${1#*|}"
  local dir="$OUT/$name"
  if [[ -f "$dir/model/model.json" ]]; then echo "study: $name done already"; return; fi
  mkdir -p "$dir"
  echo "study: $name starts ($extra) $(date +%T)"
  JAVA_OPTS="-Dai.djl.pytorch.num_threads=1 -Dai.djl.pytorch.num_interop_threads=1 -Xmx$HEAP" \
    "$ROOT/softstream" train \
    name="$name" output_dir="$dir/model" checkpoint_dir="$dir/ckpt" checkpoint_every=100 \
    steps="$STEPS" log_every=50 $BASE $extra > "$dir/train.log" 2>&1 \
    && echo "study: $name finished $(date +%T)" || echo "study: $name FAILED (see $dir/train.log)"
}
export -f run_one; export OUT STEPS ROOT BASE HEAP
printf '%s\n' "${VARIANTS[@]}" | xargs -P "$JOBS" -I{} bash -c 'run_one "$@"' _ {}
