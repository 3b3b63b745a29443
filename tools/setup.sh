#!/usr/bin/env bash
# lumaflow set-up: installs the Debian 12 packages the project needs (only what is missing),
# builds, and runs one job.
#
#   tools/setup.sh demo       install, build (Release), run the main job on a generated face set
#   tools/setup.sh test       install, build (Release), run the whole test suite (ctest)
#   tools/setup.sh sanitize   install, build Debug + ASan/UBSan in build-asan/, run the tests there
#   tools/setup.sh bench      install, build, run the Google Benchmark programs
#   tools/setup.sh python     install Debian's scikit-learn and umap-learn for bench/compare_python.py
#   tools/setup.sh models     fetch the face recognition weights and report.html's plotting library only
#                             (every mode above does it too)
#   tools/setup.sh build      install and build only
#   tools/setup.sh fuzz       install clang, build the libFuzzer harnesses (fuzz/) with ASan + UBSan in
#                             build-fuzz/, run each on a seed corpus made at run time for FUZZ_SECONDS
#                             (default 60); fails on any finding (kept in build-fuzz/findings/)
#
# Environment: BUILD_DIR (default build), JOBS (default nproc), LUMAFLOW_DATA (real data sets,
# default ../shared/data), OUT (demo output, default out/demo), FUZZ_SECONDS (default 60).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODE="${1:-build}"
JOBS="${JOBS:-$(nproc)}"

PACKAGES=(
  cmake g++ make pkg-config
  libtbb-dev libopencv-dev libopencv-contrib-dev opencv-data libeigen3-dev
  libflatbuffers-dev flatbuffers-compiler flatbuffers-compiler-dev libbenchmark-dev libgtest-dev
  libcli11-dev nlohmann-json3-dev libhnswlib-dev libdlib-dev libdlib-data libxxhash-dev
  libcpp-httplib-dev chromium python3-prometheus-client
  redis-server libhiredis-dev libsvm-dev
)
PY_PACKAGES=(python3 python3-numpy python3-pil python3-sklearn umap-learn)
FUZZ_PACKAGES=(clang-14 libclang-rt-14-dev)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "setup: need root (or sudo) to install: $*" >&2; exit 1; fi
}

install_missing() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

build() {
  local dir="$1"; shift
  echo "setup: building in $dir" >&2
  cmake -S "$ROOT" -B "$dir" "$@" >/dev/null
  # Progress lines hidden; warnings and errors still show.
  cmake --build "$dir" -j "$JOBS" 2>&1 | { grep -vE '^\[ *[0-9]+%\]|^gmake|^make' || true; }
}

install_missing "${PACKAGES[@]}"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
# The learned face embedding's weights (npm package, SHA-256 checked; nothing downloads at run time).
[ "$MODE" = python ] || [ "$MODE" = fuzz ] || "$ROOT/tools/fetch_models.sh" "${LUMAFLOW_MODELS:-$ROOT/models}"
# report.html's plotting library (npm package echarts, SHA-256 checked; inlined by analyze).
[ "$MODE" = python ] || [ "$MODE" = fuzz ] || "$ROOT/tools/fetch_web.sh" "${LUMAFLOW_WEB:-$ROOT/web}"

# Builds the fuzz harnesses and runs each for FUZZ_SECONDS on a fresh seed corpus.
run_fuzzers() {
  local dir="$ROOT/build-fuzz" secs="${FUZZ_SECONDS:-60}" failed=0
  echo "setup: building the fuzzers in $dir" >&2
  cmake -S "$ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g1 -O1" \
    -DCMAKE_CXX_COMPILER=clang++-14 -DLUMAFLOW_FUZZ=ON -DLUMAFLOW_TESTS=OFF -DLUMAFLOW_BENCH=OFF >/dev/null
  # Only the harnesses and what they link (not the CLI): progress lines hidden.
  cmake --build "$dir" -j "$JOBS" --target fuzzers 2>&1 | { grep -vE '^\[ *[0-9]+%\]|^gmake|^make' || true; }
  local work; work="$(mktemp -d)"
  "$dir/fuzz/make_seeds" "$work/seeds" >&2
  cp "$ROOT/tests/fixtures/v1/v1.store" "$work/seeds/store/"
  cp "$ROOT/tests/fixtures/v1/v1.model" "$work/seeds/model/"
  mkdir -p "$dir/findings"
  for t in store model decode; do
    mkdir -p "$work/corpus/$t"
    cp "$work/seeds/$t/"* "$work/corpus/$t/"
    local rc=0
    "$dir/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 \
      -artifact_prefix="$dir/findings/$t-" "$work/corpus/$t" >"$work/$t.log" 2>&1 || rc=$?
    local execs; execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log")"
    if [ "$rc" -ne 0 ]; then
      failed=1
      grep -E 'ERROR|SUMMARY|runtime error|what\(\)|Test unit written' "$work/$t.log" | head -20 >&2 || true
      echo "setup: fuzz_$t: FINDING after ${execs:-?} executions (exit $rc; input in $dir/findings/)" >&2
    else
      echo "fuzz_$t: ${execs:-?} executions in ${secs} s, 0 findings, corpus $(ls "$work/corpus/$t" | wc -l) inputs"
    fi
  done
  rm -rf "$work"
  return "$failed"
}

case "$MODE" in
  build)
    build "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
    ;;
  test)
    build "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
    cd "$BUILD_DIR" && ctest --output-on-failure -j "$JOBS"
    ;;
  sanitize)
    # -O1 keeps ASan's recommended speed; Debug keeps assertions; -g1 (line tables: reports still
    # name function, file and line) compiles a third faster than full -g here (measured on
    # nodes/measure/stages.cpp: 28 s vs 43 s).
    build "$ROOT/build-asan" -DCMAKE_BUILD_TYPE=Debug -DLUMAFLOW_SANITIZE=ON -DLUMAFLOW_BENCH=OFF -DCMAKE_CXX_FLAGS_DEBUG="-g1 -O1"
    cd "$ROOT/build-asan" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
      ctest --output-on-failure -j "$JOBS"
    ;;
  bench)
    build "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
    for b in "$BUILD_DIR"/bench/bench_*; do echo "== $b"; "$b"; done
    ;;
  python)
    install_missing "${PY_PACKAGES[@]}"
    ;;
  models)
    ;;
  fuzz)
    install_missing "${FUZZ_PACKAGES[@]}"
    run_fuzzers
    ;;
  demo)
    build "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
    OUT="${OUT:-$ROOT/out/demo}"
    LF="$BUILD_DIR/lumaflow"
    # A re-run starts from scratch: only the demo's own outputs are removed.
    rm -rf "$OUT/faces" "$OUT/arrivals" "$OUT/inbox" "$OUT/annotated" "$OUT/analysis" "$OUT/faces.store" \
      "$OUT/faces.model" "$OUT/seen.store" "$OUT"/faces.model.identities.json*
    mkdir -p "$OUT"
    "$LF" synth "$OUT/faces" --identities 12 --per 22 --seed 42
    # The last two faces of each person are held back: they arrive later, while watch runs.
    mkdir -p "$OUT/arrivals"
    for person in "$OUT"/faces/*/; do
      for f in $(ls "$person" | sort | tail -n 2); do
        mv "$person/$f" "$OUT/arrivals/$(basename "$person")_$f"
      done
    done
    "$LF" embed "$OUT/faces" -o "$OUT/faces.store"
    "$LF" analyze "$OUT/faces.store" -o "$OUT/analysis"
    "$LF" fit "$OUT/faces.store" -o "$OUT/faces.model"
    # The main job: watch a folder, name each face the moment it lands, one line per face.
    mkdir -p "$OUT/inbox"
    echo
    echo "watch: dropping $(ls "$OUT/arrivals" | wc -l) new faces into $OUT/inbox one by one (file name = who it really is):"
    "$LF" watch "$OUT/faces.model" "$OUT/inbox" --store "$OUT/seen.store" --annotate "$OUT/annotated" \
      --format csv &
    WATCH=$!
    sleep 2
    for f in $(ls "$OUT/arrivals" | sort); do
      cp "$OUT/arrivals/$f" "$OUT/inbox/.$f.part" && mv "$OUT/inbox/.$f.part" "$OUT/inbox/$f"
      sleep 0.2
    done
    sleep 2
    kill -TERM "$WATCH"
    wait "$WATCH"
    echo
    echo "results:"
    echo "  generated faces   $OUT/faces/   (+ $OUT/arrivals/, the faces watch saw)"
    echo "  embedding store   $OUT/faces.store   (lumaflow inspect $OUT/faces.store)"
    echo "  charts + report   $OUT/analysis/     (report.json, umap_16384.png, tsne_16384.png, ...)"
    echo "  fitted model      $OUT/faces.model   (lumaflow classify $OUT/faces.model IMAGE)"
    echo "  watched faces     $OUT/seen.store    (every face watch answered, durable before its line)"
    echo "  annotated frames  $OUT/annotated/    (each arrival with its name drawn on it)"
    ;;
  *)
    echo "usage: tools/setup.sh demo|test|sanitize|fuzz|bench|python|models|build" >&2; exit 2
    ;;
esac
