#!/usr/bin/python3
"""Side by side: lumaflow against the prototype's Python libraries (scikit-learn, umap-learn).

For each data set in $LUMAFLOW_DATA (default <repo>/../shared/data) among `orl` and `tvshow`, and
for each labelled face folder given with `--folder NAME=PATH` (PATH/<person>/<image>, e.g. one
written by `lumaflow synth`):

  1. runs `lumaflow embed`, `export` and `analyze` (wall time of each, and the peak RSS / CPU time
     of each child exactly, from os.wait4), then `analyze` once per stage with every other stage
     switched off, so lumaflow's stage seconds are measured alone, as Python's are (in the full
     analyze the stages share the cores concurrently); then `lumaflow split` (the held-out split
     analyze scores) and `lumaflow fit` + `classify` on its folders;
  2. in this process, on the very vectors lumaflow exported (export --npy, float32 pixel/255):
     sklearn DBSCAN on L2-normalised vectors at eps 0.5 and at lumaflow's suggested and best eps;
     sklearn t-SNE; umap-learn UMAP fitted twice (cold: includes numba's compilation; warm);
     trustworthiness(k=10) of both; RBF SVC stratified 5-fold on raw vectors and on the UMAP points;
     leave-one-out 1-NN; the held-out split read back from lumaflow split's folders (same test
     files) with umap-learn fit + transform + SVC on the 2-D points, SVC on raw, PCA + SVC, 1-NN,
     and umap-learn's single-point transform latency;
  3. prints a markdown table per data set (metric | python | lumaflow | ratio/diff | target) with the
     issue's pass/fail targets, writes it to --out and every number to --json. On --folder sets every
     stage the prototype also has (DBSCAN, t-SNE, UMAP fit warm, SVM 5-fold raw, LOO 1-NN,
     trustworthiness) carries the target python ÷ lumaflow ≥ 10×.

`--python-stages` runs only some of the Python stages (the slow ones dominate on thousands of
faces); the rows of the others show "–" and the analyze-equivalent total is then marked partial.

    /usr/bin/python3 bench/compare_python.py --datasets '' --folder synth=/tmp/x/faces --size 64 \
        --repeat 1 --python-stages dbscan,tsne,umap,trust,svm,1nn --out synth.md

Run with Debian's Python (/usr/bin/python3); `tools/setup.sh python` installs numpy, scikit-learn
and umap-learn. The machine may be shared: the load average is printed with every table.
"""

import argparse
import csv
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
import warnings

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATASETS = ("orl", "tvshow")
# The Python stages, in the order python_side runs them ("trust" needs the embeddings it scores,
# "heldout" needs umap-learn; a stage left out is not run and its rows show "–").
PY_STAGES = ("dbscan", "tsne", "umap", "trust", "svm", "1nn", "heldout")
FOLDER_SPEED_TARGET = 10.0  # python ÷ lumaflow, every prototype stage, on --folder sets
SEED = 42
TRUST_K = 10


def die(msg, code=2):
    print("compare_python: " + msg, file=sys.stderr)
    sys.exit(code)


def missing_help(missing):
    die("missing Python module(s): " + ", ".join(missing) + ".\n  Run `tools/setup.sh python` "
            "(installs Debian's python3-numpy, python3-sklearn and umap-learn) and run this script with "
            "/usr/bin/python3, not a pyenv/venv interpreter (this is %s)." % sys.executable)


def check_modules():
    """Fails early, before any lumaflow run, without importing (imports come after the lumaflow runs)."""
    import importlib.util
    missing = [n for n in ("numpy", "sklearn", "umap") if importlib.util.find_spec(n) is None]
    if missing:
        missing_help(missing)


def import_modules():
    """Imports the numeric modules, timing them (umap-learn pulls in numba)."""
    # libgomp's default busy-wait makes sklearn's OpenMP t-SNE several times slower when the cores
    # are shared with other work (measured here: 19 s vs 9 s on orl at load 6); be fair to it.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    t0 = time.perf_counter()
    missing, mods = [], {}
    for name in ("numpy", "sklearn", "umap"):
        try:
            mods[name] = __import__(name)
        except ImportError as e:  # a broken install raises ImportError too: show why
            missing.append("%s (%s)" % (name, e))
    if missing:
        missing_help(missing)
    return mods, time.perf_counter() - t0


# ---------------------------------------------------------------------------------------------
# lumaflow children


TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def run_child(cmd, log_dir, tag, stdout_path=None):
    """Runs cmd; returns wall seconds, the child's own peak RSS (MB) and CPU seconds, its output.

    The kernel carries the exec'ing parent's high-water mark into the child's ru_maxrss (and into
    lumaflow's own getrusage(RUSAGE_SELF)), so os.wait4 on a direct child of this Python process
    reports at least this process's size. GNU time forks the command from its own small process,
    so its %M is the command's own peak; without /usr/bin/time, wait4's figure is an upper bound
    (lumaflow runs before the numeric modules are imported to keep it close)."""
    out_path = stdout_path or os.path.join(log_dir, tag + ".stdout")
    err_path = os.path.join(log_dir, tag + ".stderr")
    time_path = os.path.join(log_dir, tag + ".time")
    full = [TIME, "-f", "%M %U %S", "-o", time_path] + cmd if TIME else cmd
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(full, stdout=out, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    with open(err_path, "r", errors="replace") as fh:
        stderr = fh.read()
    stdout = ""
    if stdout_path is None:
        with open(out_path, "r", errors="replace") as fh:
            stdout = fh.read()
    if p.returncode != 0:
        die("command failed (exit %d): %s\n%s" % (p.returncode, " ".join(cmd), stderr[-3000:]), 1)
    res = {"cmd": cmd, "wall_s": wall, "stdout": stdout, "stderr": stderr}
    if TIME:
        with open(time_path) as fh:
            kb, user, sys_s = fh.read().split()[-3:]
        res.update(peak_rss_mb=int(kb) / 1024.0, cpu_s=float(user) + float(sys_s), rss_method="GNU time %M")
    else:
        res.update(peak_rss_mb=ru.ru_maxrss / 1024.0, cpu_s=ru.ru_utime + ru.ru_stime,
                   rss_method="wait4 (upper bound: includes the launching Python process)")
    return res


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def files_under(root):
    out = []
    for d, _, names in os.walk(root, followlinks=True):
        for n in names:
            out.append(os.path.join(d, n))
    return sorted(out)


# ---------------------------------------------------------------------------------------------
# lumaflow's own seeded protocols, re-derived here (nodes/metrics.cpp: std::mt19937_64, rejection-
# sampled bounded draws, Fisher–Yates from the back, labels in ascending order), so the SVM can be
# compared on exactly lumaflow's folds and the split folders can be checked against the protocol.

_M64 = (1 << 64) - 1


class MT19937_64:
    """std::mt19937_64 (checked: the 10000th draw from seed 5489 is 9981545732273789042)."""

    def __init__(self, seed):
        mt = [seed & _M64]
        for i in range(1, 312):
            mt.append((6364136223846793005 * (mt[-1] ^ (mt[-1] >> 62)) + i) & _M64)
        self.mt, self.i = mt, 312

    def __call__(self):
        if self.i >= 312:
            mt = self.mt
            for k in range(312):
                x = (mt[k] & 0xFFFFFFFF80000000) | (mt[(k + 1) % 312] & 0x7FFFFFFF)
                mt[k] = mt[(k + 156) % 312] ^ (x >> 1) ^ (0xB5026F5AA96619E9 if x & 1 else 0)
            self.i = 0
        y = self.mt[self.i]
        self.i += 1
        y ^= (y >> 29) & 0x5555555555555555
        y ^= (y << 17) & 0x71D67FFFEDA60000
        y ^= (y << 37) & 0xFFF7EEE000000000
        return (y ^ (y >> 43)) & _M64


def _lf_shuffle(v, g):
    for i in range(len(v), 1, -1):
        limit = _M64 - _M64 % i
        while True:
            r = g()
            if r < limit:
                break
        j = r % i
        v[i - 1], v[j] = v[j], v[i - 1]


def _lf_groups(y):
    groups = {}
    for i, label in enumerate(y):
        groups.setdefault(int(label), []).append(i)
    return [groups[k] for k in sorted(groups)]


def lumaflow_folds(y, k, seed):
    g, fold, nxt = MT19937_64(seed), [-1] * len(y), 0
    for members in _lf_groups(y):
        _lf_shuffle(members, g)
        for i in members:
            fold[i], nxt = nxt, (nxt + 1) % k
    return fold


def lumaflow_holdout(y, test_per, seed):
    g, train, test = MT19937_64(seed), [], []
    for members, label in zip(_lf_groups(y), sorted(set(int(v) for v in y))):
        if label < 0:  # unlabelled: in neither part, and no draws
            continue
        _lf_shuffle(members, g)
        t = min(test_per, len(members) - 1)
        test += members[:t]
        train += members[t:]
    return sorted(train), sorted(test)


def knee_of_sorted(v):
    """nodes/dbscan.cpp's Kneedle: the value farthest from the chord, both axes scaled to [0, 1]."""
    n, lo, hi = len(v), v[0], v[-1]
    if n < 3 or not hi > lo:
        return v[0]
    best, gap = 0, -1.0
    for i in range(n):
        d = abs(i / (n - 1) - (v[i] - lo) / (hi - lo))
        if d > gap:
            best, gap = i, d
    return v[best]


# ---------------------------------------------------------------------------------------------
# Python side


class Timer:
    def __init__(self):
        self.s = {}

    def __call__(self, name, fn, *a, **kw):
        t0 = time.perf_counter()
        r = fn(*a, **kw)
        self.s[name] = time.perf_counter() - t0
        return r

    def best(self, name, repeat, fn, *a, **kw):
        """Runs fn `repeat` times, keeps the fastest time (the least disturbed by other load) and
        the first result; also says whether every run gave the same result."""
        first, same, times = None, True, []
        for i in range(max(1, repeat)):
            t0 = time.perf_counter()
            r = fn(*a, **kw)
            times.append(time.perf_counter() - t0)
            if i == 0:
                first = r
            else:
                same = same and bool((first == r).all())
        self.s[name] = min(times)
        self.s[name + "_all"] = times
        return first, same


def partition(truth, labels, m):
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
    np = m["numpy"]
    labels = np.asarray(labels)
    return {"clusters": int(len(set(labels.tolist()) - {-1})),
            "noise_fraction": float(np.mean(labels == -1)),
            "ari": float(adjusted_rand_score(truth, labels)),
            "nmi": float(normalized_mutual_info_score(truth, labels, average_method="arithmetic"))}


def read_dbscan_labels(path, n):
    """lumaflow's per-face DBSCAN labels (analyze's dbscan_labels.csv): {column: [label, ...]}."""
    if not os.path.exists(path):
        return {}
    rows = read_csv(path)
    if len(rows) != n:
        die("%s has %d rows for %d vectors" % (path, len(rows), n), 1)
    return {k: [int(r[k]) for r in rows] for k in ("prototype", "suggested", "best") if k in rows[0]}


def python_side(X, truth, paths, split_dirs, lf_report, m, repeat, spread_seeds, lf_labels, stages=PY_STAGES):
    np = m["numpy"]
    import umap
    from sklearn.cluster import DBSCAN
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE, trustworthiness
    from sklearn.metrics import pairwise_distances
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.preprocessing import normalize
    from sklearn.svm import SVC

    T = Timer()
    r = {"seconds": T.s, "stages": [s_ for s_ in PY_STAGES if s_ in stages]}
    n = X.shape[0]
    t_all = time.perf_counter()

    if "dbscan" in stages:
        # DBSCAN, exactly the prototype's call, then at the eps values lumaflow found.
        def dbscan(eps, min_samples):
            return DBSCAN(eps=eps, min_samples=min_samples).fit(normalize(X)).labels_

        db = {}
        from sklearn.metrics import adjusted_rand_score

        def vs_lumaflow(key, labels):
            """ARI of sklearn's labels against lumaflow's own, and the fraction of faces labelled alike."""
            if key not in lf_labels:
                return {}
            lf = np.asarray(lf_labels[key])
            # Both number clusters in discovery order: identical labellings give 1.0 for both.
            return {"ari_vs_lumaflow": float(adjusted_rand_score(lf, labels)),
                    "same_label_fraction": float(np.mean(lf == np.asarray(labels)))}

        lab05, _ = T.best("dbscan", repeat, dbscan, 0.5, 5)
        db["prototype"] = dict(partition(truth, lab05, m), eps=0.5, min_pts=5, **vs_lumaflow("prototype", lab05))
        lfd = lf_report.get("dbscan", {})
        for key in ("suggested", "best"):
            if key in lfd:
                eps, mp = float(lfd[key]["eps"]), int(lfd[key]["min_pts"])
                lab = T("dbscan_" + key, dbscan, eps, mp)
                db[key] = dict(partition(truth, lab, m), eps=eps, min_pts=mp, **vs_lumaflow(key, lab))
        # The suggested eps re-derived in float64 (5th-nearest distance incl. self, Kneedle), and
        # DBSCAN at it and at its float32 rounding (lumaflow's k_distances returns float).
        if "suggested" in lfd:
            mp = int(lfd["suggested"]["min_pts"])
            Xn64 = normalize(X.astype(np.float64))
            kd = sorted(np.sort(pairwise_distances(Xn64), axis=1)[:, mp - 1].tolist())
            knee = knee_of_sorted(kd)
            knee32 = float(np.format_float_positional(np.float32(knee), unique=True))  # decimal_value(float)
            db["knee64"] = dict(partition(truth, dbscan(knee, mp), m), eps=knee, min_pts=mp)
            db["knee32"] = dict(partition(truth, dbscan(knee32, mp), m), eps=knee32, min_pts=mp)
        r["dbscan"] = db

    # t-SNE: sklearn 1.2's defaults plus the prototype's settings; the perplexity lumaflow used
    # (it lowers 30 to (n-1)/3 on small sets; sklearn would accept 30 there but with a different
    # neighbourhood, so the trust numbers would not compare like for like).
    if "tsne" in stages:
        perp = float(lf_report.get("tsne", {}).get("perplexity", 30.0))
        perp = min(30.0, perp)
        tsne = TSNE(n_components=2, perplexity=perp, random_state=SEED, init="pca", learning_rate="auto")
        Y, tsne_same = T.best("tsne", repeat, tsne.fit_transform, X)
        r["tsne"] = {"perplexity": perp, "repeat_identical": tsne_same}
        if "trust" in stages:
            r["tsne"]["trustworthiness"] = float(T("tsne_trust", trustworthiness, X, Y, n_neighbors=TRUST_K))

    # UMAP, twice in this process: the first fit pays numba's JIT compilation.
    U = None
    if "umap" in stages:
        nn = min(15, n - 1)

        def umap_fit(data):
            return umap.UMAP(n_neighbors=nn, min_dist=0.1, random_state=SEED).fit_transform(data)

        U_cold = T("umap_cold", umap_fit, X)
        U, warm_same = T.best("umap_warm", repeat, umap_fit, X)
        r["umap"] = {"n_neighbors": nn, "min_dist": 0.1, "cold_equals_warm": bool(np.array_equal(U_cold, U) and warm_same)}
        if "trust" in stages:
            r["umap"]["trustworthiness"] = float(T("umap_trust", trustworthiness, X, U, n_neighbors=TRUST_K))

    # Classification on every labelled face.
    lab = np.flatnonzero(truth >= 0)
    Xl, yl = X[lab], truth[lab]
    skf = StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED)
    svc = lambda: SVC(C=1.0, gamma="scale")
    cls = {}
    if "svm" in stages:
        cls["svm_kfold_raw"] = float(T("svm_kfold_raw", cross_val_score, svc(), Xl, yl, cv=skf).mean())
        if U is not None:
            cls["svm_kfold_umap2"] = float(T("svm_kfold_umap", cross_val_score, svc(), U[lab], yl, cv=skf).mean())
        # The same SVC on exactly lumaflow's folds (pooled accuracy, as lumaflow counts), and how much
        # the fold draw alone moves sklearn's figure (StratifiedKFold seeds 0..spread_seeds-1).
        folds = np.array(lumaflow_folds(yl.tolist(), 5, SEED))
        right = 0
        for k in range(5):
            tr_, te_ = folds != k, folds == k
            right += int(np.sum(svc().fit(Xl[tr_], yl[tr_]).predict(Xl[te_]) == yl[te_]))
        cls["svm_kfold_raw_lf_folds"] = right / len(yl)
        if spread_seeds > 0:
            spread = [float(cross_val_score(svc(), Xl, yl, cv=StratifiedKFold(5, shuffle=True, random_state=s_)).mean())
                      for s_ in range(spread_seeds)]
            cls["svm_kfold_raw_seed_spread"] = {"mean": float(np.mean(spread)), "min": min(spread), "max": max(spread),
                                                "seeds": len(spread)}

    def loo_1nn():
        D = pairwise_distances(Xl.astype(np.float64))
        np.fill_diagonal(D, np.inf)
        return float(np.mean(yl[np.argmin(D, axis=1)] == yl))  # ties: smaller index, as lumaflow

    if "1nn" in stages:
        cls["loo_1nn_raw"] = T("loo_1nn", loo_1nn)
    r["classification"] = cls

    # Held-out: exactly lumaflow split's files, matched by resolved path.
    if split_dirs and "heldout" in stages:
        index_of = {os.path.realpath(p): i for i, p in enumerate(paths)}

        def indices(root):
            idx = []
            for f in files_under(root):
                real = os.path.realpath(f)
                if real not in index_of:
                    die("split file %s (-> %s) is not in the exported store" % (f, real), 1)
                idx.append(index_of[real])
            return np.array(sorted(idx))

        tr, te = indices(split_dirs[0]), indices(split_dirs[1])
        if len(set(tr.tolist()) & set(te.tolist())) or len(tr) + len(te) != len(lab):
            die("split folders do not partition the labelled faces (train %d, test %d, labelled %d)"
                % (len(tr), len(te), len(lab)), 1)
        Xtr, ytr, Xte, yte = X[tr], truth[tr], X[te], truth[te]
        h = {"train": int(len(tr)), "test": int(len(te))}
        # lumaflow split scans the folder, analyze uses the store: same order, so same faces.
        ltr, lte = lumaflow_holdout(truth.tolist(), int(lf_report["heldout"]["test_per_person"]), SEED)
        h["split_matches_protocol"] = ltr == tr.tolist() and lte == te.tolist()

        def raw_svm():
            return float(np.mean(svc().fit(Xtr, ytr).predict(Xte) == yte))

        def raw_1nn():
            D = pairwise_distances(Xte.astype(np.float64), Xtr.astype(np.float64))
            return float(np.mean(ytr[np.argmin(D, axis=1)] == yte))

        pca_k = int(min(lf_report.get("heldout", {}).get("pca_components", 100), len(tr) - 1, X.shape[1]))

        def pca_svm():
            p = PCA(n_components=pca_k, random_state=SEED).fit(Xtr)
            return float(np.mean(svc().fit(p.transform(Xtr), ytr).predict(p.transform(Xte)) == yte))

        h["raw_svm"] = T("heldout_raw_svm", raw_svm)
        h["raw_1nn"] = T("heldout_raw_1nn", raw_1nn)
        h["pca_components"] = pca_k
        h["pca_svm"] = T("heldout_pca_svm", pca_svm)
        red = umap.UMAP(n_neighbors=min(15, len(tr) - 1), min_dist=0.1, random_state=SEED)
        Etr = T("heldout_umap_fit", red.fit_transform, Xtr)
        Ete = T("heldout_umap_transform_batch", red.transform, Xte)
        h["umap2_svm"] = float(np.mean(svc().fit(Etr, ytr).predict(Ete) == yte))
        # Single-face latency: what classifying one new face costs with umap-learn.
        t0 = time.perf_counter()
        red.transform(Xte[0:1])
        first = time.perf_counter() - t0
        later = []
        for i in range(1, 6):
            t0 = time.perf_counter()
            red.transform(Xte[i % len(Xte):i % len(Xte) + 1])
            later.append(time.perf_counter() - t0)
        h["umap_transform_first_ms"] = first * 1e3
        h["umap_transform_mean_ms"] = 1e3 * sum(later) / len(later)
        r["heldout"] = h

    # "analyze-equivalent": what lumaflow analyze computes, once each (cold UMAP, as a fresh
    # process would pay it; no warm refit, no latency probes, no held-out UMAP transform probes).
    # With stages left out (--python-stages) the sum is partial.
    s = T.s
    r["analyze_equivalent_s"] = sum(v for k, v in s.items() if k != "umap_warm" and not k.endswith("_all"))
    r["analyze_equivalent_partial"] = [s_ for s_ in PY_STAGES if s_ not in stages]
    r["python_wall_s"] = time.perf_counter() - t_all
    r["python_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return r


# ---------------------------------------------------------------------------------------------
# table


def f(v, d=4):
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float) and (math.isinf(v) or math.isnan(v)):
        return str(v)
    return ("%%.%df" % d) % v


def secs(v):
    if v is None:
        return "–"
    return "%.4f" % v if v < 0.1 else "%.3f" % v if v < 10 else "%.1f" % v


def ratio(py, lf):
    if py is None or lf is None:
        return None
    return float("inf") if lf <= 0 else py / lf


def find_keys(d, word, path=""):
    """Every number in nested dicts/lists whose key contains `word`: {"a.b.key": value}."""
    out = {}
    if isinstance(d, dict):
        for k, v in d.items():
            p = path + "." + k if path else k
            if word in k.lower() and isinstance(v, (int, float)) and not isinstance(v, bool):
                out[p] = v
            else:
                out.update(find_keys(v, word, p))
    elif isinstance(d, list):
        for i, v in enumerate(d):
            out.update(find_keys(v, word, "%s[%d]" % (path, i)))
    return out


def get(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def build_rows(name, py, lf, runs, iso, cli, info_identical=None, folder_set=False):
    """Rows: (metric, python, lumaflow, ratio/diff, target verdict). Speed ratios are python / lumaflow.

    folder_set: a --folder set, where every prototype stage's speed carries the ≥ 10× target."""
    rows = []
    checks = []

    def verdict(ok, text, metric=None):
        checks.append({"dataset": name, "target": text, "pass": bool(ok)} | ({"metric": metric} if metric else {}))
        return ("PASS" if ok else "**FAIL**") + " (" + text + ")"

    def q(metric, pyv, lfv, target=None, digits=4):
        diff = None if pyv is None or lfv is None else lfv - pyv
        rows.append((metric, f(pyv, digits), f(lfv, digits), "" if diff is None else "%+.4f" % diff if isinstance(diff, float) else "%+d" % diff, target or ""))
        return diff

    def sp(metric, pyv, lfv, target=None):
        r = ratio(pyv, lfv)
        rows.append((metric, secs(pyv), secs(lfv), "" if r is None else "%.1f×" % r, target or ""))
        return r

    lfr = lf
    # --- DBSCAN
    for key, label in (("prototype", "eps 0.5, minPts 5"), ("suggested", "suggested eps"), ("best", "sweep's best")):
        p, l = get(py, "dbscan", key), get(lfr, "dbscan", key)
        if p is None or l is None:
            continue
        tag = "DBSCAN %s (eps %s, minPts %d)" % (label, f(p["eps"], 4), p["min_pts"]) if key != "prototype" else "DBSCAN " + label
        same = p["clusters"] == l["clusters"]
        rows.append((tag + ": clusters", str(p["clusters"]), str(l["clusters"]), "%+d" % (l["clusters"] - p["clusters"]),
                     verdict(same, "identical cluster count" + ("" if key == "prototype" else ", " + key))))
        if "ari_vs_lumaflow" in p:
            rows.append((tag + ": ARI of lumaflow's labels vs sklearn's (same label: %s of faces)" % f(p["same_label_fraction"]),
                         "", f(p["ari_vs_lumaflow"]), "", verdict(p["ari_vs_lumaflow"] >= 0.99, "ARI vs sklearn's labels ≥ 0.99")))
        q(tag + ": ARI vs folders", p["ari"], l["ari"], "identical if labels agree")
        q(tag + ": NMI vs folders", p["nmi"], l["nmi"])
        q(tag + ": noise fraction", p["noise_fraction"], l["noise_fraction"])
    ls = get(lfr, "dbscan", "suggested")
    for key, label in (("knee64", "float64"), ("knee32", "float32-rounded")):
        p = get(py, "dbscan", key)
        if p is None or ls is None:
            continue
        rows.append(("DBSCAN at python's own knee eps, %s (%.9g): clusters / noise" % (label, p["eps"]),
                     "%d / %s" % (p["clusters"], f(p["noise_fraction"])), "%d / %s" % (ls["clusters"], f(ls["noise_fraction"])),
                     "", "lf: its suggested eps (reported %s)" % f(ls["eps"])))
    # --- embeddings
    pu, lu = get(py, "umap", "trustworthiness"), get(lfr, "umap", "trustworthiness")
    d = q("UMAP trustworthiness(10)", pu, lu)
    if d is not None:
        rows[-1] = rows[-1][:4] + (verdict(d >= -0.02, "≥ umap-learn − 0.02"),)
    pt, lt = get(py, "tsne", "trustworthiness"), get(lfr, "tsne", "trustworthiness")
    d = q("t-SNE trustworthiness(10) (perplexity %s)" % f(get(py, "tsne", "perplexity"), 1), pt, lt)
    if d is not None:
        rows[-1] = rows[-1][:4] + (verdict(d >= -0.02, "≥ sklearn − 0.02"),)
    rows.append(("same numbers on every repeated run (py: t-SNE; UMAP cold = warm | lf: whole report)",
                 "%s; %s" % (f(get(py, "tsne", "repeat_identical")), f(get(py, "umap", "cold_equals_warm"))),
                 f(info_identical), "", "reproducibility"))
    # --- classification
    q("LOO 1-NN, raw", get(py, "classification", "loo_1nn_raw"), get(lfr, "classification", "loo_1nn_raw"))
    # "Same inputs": the same vectors split into the same folds. sklearn's own StratifiedKFold
    # draws other folds, which moves the accuracy by the fold-draw spread shown below.
    q("SVM 5-fold, raw — sklearn's own fold draw", get(py, "classification", "svm_kfold_raw"),
      get(lfr, "classification", "svm_kfold_raw"), "other folds: differs by the fold-draw spread")
    d = q("SVM 5-fold, raw — python SVC on lumaflow's exact folds", get(py, "classification", "svm_kfold_raw_lf_folds"),
          get(lfr, "classification", "svm_kfold_raw"))
    if d is not None:
        rows[-1] = rows[-1][:4] + (verdict(abs(d) <= 0.02 + 1e-9, "within 2 points on the same inputs (same folds)"),)
    # Support vectors of lumaflow's SVMs, if report.json carries them under any key.
    sv = find_keys({k: v for k, v in lfr.items() if k != "seconds"}, "support")
    rows.append(("lf SVM support vectors (report.json)", "", "; ".join("%s %s" % (k, v) for k, v in sv.items())
                 if sv else "not in report.json", "", ""))
    sprd = get(py, "classification", "svm_kfold_raw_seed_spread")
    if sprd:
        rows.append(("SVM 5-fold, raw — sklearn over StratifiedKFold seeds 0..%d (mean [min, max])" % (sprd["seeds"] - 1),
                     "%s [%s, %s]" % (f(sprd["mean"]), f(sprd["min"]), f(sprd["max"])), "", "", "fold-draw noise"))
    q("SVM 5-fold, 2-D UMAP (each its own UMAP)", get(py, "classification", "svm_kfold_umap2"),
      get(lfr, "classification", "svm_kfold_umap2"))
    ph, lh = get(py, "heldout"), get(lfr, "heldout")
    if ph and lh:
        rows.append(("held-out split: train / test faces", "%d / %d" % (ph["train"], ph["test"]),
                     "%d / %d" % (lh["train"], lh["test"]), "",
                     "same files (lumaflow split); matches analyze's protocol re-derived: %s" % f(ph.get("split_matches_protocol"))))
        q("held-out 1-NN raw", ph["raw_1nn"], lh.get("raw_1nn"))
        q("held-out SVM: py raw | lf PCA space (open set)", ph["raw_svm"], get(lh, "pca_svm", "accuracy"))
        q("held-out SVM: py PCA-%d | lf PCA space (closed set)" % ph["pca_components"],
          ph["pca_svm"], get(lh, "pca_svm", "closed_set_accuracy"))
        q("held-out UMAP-2D transform + SVM (lf: open set)", ph["umap2_svm"], get(lh, "umap2_svm", "accuracy"))
        q("held-out UMAP-2D transform + SVM (lf: closed set)", ph["umap2_svm"], get(lh, "umap2_svm", "closed_set_accuracy"))
        q("held-out UMAP-%s + SVM (lf only, open set)" % lh.get("umapN_components", "N"), None, get(lh, "umapN_svm", "accuracy"))
    if cli:
        q("CLI fit (space %s) + classify on the test folder" % cli.get("space", "?"), None, cli.get("accuracy"))
    # --- speed
    s_py, s_lf, s_iso = py["seconds"], lfr.get("seconds", {}), iso

    def lf_stage(stage):
        v = get(s_iso, stage)
        return v if v is not None else s_lf.get(stage)

    def speed_target(r, need, text=None):
        """Puts the pass/fail verdict of ratio r in the last row (nothing when either side is missing)."""
        if r is not None:
            rows[-1] = rows[-1][:4] + (verdict(r >= need, text or "≥ %g× faster" % need, rows[-1][0]),)

    def alone(stage):
        """How lumaflow's figure for stage was measured (--no-isolated: only inside the full analyze)."""
        return "stage alone" if get(s_iso, stage) is not None else "inside full analyze"

    for stage, label, need in (("dbscan", "DBSCAN eps 0.5 s", 10.0), ("tsne", "t-SNE s", 10.0)):
        r = sp(label + " (lf: %s)" % alone(stage), s_py.get(stage), lf_stage(stage))
        speed_target(r, need)
        if get(s_iso, stage) is not None and s_lf.get(stage) is not None:
            sp(label + " (lf: inside full analyze, stages concurrent)", s_py.get(stage), s_lf.get(stage))
    sp("UMAP fit s, umap-learn cold vs lf: %s" % alone("umap") + (" (first fit in this process: pays numba's JIT)"
       if py.get("first_in_process") else " (not cold: numba's JIT was paid on an earlier data set)"),
       s_py.get("umap_cold"), lf_stage("umap"))
    r = sp("UMAP fit s, umap-learn warm vs lf: %s" % alone("umap"), s_py.get("umap_warm"), lf_stage("umap"))
    umap_need = FOLDER_SPEED_TARGET if folder_set else 5.0
    speed_target(r, umap_need, "≥ %g× faster than umap-learn warm" % umap_need)
    if get(s_iso, "umap") is not None and s_lf.get("umap") is not None:
        sp("UMAP fit s, warm vs lf inside full analyze", s_py.get("umap_warm"), s_lf.get("umap"))
    # The remaining prototype stages have a target on --folder sets only (orl and tvshow keep the
    # issue's original targets). lumaflow's seconds here are its stages inside the full analyze.
    space = get(lfr, "vectors", "analysis_space")
    for key_py, key_lf, label in (("umap_trust", "umap_trustworthiness", "trustworthiness s (UMAP)"),
                                  ("tsne_trust", "tsne_trustworthiness", "trustworthiness s (t-SNE)"),
                                  ("svm_kfold_raw", "svm_kfold_raw",
                                   "SVM 5-fold raw s" + (" (lf in its analysis space: %s)" % space if space else "")),
                                  ("svm_kfold_umap", "svm_kfold_umap", "SVM 5-fold UMAP s"),
                                  ("loo_1nn", "loo_1nn", "LOO 1-NN s")):
        r = sp(label, s_py.get(key_py), s_lf.get(key_lf))
        if folder_set and key_py != "svm_kfold_umap":
            speed_target(r, FOLDER_SPEED_TARGET)
    if ph and lh:
        hsum = sum(v for k, v in s_py.items() if k.startswith("heldout_") and not k.endswith("_all"))
        sp("held-out protocol s (py: 3 SVMs + UMAP fit/transform; lf: model fit + 3 spaces)", hsum, s_lf.get("heldout"))
        rows.append(("one face: py umap-learn transform first call ms | lf classify() ms/face",
                     f(ph["umap_transform_first_ms"], 1), f(lh.get("classify_ms_per_face"), 3),
                     "%.0f×" % ratio(ph["umap_transform_first_ms"], lh.get("classify_ms_per_face")) if lh.get("classify_ms_per_face") else "",
                     "lf includes PCA, kNN, SVM and the 2-D UMAP place"))
        rows.append(("one face: py umap-learn transform mean of 5 later calls ms", f(ph["umap_transform_mean_ms"], 1),
                     f(lh.get("classify_ms_per_face"), 3),
                     "%.0f×" % ratio(ph["umap_transform_mean_ms"], lh.get("classify_ms_per_face")) if lh.get("classify_ms_per_face") else "", ""))
    if cli and cli.get("classify_faces_per_s"):
        rows.append(("CLI classify: faces/s (incl. decode, parallel)", "", f(cli["classify_faces_per_s"], 0), "", ""))
    a = runs["analyze"]
    partial = py.get("analyze_equivalent_partial")
    r = sp("whole analyze s (py: equivalent stages, cold UMAP%s | lf: `analyze` process wall)"
           % ("; partial, not run: " + ", ".join(partial) if partial else ""), py["analyze_equivalent_s"], a["wall_s"])
    if name == "orl":
        rows[-1] = rows[-1][:4] + (verdict(a["wall_s"] < 3.0, "lumaflow analyze on orl < 3 s"),)
    rows.append(("  lf analysis_seconds / CPU s of that analyze process; all walls", "",
                 "%s / %s; %s" % (secs(lfr.get("analysis_seconds_min")), secs(a["cpu_s"]), ", ".join(secs(v) for v in a.get("all_wall_s", []))), "", ""))
    rows.append(("peak RSS MB (py: this process so far | lf: analyze child)", f(py["python_peak_rss_mb"], 0), f(a["peak_rss_mb"], 0),
                 "%.1f×" % ratio(py["python_peak_rss_mb"], a["peak_rss_mb"]), "lf via %s; its report.json says %s" % (a.get("rss_method", "?"), f(lfr.get("peak_rss_mb"), 0))))
    rows.append(("lf embed s / export s (peak MB)", "", "%s / %s (%s / %s)" % (secs(runs["embed"]["wall_s"]), secs(runs["export"]["wall_s"]),
                 f(runs["embed"]["peak_rss_mb"], 0), f(runs["export"]["peak_rss_mb"], 0)), "", ""))
    return rows, checks


def render(name, info, rows, checks):
    out = []
    out.append("### %s — %d faces × %d values, %d people" % (name, info["n"], info["d"], info["people"]))
    out.append("")
    out.append("load average (1, 5, 15 min) at lumaflow start: %s; at python start: %s; at end: %s; %d cores; %s" % (
        info["loadavg_lumaflow"], info["loadavg_python"], info["loadavg_end"], os.cpu_count() or 0, info["versions"]))
    out.append("")
    out.append("| metric | python | lumaflow | ratio py/lf · diff lf−py | target |")
    out.append("|---|---:|---:|---:|---|")
    for r in rows:
        out.append("| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |")
    passed = sum(c["pass"] for c in checks)
    out.append("")
    out.append("targets: %d of %d pass%s" % (passed, len(checks), "" if passed == len(checks) else
                                             " — failing: " + "; ".join(
                                                 (c["metric"] + ": " if "metric" in c else "") + c["target"]
                                                 for c in checks if not c["pass"])))
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------


def load_avg():
    return "%.2f, %.2f, %.2f" % os.getloadavg()


def say(name, text):
    print("[%s] %s" % (name, text), file=sys.stderr, flush=True)


def lumaflow_phase(name, data_dir, lf, work, args, folder_set=False):
    """Every lumaflow run for one data set (before this process imports numpy & co)."""
    size = ["--size", str(args.size)] if args.size else []  # embed's crop side (fit re-embeds the folder)
    w = os.path.join(work, name)
    shutil.rmtree(w, ignore_errors=True)
    os.makedirs(w)
    info = {"loadavg_lumaflow": load_avg()}
    store, npy, lab = os.path.join(w, name + ".store"), os.path.join(w, name + ".npy"), os.path.join(w, name + ".csv")
    out = os.path.join(w, "analysis")
    runs = {}
    say(name, "lumaflow embed / export / analyze")
    runs["embed"] = run_child([lf, "embed", data_dir, "-o", store] + size, w, "embed")
    runs["export"] = run_child([lf, "export", store, "--npy", npy, "--labels", lab], w, "export")
    # The full analyze, `repeat` times: the fastest wall counts (least disturbed by other load),
    # the first run's report gives the numbers, and every run must report the same numbers.
    reports, walls = [], []
    for i in range(args.repeat):
        o = out if i == 0 else out + "_%d" % (i + 1)
        r_ = run_child([lf, "analyze", store, "-o", o], w, "analyze_%d" % (i + 1))
        with open(os.path.join(o, "report.json")) as fh:
            reports.append(json.load(fh))
        if i == 0 or r_["wall_s"] < runs["analyze"]["wall_s"]:
            runs["analyze"] = dict(r_, run=i + 1)
        walls.append(r_["wall_s"])
    runs["analyze"]["all_wall_s"] = walls
    report = reports[0]
    report["analysis_seconds_min"] = min(r_["analysis_seconds"] for r_ in reports)
    report["seconds_first_run"] = report["seconds"]
    report["seconds"] = {k: min(r_["seconds"].get(k, math.inf) for r_ in reports) for k in report["seconds"]}
    numbers = lambda r_: {k: r_.get(k) for k in ("dbscan", "umap", "tsne", "classification")} | \
        {"heldout": {k: v for k, v in r_.get("heldout", {}).items() if k != "classify_ms_per_face"}}
    info["lumaflow_repeat_identical"] = all(numbers(r_) == numbers(reports[0]) for r_ in reports)

    iso = {}
    if not args.no_isolated:
        # One stage at a time. A labelled store always runs LOO 1-NN beside the chosen stage, so
        # these runs use the same images embedded without labels (a flat folder of links).
        flat = os.path.join(w, "flat")
        os.makedirs(flat)
        for person in sorted(os.listdir(data_dir)):
            pd = os.path.join(data_dir, person)
            if os.path.isdir(pd):
                for fn in sorted(os.listdir(pd)):
                    os.symlink(os.path.join(pd, fn), os.path.join(flat, person + "__" + fn))
        flat_store = os.path.join(w, name + "_unlabelled.store")
        runs["embed_unlabelled"] = run_child([lf, "embed", flat, "-o", flat_store] + size, w, "embed_unlabelled")
        off = {"dbscan": "--no-dbscan", "umap": "--no-umap", "tsne": "--no-tsne"}
        for stage in ("dbscan", "umap", "tsne"):
            say(name, "lumaflow analyze, %s alone (x%d)" % (stage, args.repeat))
            flags = [v for k, v in off.items() if k != stage] + ["--no-svm", "--no-heldout", "--no-charts", "--no-sweep"]
            o = os.path.join(w, "alone_" + stage)
            times = []
            for i in range(args.repeat):
                run_child([lf, "analyze", flat_store, "-o", o] + flags, w, "alone_%s_%d" % (stage, i + 1))
                with open(os.path.join(o, "report.json")) as fh:
                    times.append(json.load(fh)["seconds"].get(stage))
            iso[stage] = min(times)
            iso[stage + "_all"] = times

    split_dirs, cli = None, None
    test_per = get(report, "heldout", "test_per_person")
    if test_per:
        say(name, "lumaflow split / fit / classify")
        split_dirs = (os.path.join(w, "split", "train"), os.path.join(w, "split", "test"))
        runs["split"] = run_child([lf, "split", data_dir, "--train", split_dirs[0], "--test", split_dirs[1],
                                   "--test-per", str(test_per), "--seed", str(SEED)], w, "split")
        if not args.no_cli_model:
            model = os.path.join(w, name + ".model")
            runs["fit"] = run_child([lf, "fit", split_dirs[0], "-o", model] + size, w, "fit")
            runs["classify"] = run_child([lf, "classify", model, split_dirs[1], "--format", "csv"], w, "classify",
                                         stdout_path=os.path.join(w, "classify.csv"))
            cli = {"fit_s": runs["fit"]["wall_s"], "classify_s": runs["classify"]["wall_s"]}
            for line in runs["fit"]["stdout"].splitlines():
                if "classify space" in line:
                    cli["space"] = line.split("classify space ")[1].split(",")[0]
            for line in runs["classify"]["stderr"].splitlines():
                if line.startswith("accuracy against folder names:"):
                    cli["accuracy"] = float(line.split(":")[1].split()[0])
                if line.startswith("classified ") and "faces/s" in line:
                    cli["classify_faces_per_s"] = float(line.split(",")[-1].split()[0])

    return dict(name=name, data_dir=data_dir, info=info, npy=npy, lab=lab, report=report, runs=runs, iso=iso,
                split_dirs=split_dirs, cli=cli, repeat=args.repeat, analysis_dir=out,
                spread_seeds=args.spread_seeds, folder_set=folder_set, python_stages=args.python_stages)


def python_phase(st, mods):
    np = mods["numpy"]
    name, data_dir, info, npy, lab = st["name"], st["data_dir"], st["info"], st["npy"], st["lab"]
    report, runs, iso, split_dirs, cli = st["report"], st["runs"], st["iso"], st["split_dirs"], st["cli"]
    info["loadavg_python"] = load_avg()
    say(name, "python: sklearn / umap-learn")
    X = np.load(npy)
    rows_csv = read_csv(lab)
    if X.shape[0] != len(rows_csv) or X.dtype != np.float32:
        die("%s: %s has shape %s dtype %s but %s has %d rows" % (name, npy, X.shape, X.dtype, lab, len(rows_csv)), 1)
    truth = np.array([int(r["label_index"]) for r in rows_csv])
    paths = [r["path"] if os.path.isabs(r["path"]) else os.path.join(data_dir, r["path"]) for r in rows_csv]
    lf_labels = read_dbscan_labels(os.path.join(st["analysis_dir"], "dbscan_labels.csv"), len(rows_csv))
    py = python_side(X, truth, paths, split_dirs, report, mods, st["repeat"], st["spread_seeds"], lf_labels,
                     st["python_stages"])
    py["first_in_process"] = st["first_in_process"]
    info.update(n=int(X.shape[0]), d=int(X.shape[1]), people=int(len(set(truth.tolist()) - {-1})),
                loadavg_end=load_avg(),
                versions="Python %s, numpy %s, scikit-learn %s, umap-learn %s" % (
                    platform.python_version(), np.__version__, mods["sklearn"].__version__, mods["umap"].__version__))
    rows, checks = build_rows(name, py, report, runs, iso, cli, info.get("lumaflow_repeat_identical"), st["folder_set"])
    for r in runs.values():
        r.pop("stdout", None)
        r["stderr"] = r["stderr"][-2000:]
    return {"info": info, "python": py, "lumaflow": {"report": report, "runs": runs, "stage_alone_seconds": iso, "cli": cli},
            "rows": rows, "checks": checks, "table": render(name, info, rows, checks)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lumaflow", default=os.path.join(REPO, "build", "lumaflow"), help="lumaflow binary (default: <repo>/build/lumaflow)")
    ap.add_argument("--data", default=os.environ.get("LUMAFLOW_DATA", os.path.join(REPO, "..", "shared", "data")),
                    help="folder holding orl/ and tvshow/ (default: $LUMAFLOW_DATA or <repo>/../shared/data)")
    ap.add_argument("--datasets", default=",".join(DATASETS),
                    help="comma-separated subset of orl,tvshow ('' for none, e.g. with --folder)")
    ap.add_argument("--folder", action="append", default=[], metavar="NAME=PATH",
                    help="also compare on this labelled face folder (PATH/<person>/<image>); repeatable")
    ap.add_argument("--size", type=int, help="crop side passed to lumaflow embed and fit as --size (default: theirs, 128)")
    ap.add_argument("--python-stages", default="all",
                    help="comma-separated Python stages to run, of %s (default all)" % ",".join(PY_STAGES))
    ap.add_argument("--work", default=os.path.join(REPO, "out", "compare_python"), help="scratch folder (stores, exports, reports)")
    ap.add_argument("--out", help="also write the markdown table here")
    ap.add_argument("--json", help="write every number here (default: <work>/compare_python.json)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="timed runs per speed figure, fastest kept (default 3; t-SNE, DBSCAN, UMAP warm, analyze)")
    ap.add_argument("--spread-seeds", type=int, default=5,
                    help="StratifiedKFold seeds 0..N-1 for the fold-draw spread of sklearn's SVM accuracy (default 5)")
    ap.add_argument("--no-isolated", action="store_true", help="skip the one-stage-at-a-time analyze runs")
    ap.add_argument("--no-cli-model", action="store_true", help="skip lumaflow fit + classify on the split folders")
    args = ap.parse_args()
    if args.python_stages.strip() == "all":
        args.python_stages = PY_STAGES
    else:
        args.python_stages = tuple(s_.strip() for s_ in args.python_stages.split(",") if s_.strip())
        bad = [s_ for s_ in args.python_stages if s_ not in PY_STAGES]
        if bad:
            die("unknown --python-stages %s (choose from %s, or all)" % (", ".join(bad), ",".join(PY_STAGES)))

    lf = os.path.abspath(args.lumaflow)
    if not (os.path.isfile(lf) and os.access(lf, os.X_OK)):
        die("no lumaflow binary at %s: build it (cmake --build build --target lumaflow) or pass --lumaflow PATH" % lf)
    check_modules()
    os.makedirs(args.work, exist_ok=True)

    sets = []  # (name, folder, given with --folder)
    for name in [s.strip() for s in args.datasets.split(",") if s.strip()]:
        if name not in DATASETS:
            die("unknown data set %r (choose from %s)" % (name, ", ".join(DATASETS)))
        d = os.path.join(args.data, name)
        if not os.path.isdir(d):
            print("compare_python: skipping %s: no folder %s (set LUMAFLOW_DATA)" % (name, d), file=sys.stderr)
            continue
        sets.append((name, d, False))
    for spec in args.folder:
        name, eq, d = spec.partition("=")
        if not eq or not name or not d:
            die("--folder wants NAME=PATH, got %r" % spec)
        if not all(c.isalnum() or c in "-_." for c in name) or name in (s_[0] for s_ in sets):
            die("--folder name %r must be unique and made of letters, digits, '-', '_', '.'" % name)
        if not os.path.isdir(d):
            die("--folder %s: no folder %s" % (name, d))
        sets.append((name, d, True))
    if not sets:
        die("no data set found under %s and no --folder given" % args.data, 1)
    states = [lumaflow_phase(name, os.path.abspath(d), lf, os.path.abspath(args.work), args, folder_set)
              for name, d, folder_set in sets]

    mods, import_s = import_modules()
    warnings.filterwarnings("ignore")  # umap-learn: "n_jobs overridden by random_state" etc.
    results, tables = {}, []
    for i, st in enumerate(states):
        st["first_in_process"] = i == 0
        res = python_phase(st, mods)
        results[st["name"]] = res
        tables.append(res["table"])
        print(res["table"] + "\n", flush=True)

    head = ("## lumaflow vs scikit-learn / umap-learn\n\n%s; lumaflow: %s; Python module import %.1f s "
            "(umap-learn/numba). Speed ratios are python ÷ lumaflow (> 1: lumaflow faster); diffs are lumaflow − python. "
            "sklearn DBSCAN runs on 1 thread, sklearn t-SNE's gradient on OpenMP threads, umap-learn on 1 thread "
            "(random_state set; OMP_WAIT_POLICY=%s); lumaflow on all cores. Speed figures are the fastest of %d runs "
            "(DBSCAN eps 0.5, t-SNE, UMAP warm, lumaflow stages alone and whole analyze); lumaflow's 'stage alone' "
            "runs analyze with the other stages off on the same images embedded without labels. Peak RSS: %s.\n"
            % (platform.node(), lf, import_s, os.environ.get("OMP_WAIT_POLICY"), args.repeat,
               "GNU time %M of each lumaflow process" if TIME else "wait4 (upper bound)"))
    text = head + "\n" + "\n\n".join(tables) + "\n"
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)
    jpath = args.json or os.path.join(args.work, "compare_python.json")
    all_checks = [c for r in results.values() for c in r["checks"]]
    with open(jpath, "w") as fh:
        json.dump({"lumaflow": lf, "import_seconds": import_s, "host": platform.node(), "results": results,
                   "checks": all_checks}, fh, indent=1, default=str)
    print("json: %s%s" % (jpath, "; table: " + args.out if args.out else ""), file=sys.stderr)
    print("targets: %d of %d pass" % (sum(c["pass"] for c in all_checks), len(all_checks)), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
