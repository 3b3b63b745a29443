// report.html in a real browser: the face map draws as many points as the report has faces, and
// the pointer on a face shows a tooltip with that face's label (checked on several faces).
// Screenshots to OUT/report.png and OUT/report-hover.png. One JSON summary line; exit 1 on failure.
//   node browser_report.js REPORT_HTML OUT_DIR FACES
"use strict";
// SHOT_SCALE (default 1) shrinks the screenshots (the README's are made with 0.6).
const path = require("path");
const {launch} = require("../../tools/browser/cdp.js");

const [report, outDir, facesText] = process.argv.slice(2);
const faces = Number(facesText);
const sleep = ms => new Promise(r => setTimeout(r, ms));

(async () => {
  const page = await launch({width: 1300, height: 1000});
  try {
    await page.goto("file://" + path.resolve(report));
    await sleep(300);
    const points = await page.eval("window.lumaflowReport.chart.getOption().series[0].data.length");
    const shown = await page.eval("window.lumaflowReport.shown()");
    await page.screenshot(path.join(outDir, "report.png"), {scale: Number(process.env.SHOT_SCALE || 1)});
    // Four faces spread over the set, among those drawn at least 10 px from any face of another
    // label (so the pointer cannot land on someone else); each hovered where the chart draws it.
    const picks = await page.eval(`(() => { const R = window.lumaflowReport, n = ${faces}, p = [], ok = [];
      for (let i = 0; i < n; ++i) p.push(R.pixelOf(i));
      for (let i = 0; i < n; ++i) { let m = 1e9;
        for (let j = 0; j < n; ++j) if (R.label(j) !== R.label(i)) m = Math.min(m, Math.hypot(p[i][0] - p[j][0], p[i][1] - p[j][1]));
        if (m >= 10) ok.push(i); }
      return [0, 1, 2, 3].map(k => ok[Math.floor(k * (ok.length - 1) / 3)]).filter(i => i !== undefined); })()`);
    const hovers = [];
    for (const i of picks) {
      const [x, y] = await page.eval(`window.lumaflowReport.pixelOf(${i})`);
      const want = await page.eval(`window.lumaflowReport.label(${i})`);
      const rect = await page.eval(`(() => { const r = document.getElementById("map").getBoundingClientRect(); return [r.left, r.top + window.scrollY]; })()`);
      await page.eval(`window.scrollTo(0, ${Math.max(0, rect[1] - 40)}); true`);
      const top = await page.eval(`document.getElementById("map").getBoundingClientRect().top`);
      await page.mouse(rect[0] + x, top + y);
      let got = "";
      for (let k = 0; k < 20 && !got; ++k) {
        await sleep(100);
        got = await page.eval(`(() => { const t = document.querySelector(".lf-tip .lf-label"); return t && t.offsetParent ? t.textContent : ""; })()`);
      }
      hovers.push({face: i, want, got});
      if (i === picks[1]) await page.screenshot(path.join(outDir, "report-hover.png"), {scale: Number(process.env.SHOT_SCALE || 1)});
      await page.mouse(5, 5);
      await sleep(150);
    }
    // A hovered point may lie under another face of the same place: the label must match.
    const bad = hovers.filter(h => h.got !== h.want);
    const ok = points === faces && shown === faces && hovers.length > 0 && bad.length === 0 && page.errors.length === 0;
    console.log(JSON.stringify({ok, faces, points, hovers, page_errors: page.errors}));
    process.exitCode = ok ? 0 : 1;
  } finally {
    await page.close();
  }
})().catch(e => { console.error("browser_report: " + e.message); process.exit(1); });
