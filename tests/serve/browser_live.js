// The live page in a real browser: opens URL, then copies each frame into the watched folder
// (write under a dot name, rename in) and records when each face's row appears on the page
// (a MutationObserver keyed by file name and face index). After the last frame it compares with
// watch's answer file: every face line must have appeared, each within LIMIT_MS of its file's
// arrival. Screenshot to OUT/live.png. Prints one JSON summary line; exit 1 on failure.
//   node browser_live.js URL IN_DIR ANSWERS OUT_DIR LIMIT_MS INTERVAL_MS FRAME...
"use strict";
// SHOT_SCALE (default 1) shrinks the screenshots (the README's are made with 0.6).
const fs = require("fs");
const path = require("path");
const {launch} = require("../../tools/browser/cdp.js");

const [url, inDir, answers, outDir, limitMs, intervalMs, ...frames] = process.argv.slice(2);
const sleep = ms => new Promise(r => setTimeout(r, ms));

(async () => {
  const page = await launch({width: 1400, height: 900});
  const arrived = {};
  try {
    await page.goto(url);
    await page.eval(`window.__seen = {}; new MutationObserver(ms => { for (const m of ms) for (const n of m.addedNodes)
      if (n.classList && n.classList.contains("face")) {
        const k = n.dataset.path.split("/").pop() + "#" + n.dataset.face;
        if (!(k in window.__seen)) window.__seen[k] = Date.now(); } })
      .observe(document.querySelector("ol#faces"), {childList: true}); true`);
    for (let i = 0; i < 100 && !(await page.eval(`document.getElementById("conn").textContent === "live"`)); ++i) await sleep(100);
    let n = 0;
    for (const f of frames) {
      const name = `${String(n++).padStart(3, "0")}_${path.basename(f)}`;
      const tmp = path.join(inDir, "." + name);
      fs.copyFileSync(f, tmp);
      arrived[name] = Date.now();
      fs.renameSync(tmp, path.join(inDir, name));
      await sleep(Number(intervalMs));
    }
    await sleep(1500);
    await page.screenshot(path.join(outDir, "live.png"), {scale: Number(process.env.SHOT_SCALE || 1)});
    const seen = await page.eval("window.__seen");
    const listed = await page.eval(`[...document.querySelectorAll("ol#faces > li.face")].filter(li => li.offsetHeight > 0).length`);
    const lines = fs.readFileSync(answers, "utf8").split("\n").filter(Boolean).map(l => JSON.parse(l));
    const faces = lines.filter(l => l.status !== "error");
    const late = [], missing = [];
    let worst = 0;
    for (const l of faces) {
      const name = l.path.split("/").pop();
      const k = name + "#" + l.face;
      if (!(k in seen)) { missing.push(k); continue; }
      const d = seen[k] - arrived[name];
      worst = Math.max(worst, d);
      if (d > Number(limitMs)) late.push(`${k} ${d} ms`);
    }
    const ok = faces.length > 0 && late.length === 0 && missing.length === 0 && page.errors.length === 0 &&
      listed === Math.min(200, lines.length);
    console.log(JSON.stringify({ok, frames: frames.length, faces: faces.length, listed, worst_ms: worst, late, missing,
      page_errors: page.errors}));
    process.exitCode = ok ? 0 : 1;
  } finally {
    await page.close();
  }
})().catch(e => { console.error("browser_live: " + e.message); process.exit(1); });
