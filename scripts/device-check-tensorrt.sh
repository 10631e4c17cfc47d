#!/usr/bin/env bash
# TensorRT device check: the product's own engine path (ONNX Runtime's TensorRT provider through DJL, FP16,
# engines cached by the ONNX file's SHA-256) and trtexec, on one NVIDIA GPU. NOT YET RUN on a GPU: written and
# checked (up to its prerequisite checks) on machines without one; expect small fixes on first use.
# Target: under 8 minutes on a fresh GPU machine, offline.
#
#   scripts/device-check-tensorrt.sh [MODEL_DIR]
#
# Needs, on that machine (it downloads nothing): an NVIDIA GPU and driver; TensorRT 10, CUDA 12 and cuDNN 9 libraries
# (what onnxruntime_gpu 1.21 links against: the GPU base image, deploy/images/gpu-base.Dockerfile, has them);
# Java 17; and the tree built with the GPU profile, so that cli/target/classpath.txt names onnxruntime_gpu:
#   mvn -B -Pgpu -DskipTests package        # where Maven Central is reachable; ~490 MB more in ~/.m2
# The script runs that build offline itself (mvn -o) unless SKIP_BUILD=1 says the tree is built already.
#
# 1. Product path, parity (io.softstream.model.onnx.OnnxDeviceCheck): exports MODEL_DIR to ONNX if needed (default:
#    a Fashion-MNIST-shaped tokenizer with random weights), writes ONNX Runtime (CPU) reference inputs/outputs for
#    batch 1/8/64, then opens the model through TokenizerRuntimes with --engine tensorrt twice (the second open must
#    load the cached engines: load times and cache files printed) and compares tokens and decoded pixels with ONNX
#    Runtime at batch 1/8/64/300 (300 > the profile's 256: split), max abs diff <= 1e-2 (FP16); TensorRT images/s.
# 2. Product path, worker: `./softstream bench encode --engine tensorrt --no-python`: an encode worker process on
#    the GPU through the embedded broker, images/s and the bare engine table; its JSON must say engine tensorrt.
# 3. trtexec (skipped, with the reason, where there is none): FP16 engines with the same batch profile (1/32/256),
#    run at batch 1/8/64 on the step-1 inputs, parity against ONNX Runtime with numpy, throughput.
#
# Where it can run: a GPU host or pod with the GPU image (or the libraries above) and a primed ~/.m2. Not, as is, on
# the GPU machine this project's sessions are sometimes lent: its image has CUDA 13 and no TensorRT, and a session may
# carry 64 MiB to it, against ~490 MB for onnxruntime_gpu alone (and more for TensorRT's libraries).
#
# Exit 0 = all ran and parity holds; 1 = parity fails or a step failed; 2 = a prerequisite is missing (nothing
# measured; the reason is printed).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-$ROOT/target/device-check-tensorrt}
export SOFTSTREAM_TENSORRT_CACHE=${SOFTSTREAM_TENSORRT_CACHE:-${TRT_CACHE:-$HOME/.cache/softstream/tensorrt}}
TOL=${TOL:-1e-2}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

missing() { echo "device-check-tensorrt: $*" >&2; exit 2; }
command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 \
  || missing "TensorRT needs a CUDA GPU and TensorRT libraries; found none: use --engine onnxruntime"
command -v java >/dev/null 2>&1 || missing "no java on the PATH (Java 17 is needed)"
has_nvinfer() {
  local d
  for d in ${LD_LIBRARY_PATH:+${LD_LIBRARY_PATH//:/ }} /usr/lib/x86_64-linux-gnu /usr/local/tensorrt/lib /opt/tensorrt/lib; do
    [ -e "$d/libnvinfer.so.10" ] && return 0
  done
  # grep -c reads all of ldconfig's output (grep -q could stop early and fail the pipe under pipefail)
  ldconfig -p 2>/dev/null | grep -c 'libnvinfer.so.10 ' >/dev/null
}
has_nvinfer || missing "no libnvinfer.so.10 (TensorRT 10) found by ldconfig or in LD_LIBRARY_PATH"
nvidia-smi -L

mkdir -p "$WORK" "$SOFTSTREAM_TENSORRT_CACHE"
cd "$ROOT"
if [ -z "${SKIP_BUILD:-}" ]; then
  echo "== 0/3 build with the GPU profile (offline)"
  mvn -B -q -o -Pgpu -DskipTests package
fi
grep -q onnxruntime_gpu cli/target/classpath.txt 2>/dev/null \
  || missing "cli/target/classpath.txt has no onnxruntime_gpu: build with mvn -B -Pgpu -DskipTests package"
CP="cli/target/classes:$(cat cli/target/classpath.txt)"
export DJL_CACHE_DIR=${DJL_CACHE_DIR:-$ROOT/.cache/djl}

echo "== 1/3 product path: TensorRT through TokenizerRuntimes vs ONNX Runtime (CPU)"
set +e
java -Dai.djl.offline=true -cp "$CP" io.softstream.model.onnx.OnnxDeviceCheck "$WORK" ${1:+"$1"} \
  | tee "$WORK/product.txt"
rc=${PIPESTATUS[0]}
set -e
[ "$rc" = 2 ] && missing "the product's TensorRT engine cannot run here (reason above)"
[ "$rc" = 0 ] || { echo "PRODUCT PATH FAILED (rc $rc)"; exit 1; }
# shellcheck disable=SC1091
source "$WORK/shapes.env"   # MODEL C S N D

echo "== 2/3 product path: an encode worker on --engine tensorrt through the embedded broker"
SOFTSTREAM_NO_BUILD=1 timeout 300 ./softstream bench encode --engine tensorrt --no-python --images 2000 \
  --model "$MODEL" --json --work-dir "$WORK/bench" | tee "$WORK/bench.txt" \
  || { echo "bench encode failed"; exit 1; }
tail -1 "$WORK/bench.txt" | grep -q '"engine":"tensorrt"' \
  || { echo "bench encode did not run on engine tensorrt"; exit 1; }

echo "== 3/3 trtexec"
TRTEXEC=${TRTEXEC:-$(command -v trtexec || true)}
for c in /usr/src/tensorrt/bin/trtexec /opt/tensorrt/bin/trtexec /usr/local/tensorrt/bin/trtexec; do
  [ -z "$TRTEXEC" ] && [ -x "$c" ] && TRTEXEC=$c
done
if [ -z "$TRTEXEC" ]; then
  echo "trtexec: skipped, none found (set TRTEXEC=/path/to/trtexec; it ships in TensorRT's bin/ folder)"
  echo "DEVICE CHECK OK (product path; no trtexec)"
  exit 0
fi
TRT_VERSION=$("$TRTEXEC" --help 2>&1 | grep -o 'TensorRT.v[0-9]*' | head -1 || true)
echo "trtexec: $TRTEXEC ${TRT_VERSION:-version unknown}"

build() {  # part input_name dims_without_batch
  local part=$1 input=$2 dims=$3 sha plan
  sha=$(sha256sum "$MODEL/$part.onnx" | cut -d' ' -f1)
  mkdir -p "$SOFTSTREAM_TENSORRT_CACHE/trtexec"
  plan="$SOFTSTREAM_TENSORRT_CACHE/trtexec/$part-$sha-${TRT_VERSION:-trt}-fp16.plan"
  if [ ! -s "$plan" ]; then
    "$TRTEXEC" --onnx="$MODEL/$part.onnx" --fp16 --saveEngine="$plan.tmp" \
      --minShapes="$input:1x$dims" --optShapes="$input:32x$dims" --maxShapes="$input:256x$dims" \
      > "$WORK/build-$part.log" 2>&1 || { tail -30 "$WORK/build-$part.log"; exit 1; }
    mv "$plan.tmp" "$plan"
    echo "built $plan"
  else
    echo "cached $plan"
  fi
  echo "$plan"  > "$WORK/$part.plan"
}
build encoder images "${C}x${S}x${S}"
build decoder tokens "${N}x${D}"
for B in 1 8 64; do
  "$TRTEXEC" --loadEngine="$(cat "$WORK/encoder.plan")" --shapes="images:${B}x${C}x${S}x${S}" \
    --loadInputs="images:$WORK/in_b$B.f32" --exportOutput="$WORK/trt_encoder_b$B.json" \
    --warmUp=500 --duration=3 > "$WORK/run-encoder-b$B.log" 2>&1 || { tail -30 "$WORK/run-encoder-b$B.log"; exit 1; }
  "$TRTEXEC" --loadEngine="$(cat "$WORK/decoder.plan")" --shapes="tokens:${B}x${N}x${D}" \
    --loadInputs="tokens:$WORK/ort_tokens_b$B.f32" --exportOutput="$WORK/trt_decoder_b$B.json" \
    --warmUp=500 --duration=3 > "$WORK/run-decoder-b$B.log" 2>&1 || { tail -30 "$WORK/run-decoder-b$B.log"; exit 1; }
done
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
    good = tok_diff <= tol and img_diff <= tol
    ok &= good
    print(json.dumps({"trtexec_batch": b, "tokens_max_abs_diff": tok_diff, "images_max_abs_diff": img_diff,
                      "codes_agreement": agree,
                      "encoder_images_per_s": round(qps(f"{work}/run-encoder-b{b}.log") * b, 1),
                      "decoder_images_per_s": round(qps(f"{work}/run-decoder-b{b}.log") * b, 1),
                      "parity_ok": good}))
print("TRTEXEC PARITY", "OK" if ok else "FAILED", "(tolerance %g, FP16 TensorRT vs FP32 ONNX Runtime)" % tol)
sys.exit(0 if ok else 1)
PY
echo "DEVICE CHECK OK (product path and trtexec)"
