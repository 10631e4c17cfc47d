#!/usr/bin/env bash
# Builds a Java 17 runtime base image as a `docker save` tar from Debian packages, with no Docker daemon and no
# container registry: mmdebstrap makes a minimal Debian rootfs with openjdk-17-jre-headless, and this script wraps
# it as a one-layer image that Jib reads with -Djib.from.image=tar://... (deploy/README.md, "Images").
# Usage: deploy/images/debian-jre-base.sh OUT.tar      (needs root or user namespaces, and apt access to Debian)
set -euo pipefail
OUT="$(realpath -m "${1:?usage: $0 OUT.tar}")"
SUITE="${SUITE:-bookworm}"
command -v mmdebstrap >/dev/null || { echo "needs mmdebstrap: apt-get install mmdebstrap" >&2; exit 2; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# The host's apt sources (its mirror or proxy) when it has a deb822 file, else Debian's default mirror.
SOURCES=/etc/apt/sources.list.d/debian.sources
[[ -f "$SOURCES" ]] || SOURCES=""
mmdebstrap --variant=apt --include=openjdk-17-jre-headless,ca-certificates,libgomp1 \
  --aptopt='Acquire::Check-Valid-Until "false"' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --customize-hook='chroot "$1" useradd --uid 65532 --user-group --no-create-home --home-dir /app nonroot' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
  "$SUITE" "$WORK/layer.tar" $SOURCES
python3 - "$WORK" "$OUT" <<'PY'
import gzip, hashlib, json, os, shutil, sys, tarfile
work, out = sys.argv[1], sys.argv[2]
layer = os.path.join(work, "layer.tar")
diff_id = "sha256:" + hashlib.sha256(open(layer, "rb").read()).hexdigest()
config = {
    "architecture": "amd64", "os": "linux",
    "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                       "JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64"]},
    "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    "history": [{"created_by": "deploy/images/debian-jre-base.sh (mmdebstrap, openjdk-17-jre-headless)"}],
}
cfg = json.dumps(config).encode()
cfg_name = hashlib.sha256(cfg).hexdigest() + ".json"
open(os.path.join(work, cfg_name), "wb").write(cfg)
manifest = [{"Config": cfg_name, "RepoTags": ["softstream/debian-jre:17"], "Layers": ["layer.tar"]}]
open(os.path.join(work, "manifest.json"), "w").write(json.dumps(manifest))
with tarfile.open(out, "w") as t:
    for name in ("manifest.json", cfg_name, "layer.tar"):
        t.add(os.path.join(work, name), arcname=name)
print(out)
PY
