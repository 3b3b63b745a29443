#!/usr/bin/env bash
# What --serve costs `watch`: 20 generated 128-px faces a second arrive in a watched folder for
# DURATION seconds (default 60), watched plain, with --serve and 1 page, and with --serve and 10
# pages (curl -N /events clients reading every event), RUNS times each (default 3), the three
# set-ups interleaved (plain, 1 page, 10 pages, plain, ...) so that a change in the machine's load
# falls on all of them alike. Prints, per run, the per-face answer latency ("ms" of the answer
# lines: file settled -> line written) p50 / p99 / max, and watch's RSS (sampled each second) after
# 1 s, after 30 s (the live state's ring of 500 lines is full by then) and at the end, and its
# peak; then a markdown table.
#   bench/live_serve.sh [BUILD_DIR]     (DURATION=60 RUNS=3 RATE=20 THREADS=2)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LF="${1:-$ROOT/build}/lumaflow"
W="$(mktemp -d)"; trap 'rm -rf "$W"' EXIT
"$LF" synth "$W/faces" --identities 10 --per 30 --size 128 --seed 11 >/dev/null
"$LF" fit "$W/faces" -o "$W/faces.model" >/dev/null 2>&1
DURATION="${DURATION:-60}" RUNS="${RUNS:-3}" RATE="${RATE:-20}" THREADS="${THREADS:-2}" \
  python3 - "$LF" "$W" <<'PY'
import glob, json, os, shutil, subprocess, sys, time
lf, w = sys.argv[1], sys.argv[2]
duration, runs, rate, threads = (float(os.environ["DURATION"]), int(os.environ["RUNS"]),
                                 float(os.environ["RATE"]), os.environ["THREADS"])
pool = sorted(glob.glob(f"{w}/faces/*/*"))

def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

def run(pages, k):
    d = f"{w}/run-{pages}-{k}"
    os.makedirs(f"{d}/in")
    port = 18400 + pages * 10 + k
    cmd = [lf, "watch", f"{w}/faces.model", f"{d}/in", "--out", f"{d}/answers.jsonl", "--threads", threads]
    if pages >= 0:
        cmd += ["--serve", f"127.0.0.1:{port}"]
    err = open(f"{d}/err", "w")
    p = subprocess.Popen(cmd, stderr=err)
    time.sleep(2.0)
    clients = [subprocess.Popen(["curl", "-sN", f"http://127.0.0.1:{port}/events"], stdout=subprocess.DEVNULL)
               for _ in range(max(0, pages))]
    time.sleep(0.5)
    rss, i, t0, next_sample = [], 0, time.monotonic(), 0.0
    while (now := time.monotonic() - t0) < duration:
        if now >= next_sample:
            rss.append(rss_kb(p.pid)); next_sample += 1.0
        src = pool[i % len(pool)]
        dst = f"{d}/in/{i:06d}{os.path.splitext(src)[1]}"
        shutil.copyfile(src, f"{d}/in/.tmp"); os.rename(f"{d}/in/.tmp", dst)
        i += 1
        time.sleep(max(0.0, t0 + i / rate - time.monotonic()))
    time.sleep(1.5)
    rss.append(rss_kb(p.pid))
    for c in clients:
        c.terminate(); c.wait()
    p.terminate(); p.wait()
    ms = sorted(json.loads(l)["ms"] for l in open(f"{d}/answers.jsonl") if '"ms"' in l)
    q = lambda x: ms[min(len(ms) - 1, int(x * len(ms)))]
    shutil.rmtree(d)
    return dict(files=i, faces=len(ms), p50=q(0.5), p99=q(0.99), max=ms[-1], rss0=rss[1] / 1024,
                rss30=rss[min(len(rss) - 1, 30)] / 1024,
                rss1=rss[-1] / 1024, rssmax=max(rss) / 1024)

rows = []
setups = ((-1, "watch"), (1, "watch --serve, 1 page"), (10, "watch --serve, 10 pages"))
for k in range(runs):
    for pages, name in setups:
        r = run(pages, k)
        rows.append((name, k + 1, r))
        print(f"{name} run {k + 1}: {r['files']} files, {r['faces']} faces; ms p50 {r['p50']:.2f} p99 {r['p99']:.2f} "
              f"max {r['max']:.1f}; RSS MB {r['rss0']:.1f} / {r['rss30']:.1f} / {r['rss1']:.1f} (peak {r['rssmax']:.1f})",
              flush=True)
rows.sort(key=lambda row: [name for _, name in setups].index(row[0]))
print(f"\n| {rate:g} faces/s for {duration:g} s | run | p50 ms | p99 ms | max ms | RSS MB after 1 s / 30 s / end (peak) |")
print("|---|---|---|---|---|---|")
for name, k, r in rows:
    print(f"| {name} | {k} | {r['p50']:.2f} | {r['p99']:.2f} | {r['max']:.1f} | "
          f"{r['rss0']:.1f} / {r['rss30']:.1f} / {r['rss1']:.1f} ({r['rssmax']:.1f}) |")
PY
