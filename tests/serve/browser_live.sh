#!/usr/bin/env bash
# ctest: the live page of `watch --serve` in headless chromium lists each new face within a
# second of its file arriving (tests/serve/browser_live.js). Screenshot: OUT/live.png.
#   browser_live.sh LUMAFLOW_BIN OUT_DIR [SANITIZED=0|1]
set -euo pipefail
source "$(dirname "$0")/browser_common.sh"
browser_test "$@"
work_dir
mkdir -p "$W/in"
make_model "$W" "$SANITIZED"
start_watch "$MODEL" "$W/in" "$W/answers.jsonl" "$W/err"
INTERVAL="${INTERVAL_MS:-$([ "$SANITIZED" = 1 ] && echo 500 || echo 1200)}"
node "$ROOT/tests/serve/browser_live.js" "$URL" "$W/in" "$W/answers.jsonl" "$OUT" 1000 "$INTERVAL" "${FRAMES[@]}"
kill -TERM "$WATCH_PID"; wait "$WATCH_PID"; WATCH_PID=""
