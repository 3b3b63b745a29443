#!/usr/bin/env bash
# ctest: analyze's report.html in headless chromium shows as many points as faces, and hovering a
# point shows that face's label (tests/serve/browser_report.js). orl when $LUMAFLOW_DATA has it
# (not in sanitized builds: generated faces there), screenshots in OUT/.
#   browser_report.sh LUMAFLOW_BIN OUT_DIR [SANITIZED=0|1]
set -euo pipefail
source "$(dirname "$0")/browser_common.sh"
browser_test "$@"
WEB="${LUMAFLOW_WEB:-$ROOT/web}"
need "test -f '$WEB/echarts.min.js'" "report.html's plotting library ($WEB/echarts.min.js; tools/fetch_web.sh)"
work_dir
DATA="${LUMAFLOW_DATA:-$ROOT/../shared/data}"
if [ "$SANITIZED" != 1 ] && [ -d "$DATA/orl" ]; then
  "$LF" analyze "$DATA/orl" -o "$W/an" --web "$WEB" --no-tsne >/dev/null
else  # generated faces, 32-px vectors, only the stages the map needs: seconds under the sanitizer
  "$LF" synth "$W/faces" --identities 6 --per 8 --size 64 --seed 5 >/dev/null
  "$LF" analyze "$W/faces" -o "$W/an" --web "$WEB" --size 32 --no-tsne --no-svm --no-heldout --no-sweep >/dev/null
fi
FACES="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["vectors"]["count"])' "$W/an/report.json")"
node "$ROOT/tests/serve/browser_report.js" "$W/an/report.html" "$OUT" "$FACES"
