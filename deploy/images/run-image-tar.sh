#!/usr/bin/env bash
# Runs an image tar (docker-save layout, as jib:buildTar writes it) with no container runtime: unpacks its layers
# into a temporary folder and runs the image's entry point there with chroot, as the image's user, in the host's
# network. Needs root. For checking an image on a machine without Docker, e.g.
#   deploy/images/run-image-tar.sh cli/target/jib-image.tar --help
#   BOOTSTRAP_SERVERS=127.0.0.1:9092 SCHEMA_REGISTRY_URL=http://127.0.0.1:8081 \
#     deploy/images/run-image-tar.sh cli/target/jib-image.tar encode-worker --worker-id image-check
set -euo pipefail
TAR="$(realpath "${1:?usage: $0 IMAGE.tar [ARGS...]}")"
shift
ROOT="$(mktemp -d)"
trap 'umount "$ROOT/proc" 2>/dev/null || true; rm -rf "$ROOT"' EXIT
python3 - "$TAR" "$ROOT" <<'PY'
import json, sys, tarfile
tar, root = sys.argv[1], sys.argv[2]
with tarfile.open(tar) as t:
    manifest = json.load(t.extractfile("manifest.json"))[0]
    config = json.load(t.extractfile(manifest["Config"]))["config"]
    for layer in manifest["Layers"]:
        with tarfile.open(fileobj=t.extractfile(layer)) as l:
            l.extractall(root, filter="fully_trusted") if hasattr(tarfile, "data_filter") else l.extractall(root)
json.dump(config, open(root + "/.image-config.json", "w"))
PY
chmod 1777 "$ROOT/tmp"
mount -t proc proc "$ROOT/proc"
CFG="$ROOT/.image-config.json"
USER_ID="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("User") or "0:0")' "$CFG")"
WORKDIR="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("WorkingDir") or "/")' "$CFG")"
mapfile -t ENV < <(python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1])).get("Env", [])))' "$CFG")
mapfile -t ENTRY < <(python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["Entrypoint"]))' "$CFG")
# The caller's connection settings pass through, as a container's environment would.
for v in BOOTSTRAP_SERVERS SCHEMA_REGISTRY_URL SOFTSTREAM_WORKER_ID SOFTSTREAM_METRICS_PORT JAVA_TOOL_OPTIONS; do
  [[ -n "${!v:-}" ]] && ENV+=("$v=${!v}")
done
[[ $# -gt 0 ]] || set -- --help
chroot --userspec="$USER_ID" "$ROOT" /usr/bin/env -i "${ENV[@]}" /bin/sh -c 'cd "$0" && exec "$@"' "$WORKDIR" "${ENTRY[@]}" "$@"
