#!/usr/bin/env python3
"""The scale ladder: how lumaflow's steps grow with the number of faces.

For each size in --sizes (faces) with the matching count in --people:

  synth     `lumaflow synth` of size faces (side × side images, default 128, so 16,384-d pixel
            vectors) plus a few more per person, which are moved aside as held-out faces;
  embed     `lumaflow embed` of the size faces into a store;
  analyze   `lumaflow analyze` of the store (report.json's analysis_seconds and VmHWM kept too);
  fit       `lumaflow fit` of a model on the store;
  classify  `lumaflow classify --threads 1` of --classify-faces held-out faces (default 200): ms a
            face is the mean of the "ms" each JSON line reports (one face's classify(), decoding
            excluded); the wall per face (model load and decoding included) is kept beside it;
  python    with --python, on sizes up to --python-max (default 5,000), bench/compare_python.py's
            Python stages (scikit-learn, umap-learn) on the same faces: its "analyze-equivalent"
            seconds and the ratio python ÷ lumaflow analyze wall. (compare_python.py embeds and
            analyzes the folder again itself; only its Python figure is used here.)

Every child's wall seconds and peak RSS come from os.wait4 (bench/scale_analyze.py's measure()).
The kernel carries this small process's own high-water mark into a child's ru_maxrss at exec, so
a figure is at most ~20 MB high. A step that fails (non-zero exit, killed) is recorded with its last
stderr line and the ladder goes on with the next step and size; the steps that need its output are
marked skipped.

Output: a markdown table (--out), every number as JSON (--json) and two hand-written log-log SVG
charts (seconds and peak RSS MB against faces; embed, analyze and fit).

    python3 bench/scale_ladder.py --sizes 300,1000 --people 10,50 --work /tmp/ladder --out ladder.md

Only the standard library is used.
"""
import argparse
import json
import math
import os
import shlex
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scale_analyze import measure  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHART_STEPS = ("embed", "analyze", "fit")
COLOURS = {"embed": "#1f77b4", "analyze": "#d62728", "fit": "#2ca02c"}


def ints(text):
    return [int(v) for v in text.split(",") if v.strip()]


def last_line(text):
    """The last non-empty line of a child's stderr (progress bars use carriage returns)."""
    for line in reversed(text.replace("\r", "\n").splitlines()):
        if line.strip():
            return line.strip()
    return ""


def say(text):
    print("[ladder] " + text, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# running the steps


class Size:
    """One rung: its folders, and the record of every step run on it."""

    def __init__(self, work, faces, people):
        self.faces, self.people = faces, people
        self.dir = os.path.join(work, "n%d_p%d" % (faces, people))
        self.folder = os.path.join(self.dir, "faces")
        self.heldout = os.path.join(self.dir, "heldout")
        self.store = os.path.join(self.dir, "faces.store")
        self.analysis = os.path.join(self.dir, "analysis")
        self.model = os.path.join(self.dir, "faces.model")
        self.steps = {}

    def record(self, step, res, note=None):
        """Keeps a step's result (measure()'s dict without the bulky output)."""
        r = {k: v for k, v in res.items() if k not in ("stdout", "stderr")}
        r["ok"] = res["rc"] == 0
        if not r["ok"]:
            why = "killed by signal %d" % -res["rc"] if res["rc"] < 0 else "exit %d" % res["rc"]
            r["error"] = (why + ": " + last_line(res.get("stderr", ""))).rstrip(": ")
        if note:
            r["note"] = note
        self.steps[step] = r
        say("n=%d %s: %s" % (self.faces, step, "%.1f s, %.0f MB" % (r["wall_s"], r["peak_rss_mb"]) if r["ok"] else r["error"]))
        return r

    def skip(self, step, why):
        self.steps[step] = {"ok": False, "skipped": True, "error": why}
        say("n=%d %s: %s" % (self.faces, step, why))

    def ok(self, step):
        return self.steps.get(step, {}).get("ok", False)


def hold_out(sz, extra, count):
    """Moves the last `extra` images of every person to heldout/<person>/ and keeps `count` of them,
    spread over the people (round by round), so `faces` holds exactly the ladder's size."""
    moved = []
    for person in sorted(os.listdir(sz.folder)):
        pdir = os.path.join(sz.folder, person)
        files = sorted(os.listdir(pdir))
        for j, fn in enumerate(files[len(files) - extra:]):
            moved.append((j, person, fn))
    moved.sort()
    for i, (_, person, fn) in enumerate(moved):
        src = os.path.join(sz.folder, person, fn)
        if i < count:
            os.makedirs(os.path.join(sz.heldout, person), exist_ok=True)
            os.replace(src, os.path.join(sz.heldout, person, fn))
        else:
            os.remove(src)


def kept(sz, step):
    """A step's record from an earlier run (--keep), or None."""
    path = os.path.join(sz.dir, step + ".done.json")
    if os.path.exists(path):
        with open(path) as fh:
            return json.load(fh)
    return None


def mark_done(sz, step):
    with open(os.path.join(sz.dir, step + ".done.json"), "w") as fh:
        json.dump(sz.steps[step], fh)


def run_size(sz, a, lf):
    side = ["--size", str(a.side)]
    per = sz.faces // sz.people
    extra = max(1, math.ceil(a.classify_faces / sz.people))
    # synth (+ the held-out faces) and embed: reused with --keep when an earlier run finished them.
    reuse = a.keep and kept(sz, "synth") and kept(sz, "embed") and os.path.exists(sz.store)
    if reuse:
        for step in ("synth", "embed"):
            sz.steps[step] = dict(kept(sz, step), note="kept from an earlier run")
        say("n=%d: synth and store kept from an earlier run" % sz.faces)
    else:
        shutil.rmtree(sz.dir, ignore_errors=True)
        os.makedirs(sz.dir)
        cmd = [lf, "synth", sz.folder, "--identities", str(sz.people), "--per", str(per + extra),
               "--seed", str(a.seed)] + side + (["--variation", str(a.variation)] if a.variation is not None else [])
        r = sz.record("synth", measure(cmd), "includes %d held-out faces a person" % extra)
        if r["ok"]:
            try:
                hold_out(sz, extra, a.classify_faces)
            except OSError as e:
                r.update(ok=False, error="holding faces out: %s" % e)
        if r["ok"]:
            mark_done(sz, "synth")
            if sz.record("embed", measure([lf, "embed", sz.folder, "-o", sz.store] + side))["ok"]:
                mark_done(sz, "embed")
        else:
            sz.skip("embed", "no faces (synth failed)")

    if sz.ok("embed"):
        shutil.rmtree(sz.analysis, ignore_errors=True)
        res = measure([lf, "analyze", sz.store, "-o", sz.analysis] + shlex.split(a.analyze_flags))
        r = sz.record("analyze", res)
        if res["rc"] == 5:  # partial: a stage failed, the rest was written
            r["partial"] = True
        rep_path = os.path.join(sz.analysis, "report.json")
        if os.path.exists(rep_path):
            with open(rep_path) as fh:
                rep = json.load(fh)
            r["report"] = {k: rep.get(k) for k in ("analysis_seconds", "peak_rss_mb", "seconds", "vectors", "classification")}
        r_fit = sz.record("fit", measure([lf, "fit", sz.store, "-o", sz.model] + shlex.split(a.fit_flags)))
    else:
        for step in ("analyze", "fit"):
            sz.skip(step, "no store (embed failed)")
        r_fit = sz.steps["fit"]

    if r_fit["ok"] and os.path.isdir(sz.heldout):
        res = measure([lf, "classify", sz.model, sz.heldout, "--threads", "1"])
        r = sz.record("classify", res)
        ms = []
        for line in res["stdout"].splitlines():
            try:
                v = json.loads(line)
            except ValueError:
                continue
            if isinstance(v, dict) and isinstance(v.get("ms"), (int, float)):
                ms.append(v["ms"])
        r["faces"] = len(ms)
        if ms:
            r["ms_per_face"] = sum(ms) / len(ms)
            r["wall_ms_per_face"] = 1e3 * r["wall_s"] / len(ms)
        for line in res["stderr"].splitlines():
            if line.startswith("accuracy against folder names:"):
                r["accuracy"] = float(line.split(":")[1].split()[0])
    else:
        sz.skip("classify", "no model (fit failed)" if not r_fit["ok"] else "no held-out faces")

    if a.python and sz.faces <= a.python_max and sz.ok("embed"):
        run_python(sz, a, lf)


def run_python(sz, a, lf):
    """compare_python.py on this size's folder, in its own process (numpy & co never enter this one)."""
    cdir = os.path.join(sz.dir, "compare")
    os.makedirs(cdir, exist_ok=True)
    jpath, mpath = os.path.join(cdir, "compare_python.json"), os.path.join(cdir, "compare_python.md")
    name = "ladder%d" % sz.faces
    py = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
    cmd = [py, os.path.join(REPO, "bench", "compare_python.py"), "--lumaflow", lf, "--datasets", "",
           "--folder", "%s=%s" % (name, sz.folder), "--size", str(a.side), "--work", cdir, "--json", jpath,
           "--out", mpath, "--repeat", "1", "--no-isolated", "--spread-seeds", "0", "--python-stages", a.python_stages]
    r = sz.record("python", measure(cmd))
    if r["ok"]:
        with open(jpath) as fh:
            res = json.load(fh)["results"][name]["python"]
        r["analyze_equivalent_s"] = res["analyze_equivalent_s"]
        r["partial"] = res.get("analyze_equivalent_partial", [])
        r["seconds"] = {k: v for k, v in res["seconds"].items() if not k.endswith("_all")}
        r["table"] = mpath
        if sz.ok("analyze"):
            r["ratio"] = r["analyze_equivalent_s"] / sz.steps["analyze"]["wall_s"]


# ---------------------------------------------------------------------------------------------
# table


def cell(sz, step, fmt):
    r = sz.steps.get(step)
    if r is None:
        return "–"
    if not r["ok"]:
        text = ("skipped: " if r.get("skipped") else "**failed**: ") + r["error"]
        return (text if len(text) <= 120 else text[:117] + "…").replace("|", "\\|")
    return fmt(r) + (" *" if r.get("note") == "kept from an earlier run" else "")


def table(sizes, a, lf):
    lines = ["### Scale ladder: `lumaflow` steps against the number of faces", "",
             "%s; %d×%d synthetic faces (seed %d); load average at the end %.2f, %.2f, %.2f; %d cores; %s" % (
                 lf, a.side, a.side, a.seed, *os.getloadavg(), os.cpu_count() or 0, time.strftime("%Y-%m-%d %H:%M")), "",
             "| size | people | synth s | embed s | analyze s / MB | fit s / MB | classify ms/face | "
             "python analyze-equivalent s | ratio |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for sz in sizes:
        analyze = cell(sz, "analyze", lambda r: "%.1f / %.0f%s" % (r["wall_s"], r["peak_rss_mb"],
                                                                    " (partial)" if r.get("partial") else ""))
        if sz.steps.get("analyze", {}).get("partial"):
            analyze = "%.1f / %.0f (partial: %s)" % (sz.steps["analyze"]["wall_s"], sz.steps["analyze"]["peak_rss_mb"],
                                                     sz.steps["analyze"]["error"].replace("|", "\\|")[:60])
        classify = cell(sz, "classify", lambda r: "%.3f (wall %.2f ms, %d faces)" % (
            r["ms_per_face"], r["wall_ms_per_face"], r["faces"]) if "ms_per_face" in r else "no answers")
        python = cell(sz, "python", lambda r: "%.1f%s" % (r["analyze_equivalent_s"],
                                                          " (partial)" if r.get("partial") else ""))
        ratio = "%.1f×" % sz.steps["python"]["ratio"] if sz.steps.get("python", {}).get("ratio") else "–"
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            "{:,}".format(sz.faces), "{:,}".format(sz.people), cell(sz, "synth", lambda r: "%.1f" % r["wall_s"]),
            cell(sz, "embed", lambda r: "%.1f" % r["wall_s"]), analyze,
            cell(sz, "fit", lambda r: "%.1f / %.0f" % (r["wall_s"], r["peak_rss_mb"])), classify, python, ratio))
    lines += ["", "synth s includes the held-out faces; MB is each child's peak RSS (os.wait4); classify ms/face is "
              "the mean of the answers' \"ms\" (one face, `--threads 1`), wall = the whole classify run ÷ faces "
              "(model load and decoding included); ratio = python ÷ lumaflow analyze wall. * kept from an earlier "
              "run (--keep)."]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# log-log SVG


def decade_label(e):
    v = 10.0 ** e
    return "{:,}".format(int(round(v))) if e >= 0 else ("%.*f" % (-e, v))


def loglog_svg(title, ylabel, series, width=640, height=400):
    """series: {name: [(x, y), ...]} with x, y > 0. Log axes, ticks and labels at each decade."""
    pts = [p for s in series.values() for p in s if p[0] > 0 and p[1] > 0]
    left, right, top, bottom = 70, 110, 40, 50
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
           'font-family="sans-serif" font-size="12">' % (width, height, width, height),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="22" font-size="14" font-weight="bold">%s</text>' % (left, esc(title))]
    if not pts:
        out += ['<text x="%d" y="%d">no data</text>' % (left, height // 2), "</svg>"]
        return "\n".join(out)
    lx = [math.log10(p[0]) for p in pts]
    ly = [math.log10(p[1]) for p in pts]
    x0, x1 = math.floor(min(lx)), math.ceil(max(lx))
    y0, y1 = math.floor(min(ly)), math.ceil(max(ly))
    x1, y1 = max(x1, x0 + 1), max(y1, y0 + 1)
    pw, ph = width - left - right, height - top - bottom

    def X(v):
        return left + (math.log10(v) - x0) / (x1 - x0) * pw

    def Y(v):
        return top + ph - (math.log10(v) - y0) / (y1 - y0) * ph

    # grid: light lines at 2..9 × each decade, darker ones with labels at the decades
    for e in range(x0, x1 + 1):
        for m in range(1, 10 if e < x1 else 2):
            x = X(m * 10.0 ** e)
            out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"/>' % (
                x, top, x, top + ph, "#bbb" if m == 1 else "#eee"))
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' % (X(10.0 ** e), top + ph + 18, decade_label(e)))
    for e in range(y0, y1 + 1):
        for m in range(1, 10 if e < y1 else 2):
            y = Y(m * 10.0 ** e)
            out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s"/>' % (
                left, y, left + pw, y, "#bbb" if m == 1 else "#eee"))
        out.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (left - 6, Y(10.0 ** e) + 4, decade_label(e)))
    out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>' % (left, top, pw, ph))
    out.append('<text x="%d" y="%d" text-anchor="middle">faces</text>' % (left + pw // 2, height - 12))
    out.append('<text transform="translate(18 %d) rotate(-90)" text-anchor="middle">%s</text>' % (top + ph // 2, esc(ylabel)))
    for i, (name, s) in enumerate(series.items()):
        colour = COLOURS.get(name, "#555")
        s = sorted(p for p in s if p[0] > 0 and p[1] > 0)
        if len(s) > 1:
            out.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>' % (
                colour, " ".join("%.1f,%.1f" % (X(x), Y(y)) for x, y in s)))
        for x, y in s:
            out.append('<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>%s: %s faces, %.3g</title></circle>' % (
                X(x), Y(y), colour, esc(name), "{:,}".format(int(x)), y))
        ly_ = top + 14 + 20 * i
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/>' % (
            left + pw + 12, ly_, left + pw + 34, ly_, colour))
        out.append('<text x="%d" y="%d">%s</text>' % (left + pw + 40, ly_ + 4, esc(name)))
    out.append("</svg>")
    return "\n".join(out)


def esc(text):
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def charts(sizes, prefix):
    """Writes PREFIX_seconds.svg and PREFIX_rss.svg; returns their paths."""
    def series(key):
        return {step: [(sz.faces, sz.steps[step][key]) for sz in sizes
                       if sz.steps.get(step, {}).get("ok") or sz.steps.get(step, {}).get("partial")]
                for step in CHART_STEPS}

    paths = []
    for suffix, title, ylabel, key in (("seconds", "Wall seconds per step", "seconds", "wall_s"),
                                       ("rss", "Peak RSS per step", "peak RSS MB", "peak_rss_mb")):
        path = "%s_%s.svg" % (prefix, suffix)
        with open(path, "w") as fh:
            fh.write(loglog_svg(title, ylabel, series(key)) + "\n")
        paths.append(path)
    return paths


# ---------------------------------------------------------------------------------------------


def render_only(a):
    """--from-json: the rungs measured by separate runs (e.g. the small rungs and a 100,000-face
    rung on another day) in one table and one pair of charts, ordered by size."""
    by_size, lf = {}, None
    for path in a.from_json.split(","):
        with open(path) as fh:
            d = json.load(fh)
        lf = d.get("lumaflow", lf)
        for r in d["rungs"]:
            sz = Size(os.path.dirname(r["dir"]), r["faces"], r["people"])
            sz.steps = r["steps"]
            by_size[r["faces"]] = sz
    rungs = [by_size[n] for n in sorted(by_size)]
    out = a.out or "ladder.md"
    stem = out[:-3] if out.endswith(".md") else out
    text = table(rungs, a, lf or a.lumaflow) + "\n\ncharts: %s\n" % ", ".join(
        os.path.basename(p) for p in charts(rungs, a.svg or stem))
    text += "\nrungs from %s\n" % a.from_json
    print(text)
    with open(out, "w") as fh:
        fh.write(text)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,5000,20000,100000", help="faces per rung (default 1000,5000,20000,100000)")
    ap.add_argument("--people", default="100,250,1000,1000", help="people per rung, one per size (default 100,250,1000,1000)")
    ap.add_argument("--side", type=int, default=128, help="image side for synth and embed --size (default 128: 16,384-d)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--variation", type=float, help="synth --variation (default: synth's own)")
    ap.add_argument("--classify-faces", type=int, default=200, help="held-out faces classified per rung (default 200)")
    ap.add_argument("--analyze-flags", default="", help="extra flags for lumaflow analyze, one string: --analyze-flags=\"--no-charts\"")
    ap.add_argument("--fit-flags", default="", help="extra flags for lumaflow fit (one string)")
    ap.add_argument("--work", default="/tmp/lumaflow_ladder", help="scratch folder (default /tmp/lumaflow_ladder)")
    ap.add_argument("--lumaflow", default=os.path.join(REPO, "build", "lumaflow"), help="binary (default <repo>/build/lumaflow)")
    ap.add_argument("--keep", action="store_true", help="reuse each rung's synth folder and store from an earlier run")
    ap.add_argument("--python", action="store_true", help="also run compare_python.py's Python stages (sizes ≤ --python-max)")
    ap.add_argument("--python-max", type=int, default=5000, help="largest size for --python (default 5000)")
    ap.add_argument("--python-stages", default="all", help="passed to compare_python.py --python-stages (default all)")
    ap.add_argument("--out", help="markdown table (default <work>/ladder.md)")
    ap.add_argument("--json", help="every number (default: the --out path with .json)")
    ap.add_argument("--svg", help="chart prefix: PREFIX_seconds.svg, PREFIX_rss.svg (default: the --out path without .md)")
    ap.add_argument("--from-json", help="run nothing: one table and one pair of charts from the rungs of earlier "
                                        "runs' --json files (comma-separated; a later file's rung of the same size wins)")
    a = ap.parse_args()
    if a.from_json:
        return render_only(a)

    sizes, people = ints(a.sizes), ints(a.people)
    if len(sizes) != len(people):
        sys.exit("scale_ladder: --sizes has %d values, --people %d" % (len(sizes), len(people)))
    for n, p in zip(sizes, people):
        if p <= 0 or n % p:
            sys.exit("scale_ladder: size %d is not a positive multiple of %d people" % (n, p))
    lf = os.path.abspath(a.lumaflow)
    if not os.access(lf, os.X_OK):
        sys.exit("scale_ladder: no lumaflow binary at %s (build it or pass --lumaflow)" % lf)
    a.work = os.path.abspath(a.work)
    os.makedirs(a.work, exist_ok=True)
    out = a.out or os.path.join(a.work, "ladder.md")
    stem = out[:-3] if out.endswith(".md") else out
    jpath, prefix = a.json or stem + ".json", a.svg or stem

    rungs = []
    for n, p in zip(sizes, people):
        sz = Size(a.work, n, p)
        rungs.append(sz)
        run_size(sz, a, lf)

    text = table(rungs, a, lf)
    svgs = charts(rungs, prefix)
    text += "\n\ncharts: %s\n" % ", ".join(os.path.basename(p) for p in svgs)
    print(text)
    with open(out, "w") as fh:
        fh.write(text)
    with open(jpath, "w") as fh:
        json.dump({"lumaflow": lf, "side": a.side, "seed": a.seed, "loadavg_end": os.getloadavg(),
                   "cores": os.cpu_count(), "rungs": [{"faces": sz.faces, "people": sz.people, "dir": sz.dir,
                                                       "steps": sz.steps} for sz in rungs]}, fh, indent=1)
    say("table %s, json %s, charts %s" % (out, jpath, ", ".join(svgs)))
    failed = [(sz.faces, s) for sz in rungs for s, r in sz.steps.items() if not r["ok"] and not r.get("skipped")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
