#!/usr/bin/env bash
# Reproduces the generation figures of $GEN (default models/gen-fmnist-16, 1-D tokens) and models/gen2d-fmnist (2-D
# pixel-patch baseline), judged by the held-out classifier models/fmnist-judge.
#
#   scripts/evaluate-generation.sh [STAGE...]      default: judge sweep eval1d eval2d bench
#
# Stages (each logs to $LOGS/<stage>.log; one torch thread each, as the cards were made):
#   judge     train the judge on the Fashion-MNIST training split only (last 5,000 training images held out
#             for validation; test split only for the reported accuracy) -> $JUDGE (model.json + teacher.params)
#   sweep     sampler settings on 500 images (50 per class), card untouched: guidance curve, step curve,
#             Heun vs Euler, guidance interval, SDE -> $LOGS/sweep.log (last line: JSON)
#   eval1d    the 1-D generator at the default settings on 2,000 images (200 per class) + the reconstruction
#             floor on the 10,000 test images + the curves -> $GEN/model.json, samples.png
#   eval2d    the 2-D baseline at the same settings on 2,000 images -> models/gen2d-fmnist/model.json, samples.png
#   check10k  the 1-D generator on 10,000 images (1,000 per class) -> metrics.check_10k of $GEN
#   bench     speed, batch of 64, 1-D vs 2-D at equal steps, 2 torch threads; records speedup_1d_vs_2d in the cards
#
# Generated pixels are cached in $CACHE by generator, settings, count and seed, so a stage that needs images
# another stage already made (e.g. the curves inside eval1d after sweep) only re-scores them.
# Env: GEN (models/gen-fmnist-16), TOK (models/softvq-fmnist-16), JUDGE (models/fmnist-judge), CACHE (data/generation-cache), LOGS (data/generation-eval),
#      GUIDANCE (4), STEPS (50), SAMPLER (euler), CURVE_GUIDANCE, CURVE_STEPS, SWEEP (see below),
#      CP (a classpath to use instead of building).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
JUDGE=${JUDGE:-models/fmnist-judge}
CACHE=${CACHE:-data/generation-cache}
LOGS=${LOGS:-data/generation-eval}
GUIDANCE=${GUIDANCE:-4}
STEPS=${STEPS:-50}
SAMPLER=${SAMPLER:-euler}
CURVE_GUIDANCE=${CURVE_GUIDANCE-1,2,3,4,6}
CURVE_STEPS=${CURVE_STEPS-5,10,25,50}
SWEEP=${SWEEP-heun:25:4,heun:25:3,euler:50:4:0:0.7,euler:50:6:0:0.7,sde:50:4}
GEN=${GEN:-models/gen-fmnist-16}
TOK=${TOK:-models/softvq-fmnist-16}   # the tokenizer GEN was trained on
mkdir -p "$LOGS" "$CACHE"

if [[ -z "${CP:-}" ]]; then
  ./softstream --help >/dev/null   # builds if sources changed
  CP="$ROOT/cli/target/classes:$(cat "$ROOT/cli/target/classpath.txt")"
fi
run() {   # run THREADS MAIN ARGS... (MAIN: a Java main class; the softstream commands through $CLI)
  local threads=$1; shift
  DJL_CACHE_DIR="${DJL_CACHE_DIR:-$ROOT/.cache/djl}" java -Xmx3g -Dai.djl.offline=true \
    -Dai.djl.pytorch.num_threads="$threads" -Dai.djl.pytorch.num_interop_threads=1 -cp "$CP" "$@"
}
# Metrics measured with an older judge (teacher_*), and curves, are dropped before a card is re-evaluated.
clean_card() {
  python3 - "$1" <<'EOF'
import json, sys
p = sys.argv[1] + "/model.json"
c = json.load(open(p))
m = c.get("metrics") or {}
for k in list(m):
    if k.startswith("teacher_") or k in ("guidance_curve", "steps_curve", "sampler_sweep", "check_10k"):
        del m[k]
json.dump(c, open(p, "w"), indent=2)
EOF
}
CLI=io.softstream.cli.Softstream   # ./softstream, with this script's thread and heap settings
GEN1=($CLI train-generator train=false tokenizer=$TOK out=$GEN judge=$JUDGE
      eval_sampler=$SAMPLER eval_steps=$STEPS eval_guidance=$GUIDANCE cache=$CACHE)

stage() {
  case "$1" in
    judge) run 1 $CLI train-judge out=$JUDGE width=32 depth=5 steps=3000 warmup=150 \
             val=5000 eval_every=500 tokenizer=$TOK ;;
    sweep) run 1 "${GEN1[@]}" card=false recon=false eval_per_class=0 curve_per_class=50 \
             curve_guidance=$CURVE_GUIDANCE curve_steps=$CURVE_STEPS sweep=$SWEEP ;;
    eval1d) clean_card $GEN
            run 1 "${GEN1[@]}" eval_per_class=200 curve_per_class=50 curve_guidance=$CURVE_GUIDANCE \
              curve_steps=$CURVE_STEPS sweep=$SWEEP ;;
    eval2d) clean_card models/gen2d-fmnist
            run 1 $CLI train-generator train=false latent=pixels out=models/gen2d-fmnist \
              judge=$JUDGE eval_sampler=$SAMPLER eval_steps=$STEPS eval_guidance=$GUIDANCE eval_per_class=200 cache=$CACHE ;;
    check10k) run 1 "${GEN1[@]}" card=false recon=false eval_per_class=1000 > "$LOGS/check10k.out"
              cat "$LOGS/check10k.out"
              python3 - "$GEN/model.json" "$LOGS/check10k.out" <<'EOF'
import json, sys
card_path, out = sys.argv[1], open(sys.argv[2]).read().splitlines()
start = max(i for i, l in enumerate(out) if l.startswith("{"))
r = json.loads("\n".join(out[start:]))
card = json.load(open(card_path))
card["metrics"]["check_10k"] = {k: r[k] for k in ("class_consistency", "class_consistency_per_class", "frechet_generated",
                                                  "generated_images", "sampler", "steps", "guidance_scale") if k in r}
json.dump(card, open(card_path, "w"), indent=2)
EOF
              ;;
    bench) run 2 io.softstream.bench.GenerationBenchmark record=true guidance=$GUIDANCE steps=$STEPS,$((STEPS / 2)) ;;
    *) echo "unknown stage $1: judge sweep eval1d eval2d check10k bench" >&2; exit 2 ;;
  esac
}
STAGES=("$@")
[[ ${#STAGES[@]} -gt 0 ]] || STAGES=(judge sweep eval1d eval2d bench)
for s in "${STAGES[@]}"; do
  echo "== $s ($(date -u +%H:%M:%S))" >&2
  stage "$s" 2>&1 | grep -vE "^[0-9:.]+ \[main\] (DEBUG|INFO|WARN)" | tee "$LOGS/$s.log"
done
