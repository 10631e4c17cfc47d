#!/usr/bin/env bash
# TensorRT device check for the ONNX export. NOT YET RUN: written on a machine without a GPU; expect
# to fix small things on first use. Target: under 5 minutes on one NVIDIA GPU with TensorRT's trtexec.
#
#   scripts/device-check-tensorrt.sh [MODEL_DIR]
#
# 1. Java (CPU): exports MODEL_DIR to ONNX if needed (default: a Fashion-MNIST-shaped tokenizer with
#    random weights), writes inputs for batch 1/8/64 and the ONNX Runtime outputs for them
#    (io.softstream.model.onnx.OnnxDeviceCheck).
# 2. trtexec builds FP16 engines for encoder.onnx and decoder.onnx with a dynamic batch profile
#    (min 1, opt 8, max 64), cached under $TRT_CACHE by the ONNX file's sha256 and the TensorRT version.
# 3. trtexec runs each batch size on the prepared inputs, exports outputs, and reports throughput.
# 4. python3 compares TensorRT with ONNX Runtime: max abs diff of tokens and pixels must be <= 1e-2
#    (FP16); code agreement is reported (argmax may flip on near-ties in FP16, so it is not asserted).
#
# Maven runs offline (-o) unless MVN_FLAGS is set (MVN_FLAGS= for online).
# Exit 0 = parity holds; 1 = parity fails; 2 = no GPU / no trtexec (nothing measured).
# The DJL TensorRT engine (ai.djl.tensorrt:tensorrt 0.33.0) is not used: it is not a dependency, and its
# native code builds fixed-shape engines without optimisation profiles, which the dynamic batch needs.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-$ROOT/target/device-check-tensorrt}
TRT_CACHE=${TRT_CACHE:-$HOME/.cache/softstream/tensorrt}
TOL=${TOL:-1e-2}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "TensorRT needs a CUDA GPU and TensorRT libraries; found none: use --engine onnxruntime" >&2
  exit 2
fi
TRTEXEC=${TRTEXEC:-$(command -v trtexec || true)}
for c in /usr/src/tensorrt/bin/trtexec /opt/tensorrt/bin/trtexec /usr/local/tensorrt/bin/trtexec; do
  [ -z "$TRTEXEC" ] && [ -x "$c" ] && TRTEXEC=$c
done
if [ -z "$TRTEXEC" ]; then
  echo "no trtexec found (set TRTEXEC=/path/to/trtexec; it ships in TensorRT's bin/ folder)" >&2
  exit 2
fi
nvidia-smi -L
TRT_VERSION=$("$TRTEXEC" --help 2>&1 | grep -o 'TensorRT.v[0-9]*' | head -1 || true)
echo "trtexec: $TRTEXEC ${TRT_VERSION:-version unknown}"

mkdir -p "$WORK" "$TRT_CACHE"
cd "$ROOT"
echo "== 1/4 export and ONNX Runtime reference outputs (CPU)"
mvn -q ${MVN_FLAGS--o} -pl model compile dependency:build-classpath -Dmdep.outputFile="$WORK/cp.txt" -Dmdep.includeScope=runtime
DJL_CACHE_DIR=${DJL_CACHE_DIR:-$ROOT/.cache/djl} java -Dai.djl.offline=true \
  -cp "model/target/classes:$(cat "$WORK/cp.txt")" io.softstream.model.onnx.OnnxDeviceCheck "$WORK" ${1:+"$1"} \
  | tee "$WORK/onnxruntime.txt"
# shellcheck disable=SC1091
source "$WORK/shapes.env"   # MODEL C S N D

build() {  # part input_name dims_without_batch
  local part=$1 input=$2 dims=$3 sha plan
  sha=$(sha256sum "$MODEL/$part.onnx" | cut -c1-16)
  plan="$TRT_CACHE/$part-$sha-${TRT_VERSION:-trt}-fp16.plan"
  if [ ! -s "$plan" ]; then
    "$TRTEXEC" --onnx="$MODEL/$part.onnx" --fp16 --saveEngine="$plan.tmp" \
      --minShapes="$input:1x$dims" --optShapes="$input:8x$dims" --maxShapes="$input:64x$dims" \
      > "$WORK/build-$part.log" 2>&1 || { tail -30 "$WORK/build-$part.log"; exit 1; }
    mv "$plan.tmp" "$plan"
    echo "built $plan"
  else
    echo "cached $plan"
  fi
  echo "$plan"  > "$WORK/$part.plan"
}

echo "== 2/4 FP16 engines"
build encoder images "${C}x${S}x${S}"
build decoder tokens "${N}x${D}"

echo "== 3/4 run batch 1/8/64"
for B in 1 8 64; do
  "$TRTEXEC" --loadEngine="$(cat "$WORK/encoder.plan")" --shapes="images:${B}x${C}x${S}x${S}" \
    --loadInputs="images:$WORK/in_b$B.f32" --exportOutput="$WORK/trt_encoder_b$B.json" \
    --warmUp=500 --duration=3 > "$WORK/run-encoder-b$B.log" 2>&1 || { tail -30 "$WORK/run-encoder-b$B.log"; exit 1; }
  "$TRTEXEC" --loadEngine="$(cat "$WORK/decoder.plan")" --shapes="tokens:${B}x${N}x${D}" \
    --loadInputs="tokens:$WORK/ort_tokens_b$B.f32" --exportOutput="$WORK/trt_decoder_b$B.json" \
    --warmUp=500 --duration=3 > "$WORK/run-decoder-b$B.log" 2>&1 || { tail -30 "$WORK/run-decoder-b$B.log"; exit 1; }
done

echo "== 4/4 parity vs ONNX Runtime and throughput"
WORK="$WORK" TOL="$TOL" "$PY" - <<'PY'
import json, os, re, sys
import numpy as np
work, tol = os.environ["WORK"], float(os.environ["TOL"])

def outputs(path):
    # trtexec --exportOutput: a list of {"name", "dimensions", "values"}
    with open(path) as f:
        return {o["name"]: np.array(o["values"], dtype=np.float64) for o in json.load(f)}

def qps(log):
    m = re.search(r"Throughput: ([0-9.]+) qps", open(log).read())
    return float(m.group(1)) if m else float("nan")

ok = True
for b in (1, 8, 64):
    enc, dec = outputs(f"{work}/trt_encoder_b{b}.json"), outputs(f"{work}/trt_decoder_b{b}.json")
    tok_ref = np.fromfile(f"{work}/ort_tokens_b{b}.f32", "<f4")
    codes_ref = np.fromfile(f"{work}/ort_codes_b{b}.i64", "<i8")
    img_ref = np.fromfile(f"{work}/ort_images_b{b}.f32", "<f4")
    tok_diff = float(np.max(np.abs(enc["tokens"] - tok_ref)))
    img_diff = float(np.max(np.abs(dec["images"] - img_ref)))
    agree = float(np.mean(enc["codes"].astype(np.int64) == codes_ref))
    enc_ips = qps(f"{work}/run-encoder-b{b}.log") * b
    dec_ips = qps(f"{work}/run-decoder-b{b}.log") * b
    good = tok_diff <= tol and img_diff <= tol
    ok &= good
    print(json.dumps({"batch": b, "tokens_max_abs_diff": tok_diff, "images_max_abs_diff": img_diff,
                      "codes_agreement": agree, "encoder_images_per_s": round(enc_ips, 1),
                      "decoder_images_per_s": round(dec_ips, 1), "parity_ok": good}))
print("PARITY", "OK" if ok else "FAILED", "(tolerance %g, FP16 TensorRT vs FP32 ONNX Runtime)" % tol)
sys.exit(0 if ok else 1)
PY
