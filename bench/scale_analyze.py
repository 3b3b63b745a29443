#!/usr/bin/env python3
"""`lumaflow analyze` at scale: synth N faces, embed them, analyze, and print each stage's
seconds with the wall time and the peak memory of every step.

    python3 bench/scale_analyze.py --faces 20000 --people 100 --work /tmp/scale --out scale.md

Only the standard library is used. Peak memory is each child's own maximum resident set (os.wait4); report.json's own peak_rss_mb
(the analyze process's VmHWM) is printed beside it. Stages run concurrently on the graph, so
their seconds overlap: they sum to more than the wall time.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time


def measure(cmd):
    """Runs cmd to the end and never raises for its failure. Returns a dict: rc (exit code; minus
    the signal number when killed), wall_s, peak_rss_mb (this child's own ru_maxrss from os.wait4),
    cpu_s, stdout and stderr (text)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, errors="replace")
        _, status, usage = os.wait4(p.pid, 0)  # this child's own rusage
        wall = time.monotonic() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {"rc": p.returncode, "wall_s": wall, "peak_rss_mb": usage.ru_maxrss / 1024.0,
                "cpu_s": usage.ru_utime + usage.ru_stime, "stdout": out.read(), "stderr": err.read()}


def run(cmd):
    """Runs cmd, returns (wall seconds, peak RSS MB of that child, stdout); exits on failure."""
    r = measure(cmd)
    if r["rc"] != 0:
        sys.exit("%s failed (%d):\n%s" % (" ".join(cmd), r["rc"], r["stderr"][-3000:]))
    return r["wall_s"], r["peak_rss_mb"], r["stdout"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--faces", type=int, default=20000)
    ap.add_argument("--people", type=int, default=100)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--work", default="/tmp/lumaflow_scale")
    ap.add_argument("--lumaflow", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "lumaflow"))
    ap.add_argument("--keep", action="store_true", help="reuse an existing synth folder and store in --work")
    ap.add_argument("--out", help="also write the table to this markdown file")
    a = ap.parse_args()
    if a.faces % a.people:
        sys.exit("--faces must be a multiple of --people")
    lf = os.path.abspath(a.lumaflow)
    faces, store, out = os.path.join(a.work, "faces"), os.path.join(a.work, "faces.store"), os.path.join(a.work, "analysis")
    steps = []
    if not (a.keep and os.path.exists(store)):
        shutil.rmtree(a.work, ignore_errors=True)
        os.makedirs(a.work)
        steps.append(("synth", run([lf, "synth", faces, "--identities", str(a.people), "--per", str(a.faces // a.people),
                                    "--seed", str(a.seed)])))
        steps.append(("embed", run([lf, "embed", faces, "-o", store])))
    shutil.rmtree(out, ignore_errors=True)
    steps.append(("analyze", run([lf, "analyze", store, "-o", out])))
    with open(os.path.join(out, "report.json")) as fh:
        rep = json.load(fh)

    lines = ["### `lumaflow analyze` on %d synthetic faces of %d people (%d-d vectors, analysis space %s)" % (
        rep["vectors"]["count"], rep["vectors"]["people"], rep["vectors"]["dims"], rep["vectors"]["analysis_space"]), "",
        "load average at the end: %.2f, %.2f, %.2f; %d cores" % (os.getloadavg() + (os.cpu_count() or 0,)), "",
        "| step | wall s | peak RSS MB |", "|---|---:|---:|"]
    for name, (wall, rss, _) in steps:
        lines.append("| %s | %.1f | %.0f |" % (name, wall, rss))
    lines.append("| analyze (report.json: analysis_seconds, VmHWM) | %.1f | %.0f |" % (rep["analysis_seconds"], rep["peak_rss_mb"]))
    lines += ["", "| analyze stage | s |", "|---|---:|"]
    for k, v in sorted(rep["seconds"].items(), key=lambda kv: -kv[1]):
        lines.append("| %s | %.2f |" % (k, v))
    d = rep.get("dbscan", {})
    if d:
        p = d["prototype"]
        lines += ["", "DBSCAN eps %s minPts %s (%s): %d clusters, ARI %.3f; suggested eps %.3f: %d clusters; sweep up to eps %.3f "
                  "(capped by the pair budget: %s, %d pairs kept), best ARI %.3f" % (
                      p["eps"], p["min_pts"], p["space"], p["clusters"], p["ari"], d["suggested"]["eps"], d["suggested"]["clusters"],
                      d.get("sweep_max_eps", float("nan")), d.get("sweep_capped_by_pair_budget"), d.get("sweep_pairs_kept", 0),
                      d["best"]["ari"])]
    text = "\n".join(lines)
    print(text)
    if a.out:
        with open(a.out, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
