#!/usr/bin/env bash
# Fetches the plotting library analyze inlines into report.html: dist/echarts.min.js of the npm
# package echarts@5.6.0 (Apache ECharts, Apache-2.0), with its LICENSE, into a web folder. The
# package tarball and the file are checked against the SHA-256 values below; a mismatch fails and
# installs nothing. Idempotent: a file already present with the right hash is left alone.
#
#   tools/fetch_web.sh [WEB_DIR]      default: $ROOT/web (git-ignored)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WEB_DIR="${1:-$ROOT/web}"
PACKAGE="echarts@5.6.0"
TGZ_SHA256=e1b82487dd7f8d9f0438eec1f1433051148e0095ac7a15d4db890afda45cf610
JS_SHA256=bf4a223524e40b77c304bec67e1222cf551f14880cf42c69dc046558e11c07b1

say() { echo "fetch_web: $*" >&2; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

if [ -f "$WEB_DIR/echarts.min.js" ] && [ "$(sha "$WEB_DIR/echarts.min.js")" = "$JS_SHA256" ]; then
  say "echarts.min.js present in $WEB_DIR (hash matches)"
  exit 0
fi
command -v npm >/dev/null 2>&1 || { say "npm not found (Node's package client; tools/setup.sh installs it)"; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
say "fetching $PACKAGE"
(cd "$work" && npm pack --silent "$PACKAGE" >/dev/null)
tgz="$(ls "$work"/*.tgz)"
[ "$(sha "$tgz")" = "$TGZ_SHA256" ] || { say "$PACKAGE: the package's SHA-256 does not match; nothing installed"; exit 1; }
tar -xzf "$tgz" -C "$work" package/dist/echarts.min.js package/LICENSE
[ "$(sha "$work/package/dist/echarts.min.js")" = "$JS_SHA256" ] ||
  { say "echarts.min.js: SHA-256 does not match; nothing installed"; exit 1; }
mkdir -p "$WEB_DIR"
cp "$work/package/LICENSE" "$WEB_DIR/ECHARTS-LICENSE"
cp "$work/package/dist/echarts.min.js" "$WEB_DIR/echarts.min.js.tmp"
mv "$WEB_DIR/echarts.min.js.tmp" "$WEB_DIR/echarts.min.js"
say "installed $WEB_DIR/echarts.min.js ($PACKAGE, Apache-2.0)"
