#!/usr/bin/env bash
# ctest: GET /metrics of a running `watch --serve` is valid Prometheus text: parsed by
# python3-prometheus-client's text_string_to_metric_families, the counters equal what watch
# answered, the latency histogram's buckets are cumulative and end at +Inf = _count.
#   metrics_parse.sh LUMAFLOW_BIN [SANITIZED=0|1]
set -euo pipefail
LF="$1" SANITIZED=1  # generated faces are enough here (and fast under the sanitizer too)
source "$(dirname "$0")/browser_common.sh"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
need "$PY -c 'import prometheus_client.parser'" "python3-prometheus-client"
work_dir
mkdir -p "$W/in"
make_model "$W" "$SANITIZED"
start_watch "$MODEL" "$W/in" "$W/answers.jsonl" "$W/err"
n=0
for f in "${FRAMES[@]}"; do cp "$f" "$W/in/.x"; mv "$W/in/.x" "$W/in/$n.${f##*.}"; n=$((n + 1)); done
printf 'not an image' >"$W/in/.bad"; mv "$W/in/.bad" "$W/in/bad.png"
"$PY" - "$URL" "$W/answers.jsonl" "$n" <<'PY'
import json, sys, time, urllib.request
from prometheus_client.parser import text_string_to_metric_families
url, answers, frames = sys.argv[1], sys.argv[2], int(sys.argv[3])
deadline = time.time() + 60
while True:  # until every frame and the bad file have their line (errors wait their grace time)
    lines = [json.loads(l) for l in open(answers) if l.strip()]
    if len({l["path"] for l in lines}) >= frames + 1 or time.time() > deadline:
        break
    time.sleep(0.2)
with urllib.request.urlopen(url.split("?")[0] + "metrics", timeout=10) as r:
    ctype = r.headers["Content-Type"]
    text = r.read().decode()
assert ctype.startswith("text/plain; version=0.0.4"), ctype
fams = {f.name: f for f in text_string_to_metric_families(text)}
value = lambda name, suffix="_total": next(s.value for s in fams[name].samples if s.name == name + suffix)
faces = [l for l in lines if l.get("status") != "error"]
errors = [l for l in lines if l.get("status") == "error"]
assert value("lumaflow_faces") == len(faces), (value("lumaflow_faces"), len(faces))
assert value("lumaflow_unknown_faces") == sum(l["status"] == "unknown" for l in faces)
assert value("lumaflow_errors") == len(errors) == 1, (value("lumaflow_errors"), len(errors))
assert value("lumaflow_frames") == frames + 1, value("lumaflow_frames")
assert fams["lumaflow_store_records"].type == "counter"
h = fams["lumaflow_answer_latency_seconds"]
assert h.type == "histogram"
buckets = [(s.labels["le"], s.value) for s in h.samples if s.name.endswith("_bucket")]
counts = [v for _, v in buckets]
assert counts == sorted(counts) and buckets[-1][0] == "+Inf", buckets
count = next(s.value for s in h.samples if s.name.endswith("_count"))
assert buckets[-1][1] == count == len(faces), (buckets[-1], count)
print(f"metrics ok: {len(fams)} families, {len(faces)} faces, {len(errors)} error, {len(buckets)} buckets")
PY
kill -TERM "$WATCH_PID"; wait "$WATCH_PID"; WATCH_PID=""
