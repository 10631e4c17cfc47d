#!/usr/bin/env bash
# Installs the Debian packages Softstream needs, only those missing. Idempotent; needs root (or sudo).
#   scripts/install-deps.sh runtime   data for the demo and the trainer
#   scripts/install-deps.sh test      runtime + peers the tests talk to (kcat, Python Kafka/Avro clients)
set -euo pipefail
RUNTIME=(dataset-fashion-mnist mate-backgrounds gnome-backgrounds)
TEST=(kcat python3-confluent-kafka python3-avro python3-requests libopenblas0-pthread python3-torch python3-onnx python3-numpy python3-pil)
case "${1:-runtime}" in
  runtime) WANT=("${RUNTIME[@]}") ;;
  test) WANT=("${RUNTIME[@]}" "${TEST[@]}") ;;
  *) echo "usage: $0 runtime|test" >&2; exit 2 ;;
esac
MISSING=()
for p in "${WANT[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || MISSING+=("$p")
done
[[ ${#MISSING[@]} -eq 0 ]] && exit 0
echo "softstream: installing Debian packages: ${MISSING[*]}" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "softstream: run as root: apt-get install ${MISSING[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO dpkg --configure -a >/dev/null 2>&1 || true
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq --no-install-recommends "${MISSING[@]}" >&2
