# The GPU image's base: NVIDIA's TensorRT runtime (TensorRT 10, CUDA 12, cuDNN 9: what the onnxruntime_gpu jar that
# -Pgpu puts in the image links its TensorRT and CUDA providers against) plus a Java 17 runtime. Jib cannot install packages, so this one base is built where a Docker/Buildah host and NVIDIA's
# registry are reachable, then `mvn -pl cli -am package jib:build -Pgpu -DskipTests` layers the application on it.
#   docker build -f deploy/images/gpu-base.Dockerfile -t softstream/gpu-base:tensorrt-10-jre17 .
FROM nvcr.io/nvidia/tensorrt:25.01-py3
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 65532 --user-group --no-create-home --home-dir /app nonroot
