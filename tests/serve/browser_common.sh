# Shared by the browser and metrics tests (sourced): skip or fail rules, a fitted model, a watch
# with --serve on a free port. Sets ROOT (the source tree).
#   need CMD WHAT: without CMD, exit 77 (ctest SKIP) outside CI, 1 when CI=true.
#   need_browser: node and chromium (tools/browser/cdp.js finds it), else as need.
#   browser_test LUMAFLOW_BIN OUT_DIR [SANITIZED=0|1]: sets LF, OUT (made), SANITIZED; needs a browser.
#   work_dir: sets W, a temp dir removed at exit (after killing the watch start_watch started).
#   make_model W SANITIZED: sets MODEL and FRAMES (tvshow fitted with --faces align and the
#     tvshow-frames when $LUMAFLOW_DATA has them and the build is not sanitized, else generated
#     faces, 5 people, 32-px vectors: seconds under the sanitizer).
#   start_watch MODEL IN ANSWERS ERR: sets WATCH_PID and URL.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

need() {
  if ! eval "$1" >/dev/null 2>&1; then
    if [ "${CI:-}" = true ]; then echo "FAIL: $2 is missing (CI=true)" >&2; exit 1; fi
    echo "SKIP: $2 is missing (tools/setup.sh installs it)" >&2; exit 77
  fi
}

need_browser() {
  need "command -v node" "node"
  need "node -e 'process.exit(require(\"$ROOT/tools/browser/cdp.js\").findChromium() ? 0 : 1)'" "chromium"
}

browser_test() {
  LF="$1" OUT="$2" SANITIZED="${3:-0}"
  need_browser
  mkdir -p "$OUT"
}

work_dir() {
  W="$(mktemp -d)"
  trap '[ -n "${WATCH_PID:-}" ] && kill "$WATCH_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
}

make_model() {
  local w="$1" sanitized="$2" data="${LUMAFLOW_DATA:-$ROOT/../shared/data}"
  MODEL="$w/faces.model"
  if [ "$sanitized" != 1 ] && [ -d "$data/tvshow" ] && [ -d "$data/tvshow-frames" ]; then
    # shellcheck disable=SC2086  # FIT_ARGS: e.g. "--embedding resnet --faces align" for the README's picture
    "$LF" fit "$data/tvshow" ${FIT_ARGS:---faces align} -o "$MODEL" >/dev/null
    FRAMES=("$data"/tvshow-frames/*.jpg)
  else
    "$LF" synth "$w/synth" --identities 5 --per 6 --size 64 --seed 7 >/dev/null
    "$LF" fit "$w/synth" --size 32 -o "$MODEL" >/dev/null
    FRAMES=()
    for p in "$w"/synth/*/; do FRAMES+=("$(ls "$p"* | head -1)"); done
  fi
}

start_watch() {
  "$LF" watch "$1" "$2" --serve 127.0.0.1:0 --out "$3" 2>"$4" &
  WATCH_PID=$!
  URL=""
  for _ in $(seq 300); do
    URL="$(sed -n 's/.*serving the live page at \(http[^ ]*\).*/\1/p' "$4")"
    [ -n "$URL" ] && break
    kill -0 "$WATCH_PID" 2>/dev/null || { cat "$4" >&2; echo "FAIL: watch --serve did not start" >&2; exit 1; }
    sleep 0.1
  done
  [ -n "$URL" ] || { echo "FAIL: no address from watch --serve" >&2; exit 1; }
}
