#!/usr/bin/env bash
# Fetches the face-descriptor ResNet weights (dlib's model in face-api's TF.js form, MIT) into
# a models folder: the two recognition files of the npm package @vladmandic/face-api@1.7.15,
#   face_recognition_model-weights_manifest.json   (tensor names, shapes, uint8 quantisation)
#   face_recognition_model.bin                      (6.4 MB of weights)
# Both are checked against the SHA-256 values below; a mismatch fails and installs nothing.
# Idempotent: files already present with the right hashes are left alone (no network).
#
#   tools/fetch_models.sh [MODELS_DIR]      default: $ROOT/models
#
# Needs npm (Node's package client) only when something must be fetched; if there is no npm at
# all it installs Debian's.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODELS_DIR="${1:-$ROOT/models}"
PACKAGE="@vladmandic/face-api@1.7.15"
FILES=(face_recognition_model-weights_manifest.json face_recognition_model.bin)
declare -A SHA256=(
  [face_recognition_model-weights_manifest.json]=cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b
  [face_recognition_model.bin]=b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589
)

say() { echo "fetch_models: $*" >&2; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

all_present() {
  local f
  for f in "${FILES[@]}"; do
    [ -f "$MODELS_DIR/$f" ] && [ "$(sha "$MODELS_DIR/$f")" = "${SHA256[$f]}" ] || return 1
  done
}

if all_present; then
  say "face recognition weights present in $MODELS_DIR (hashes match)"
  exit 0
fi
for f in "${FILES[@]}"; do
  if [ -f "$MODELS_DIR/$f" ] && [ "$(sha "$MODELS_DIR/$f")" != "${SHA256[$f]}" ]; then
    say "$MODELS_DIR/$f has the wrong SHA-256; fetching it again"
  fi
done

if ! command -v npm >/dev/null 2>&1; then
  say "npm not found; installing Debian's npm"
  if [ "$(id -u)" -eq 0 ]; then SUDO=(); elif command -v sudo >/dev/null; then SUDO=(sudo); else
    say "need root (or sudo) to install npm"; exit 1; fi
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
say "npm pack $PACKAGE"
# npm checks the tarball against the registry's integrity hash; the SHA-256 below pins the
# two files we use whatever the registry says.
(cd "$TMP" && npm pack "$PACKAGE" --ignore-scripts --silent >/dev/null)
TGZ=("$TMP"/*.tgz)
[ -f "${TGZ[0]}" ] || { say "npm pack produced no tarball for $PACKAGE"; exit 1; }
tar -xzf "${TGZ[0]}" -C "$TMP" "${FILES[@]/#/package/model/}"

for f in "${FILES[@]}"; do
  got="$(sha "$TMP/package/model/$f")"
  if [ "$got" != "${SHA256[$f]}" ]; then
    say "SHA-256 MISMATCH for $f from $PACKAGE"
    say "  expected ${SHA256[$f]}"
    say "  got      $got"
    say "nothing installed"
    exit 1
  fi
done

mkdir -p "$MODELS_DIR"
for f in "${FILES[@]}"; do
  # Copy then rename, so a reader never sees half a file.
  cp "$TMP/package/model/$f" "$MODELS_DIR/.$f.tmp"
  mv -f "$MODELS_DIR/.$f.tmp" "$MODELS_DIR/$f"
done
say "installed ${FILES[*]} in $MODELS_DIR"
