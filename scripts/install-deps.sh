#!/usr/bin/env bash
# Installs the Debian packages Softstream needs, only those missing. Idempotent; needs root (or sudo).
#   scripts/install-deps.sh runtime   data for the demo and the trainer
#   scripts/install-deps.sh photos [DIR]  runtime + the wallpaper/artwork packages of the next photo tokenizer, then
#                                     one picture folder per package under DIR (default data/photos) by
#                                     scripts/photo-sources.py (training data only; no test needs them)
#   scripts/install-deps.sh test      runtime + peers the tests talk to (kcat, Python Kafka/Avro clients, chromium
#                                     and chromium-driver for DashboardIT),
#                                     and onnxruntime (pip) in .cache/python-venv for the Python token reader
#   scripts/install-deps.sh python-venv only that venv (offline, from the machine's pip index; no root): what
#                                     `softstream bench encode` runs its onnxruntime peer from
set -euo pipefail
RUNTIME=(dataset-fashion-mnist mate-backgrounds gnome-backgrounds webp)
PHOTOS=(plasma-workspace-wallpapers ukui-wallpapers lomiri-wallpapers-20.04 sway-backgrounds desktop-base
        lomiri-wallpapers-16.04 lomiri-wallpapers debian-edu-artwork-buster debian-edu-artwork-emerald
        debian-edu-artwork-homeworld debian-edu-artwork-softwaves)
TEST=(kcat python3-confluent-kafka python3-avro python3-venv python3-requests libopenblas0-pthread python3-torch python3-onnx python3-numpy python3-pil chromium chromium-driver)
case "${1:-runtime}" in
  runtime) WANT=("${RUNTIME[@]}") ;;
  test) WANT=("${RUNTIME[@]}" "${TEST[@]}") ;;
  python-venv) WANT=() ;;
  photos) WANT=("${RUNTIME[@]}" "${PHOTOS[@]}") ;;
  *) echo "usage: $0 runtime|test|python-venv|photos [DIR]" >&2; exit 2 ;;
esac
MISSING=()
for p in "${WANT[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || MISSING+=("$p")
done
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# clients/python decodes tokens with onnxruntime, which Debian does not package: PythonReaderIT runs it from a
# venv over Debian's python3 that still sees python3-confluent-kafka/-avro/-numpy (--system-site-packages).
# No root needed; a failure only skips that test's decode part (it says why).
python_venv() {
  local venv="$ROOT/.cache/python-venv"
  "$venv/bin/python" -c 'import onnxruntime' >/dev/null 2>&1 && return 0
  echo "softstream: installing onnxruntime (pip) into $venv" >&2
  { [[ -x "$venv/bin/python" ]] || /usr/bin/python3 -m venv --system-site-packages "$venv"; } \
    && "$venv/bin/python" -m pip install -q --no-deps --retries 0 onnxruntime >&2 \
    && "$venv/bin/python" -c 'import onnxruntime' \
    || echo "softstream: could not install onnxruntime into $venv; PythonReaderIT skips its decode part" >&2
}

photo_folders() {
  python3 "$ROOT/scripts/photo-sources.py" "${1:-$ROOT/data/photos}" "${PHOTOS[@]}"
}

if [[ "${1:-runtime}" == python-venv ]]; then
  python_venv
  "$ROOT/.cache/python-venv/bin/python" -c 'import onnxruntime' >/dev/null 2>&1
  exit $?
fi
if [[ ${#MISSING[@]} -eq 0 ]]; then
  [[ "${1:-runtime}" == test ]] && python_venv
  [[ "${1:-runtime}" == photos ]] && photo_folders "${2:-}"
  exit 0
fi
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
[[ "${1:-runtime}" == test ]] && python_venv
[[ "${1:-runtime}" == photos ]] && photo_folders "${2:-}"
exit 0
