#!/usr/bin/env bash
# Scale-out through Redis Streams on this machine: frames/s of 1 worker and of 2 workers (each
# --threads 1) on frames WITH faces, and the ratio (target >= 1.7 on 2 cores).
#
# Model: tvshow fitted with --faces detect (pixels); frames: the 5 tvshow-frames (full HD, 1-4
# faces each) published COPIES times. Every frame is published BEFORE the workers start, so
# publish never bounds the measurement; the collector does not run (it is not on the workers'
# path). Throughput = frames answered between the first and the last result entry, over that
# time (Redis's own entry-id clock), so model loading is not counted.
#
#   bench/redis_workers.sh [BUILD_DIR]     (LUMAFLOW_DATA, COPIES=40, BATCH=4)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LF="${1:-$ROOT/build}/lumaflow"
DATA="${LUMAFLOW_DATA:-$ROOT/../shared/data}"
COPIES="${COPIES:-40}" BATCH="${BATCH:-4}"
[ -d "$DATA/tvshow-frames" ] || { echo "redis_workers: no $DATA/tvshow-frames" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "redis_workers: redis-server is not installed" >&2; exit 1; }
W="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$W"; }
trap cleanup EXIT
redis-server --port "$PORT" --bind 127.0.0.1 --dir "$W" --save '' --appendonly no --daemonize no \
  --logfile "$W/redis.log" & PIDS+=($!)
R() { redis-cli -p "$PORT" "$@"; }
for i in $(seq 50); do R ping >/dev/null 2>&1 && break; sleep 0.1; done
URL="redis://127.0.0.1:$PORT"
"$LF" fit "$DATA/tvshow" --faces detect -o "$W/tv.model" >/dev/null 2>&1
mkdir "$W/frames"
for c in $(seq "$COPIES"); do for f in "$DATA"/tvshow-frames/*.jpg; do ln -s "$f" "$W/frames/${c}_$(basename "$f")"; done; done
TOTAL=$((COPIES * 5))

run() {  # $1 = number of workers -> prints frames/s
  local n="$1" wp=()
  R flushall >/dev/null
  "$LF" publish "$W/frames" --redis "$URL" --max-lag 1000000 >/dev/null 2>"$W/publish.err"
  for i in $(seq "$n"); do
    "$LF" worker "$W/tv.model" --redis "$URL" --threads 1 --batch "$BATCH" --consumer "w$i" 2>"$W/w$i.err" &
    wp+=($!); PIDS+=($!)
  done
  while :; do
    local lag pending
    lag=$(R xinfo groups frames | awk 'p{print; exit} /^lag$/{p=1}')
    pending=$(R xpending frames classify | head -1)
    [ "$lag" = "0" ] && [ "$pending" = "0" ] && break
    sleep 0.2
  done
  for p in "${wp[@]}"; do kill -TERM "$p"; wait "$p" || true; done
  R xrange results - + | python3 -c '
import sys
lines = sys.stdin.read().split("\n")
ids, frames, faces, i = [], {}, 0, 0
while i < len(lines):
    l = lines[i]
    if "-" in l and l.split("-")[0].isdigit() and len(l.split("-")) == 2 and l.split("-")[1].isdigit():
        ids.append(int(l.split("-")[0]))
    if l == "frame" and i + 1 < len(lines):
        frames.setdefault(lines[i + 1], ids[-1])
    if l == "status" and i + 1 < len(lines) and lines[i + 1] == "ok":
        faces += 1
    i += 1
t = sorted(frames.values())
print(f"{(len(t) - 1) * 1000.0 / max(1, t[-1] - t[0]):.2f} {len(t)} {faces}")'
}

read -r ONE N1 F1 <<<"$(run 1)"
read -r TWO N2 F2 <<<"$(run 2)"
echo "frames: $TOTAL published (tvshow-frames x $COPIES); answered: $N1 / $N2 frames with $F1 / $F2 faces"
echo "1 worker  (--threads 1): $ONE frames/s"
echo "2 workers (--threads 1): $TWO frames/s"
python3 -c "print(f'ratio 2 workers / 1 worker: {$TWO / $ONE:.2f}x (target >= 1.7x)')"
