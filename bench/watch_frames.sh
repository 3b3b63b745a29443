#!/usr/bin/env bash
# Per-frame latency of `watch` with a learned (resnet) model on real TV frames: fits tvshow with
# --embedding resnet --faces align, then copies the tvshow-frames into a watched folder one at a
# time (COPIES rounds of the 5 frames, INTERVAL seconds apart) and reports the "ms" of every answer
# line (file settled -> face durable in the store -> line written: detection + landmarks + chip +
# descriptor + classify + fsync), as p50 / p99 / max per frame (its last face's line) and per face.
#
#   bench/watch_frames.sh [BUILD_DIR]     (LUMAFLOW_DATA, COPIES=10, INTERVAL=0.5, THREADS=2)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LF="${1:-$ROOT/build}/lumaflow"
DATA="${LUMAFLOW_DATA:-$ROOT/../shared/data}"
COPIES="${COPIES:-10}" INTERVAL="${INTERVAL:-0.5}" THREADS="${THREADS:-2}"
W="$(mktemp -d)"; trap 'kill $PID 2>/dev/null || true; rm -rf "$W"' EXIT
"$LF" fit "$DATA/tvshow" --embedding resnet --faces align -o "$W/tv.model" >/dev/null 2>&1
mkdir "$W/in"
"$LF" watch "$W/tv.model" "$W/in" --store "$W/seen.store" --out "$W/answers.jsonl" --threads "$THREADS" 2>"$W/err" &
PID=$!
sleep 3  # model, detector, landmarks and network loaded
for c in $(seq "$COPIES"); do
  for f in "$DATA"/tvshow-frames/*.jpg; do
    cp "$f" "$W/in/.tmp"; mv "$W/in/.tmp" "$W/in/${c}_$(basename "$f")"; sleep "$INTERVAL"
  done
done
sleep 3; kill -TERM $PID; wait $PID || true
python3 - "$W/answers.jsonl" <<'PY'
import json, sys
ms, frames = [], {}
for line in open(sys.argv[1]):
    j = json.loads(line)
    if "ms" in j:
        ms.append(j["ms"]); frames.setdefault(j["path"], []).append(j["ms"])
# A frame is answered when its last face's line is written.
per_frame = sorted(max(v) for v in frames.values())
ms.sort()
q = lambda xs, p: xs[min(len(xs) - 1, int(p * len(xs)))]
print(f"{len(frames)} frames, {len(ms)} faces")
print(f"per-frame latency ms (last face's line): p50 {q(per_frame, 0.5):.1f}  p99 {q(per_frame, 0.99):.1f}  max {per_frame[-1]:.1f}")
print(f"per-face answer latency ms:             p50 {q(ms, 0.5):.1f}  p99 {q(ms, 0.99):.1f}  max {ms[-1]:.1f}")
PY
