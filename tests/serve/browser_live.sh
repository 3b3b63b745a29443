#!/usr/bin/env bash
# ctest: the live page of `watch --serve` in headless chromium lists each new face within a
# second of its file arriving (tests/serve/browser_live.js). Screenshot: OUT/live.png.
#   browser_live.sh LUMAFLOW_BIN OUT_DIR [SANITIZED=0|1]
set -euo pipefail
LF="$1" OUT="$2" SANITIZED="${3:-0}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
source "$ROOT/tests/serve/browser_common.sh"
need_browser
W="$(mktemp -d)"
trap '[ -n "${WATCH_PID:-}" ] && kill "$WATCH_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
mkdir -p "$OUT" "$W/in"
make_model "$W" "$SANITIZED"
start_watch "$MODEL" "$W/in" "$W/answers.jsonl" "$W/err"
INTERVAL="${INTERVAL_MS:-$([ "$SANITIZED" = 1 ] && echo 500 || echo 1200)}"
node "$ROOT/tests/serve/browser_live.js" "$URL" "$W/in" "$W/answers.jsonl" "$OUT" 1000 "$INTERVAL" "${FRAMES[@]}"
kill -TERM "$WATCH_PID"; wait "$WATCH_PID"; WATCH_PID=""
