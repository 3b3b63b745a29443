#include "nodes/serve/report_page.hpp"

namespace lumaflow {

const std::string& report_page_html() {
  static const std::string page = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lumaflow analyze — report</title>
<style>
body{font:14px system-ui,sans-serif;margin:0 auto;max-width:1280px;padding:0 16px 40px;color:#1d232a}
h1{font-size:20px;margin:16px 0 4px}h2{font-size:16px;margin:26px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.note{background:#fff4d6;border:1px solid #e9c46a;padding:8px 12px;border-radius:4px}
.controls{display:flex;flex-wrap:wrap;gap:14px;align-items:center;margin:6px 0}
#map{height:640px;border:1px solid #ddd;border-radius:4px}#sweepchart{height:300px}
.lf-tip{display:flex;gap:10px;max-width:420px;white-space:normal}.lf-tip img.big{width:144px;height:144px;image-rendering:pixelated;border-radius:3px}
.lf-tip .nb{display:flex;gap:4px;flex-wrap:wrap;margin-top:4px}.lf-tip .nb figure{margin:0;font-size:11px;text-align:center}
.lf-tip .nb img{width:40px;height:40px;image-rendering:pixelated}
.mistakes{display:flex;flex-wrap:wrap;gap:14px}.mistake{border:1px solid #ddd;border-radius:4px;padding:8px;display:flex;gap:8px}
.mistake figure{margin:0;text-align:center;font-size:12px}.mistake img{width:96px;height:96px;image-rendering:pixelated;background:#eee}
table{border-collapse:collapse;margin:4px 0}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top;font-size:13px}
th{background:#f3f4f6}.pngs img{max-width:100%;margin:8px 0;border:1px solid #ddd}
</style></head><body>
<h1>lumaflow analyze</h1><div id="summary"></div>
<div id="nolib" class="note" hidden>The plotting library (Apache ECharts, fetched by <code>tools/setup.sh</code> through
<code>tools/fetch_web.sh</code>) was not found when this report was written (<span id="webdir"></span>): the interactive
charts are missing; analyze's PNG charts are shown instead.</div>
<h2>Face map (UMAP)</h2>
<div class="controls">
<label>person <select id="person"><option value="all">all</option></select></label>
<label>DBSCAN at <select id="which"></select></label>
<label>cluster <select id="cluster"><option value="all">all</option></select></label>
<span id="count"></span><span>— scroll to zoom, drag to pan; the pointer on a face shows it large</span></div>
<div id="map"></div><div id="pngs" class="pngs"></div>
<h2>DBSCAN eps sweep</h2>
<div class="controls"><input type="range" id="eps" min="0" value="0" style="width:420px"><span id="epsinfo"></span></div>
<div id="sweepchart"></div>
<h2>Held-out mistakes (PCA + SVM)</h2><div id="mistakes" class="mistakes"></div>
<h2>Numbers (report.json)</h2><div id="tables"></div>
<script id="data" type="application/json">/*@DATA@*/</script>
<script>/*@ECHARTS@*/</script>
<script>
"use strict";
const D = JSON.parse(document.getElementById("data").textContent);
const R = D.report || {}, N = D.label.length, names = D.names || [];
const hasLib = typeof echarts !== "undefined";
const esc = s => String(s).replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
const nameOf = l => l >= 0 && l < names.length ? names[l] : "(unlabelled)";
const colour = l => l < 0 ? "#999" : "hsl(" + ((l * 137.508) % 360).toFixed(1) + ",65%,48%)";
const el = id => document.getElementById(id);
el("summary").textContent = N + " faces, " + names.length + " people" + (R.vectors ? ", " + R.vectors.dims + " values a face, analysed in " + R.vectors.analysis_space : "");
if (!hasLib) {
  el("nolib").hidden = false; el("webdir").textContent = D.web_dir || "no --web folder";
  el("map").hidden = true; el("sweepchart").hidden = true;
  for (const c of (R.charts || [])) { const img = document.createElement("img"); img.src = c; img.alt = c; el("pngs").appendChild(img); }
}
// Controls: people, clusterings, clusters.
names.forEach((n, i) => { const o = document.createElement("option"); o.value = i; o.textContent = n; el("person").appendChild(o); });
const which = Object.keys(D.clusters || {});
which.forEach(w => { const o = document.createElement("option"); o.value = w; o.textContent = w + " eps"; el("which").appendChild(o); });
if (which.includes("best")) el("which").value = "best";
function clusterOf(i) { const w = el("which").value; return w && D.clusters[w] ? D.clusters[w][i] : null; }
function fillClusters() {
  const s = el("cluster"); s.length = 1; const w = el("which").value; if (!w) return;
  [...new Set(D.clusters[w])].sort((a, b) => a - b).forEach(c => { const o = document.createElement("option"); o.value = c;
    o.textContent = c < 0 ? "noise" : "cluster " + c; s.appendChild(o); });
}
function thumb(i, cls) { return D.thumb[i] ? '<img class="' + cls + '" src="' + D.thumb[i] + '">' : ""; }
function tip(i) {
  const c = clusterOf(i);
  let h = '<div class="lf-tip">' + thumb(i, "big") + '<div><b class="lf-label">' + esc(nameOf(D.label[i])) + "</b><br>" +
    (c === null ? "" : "DBSCAN (" + esc(el("which").value) + " eps): " + (c < 0 ? "noise" : "cluster " + c) + "<br>") +
    '<span style="font-size:11px;color:#555">' + esc(D.path[i]) + "</span>";
  if (D.nb[i] && D.nb[i].length) {
    h += '<div style="margin-top:4px">nearest neighbours:</div><div class="nb">';
    for (const j of D.nb[i]) h += "<figure>" + thumb(j, "") + "<figcaption>" + esc(nameOf(D.label[j])) + "</figcaption></figure>";
    h += "</div>";
  }
  return h + "</div></div>";
}
function shownFaces() {
  const p = el("person").value, c = el("cluster").value, out = [];
  for (let i = 0; i < N; ++i)
    if ((p === "all" || D.label[i] === +p) && (c === "all" || clusterOf(i) === +c)) out.push(i);
  return out;
}
let chart = null, shownCount = 0;
function drawMap() {
  const faces = shownFaces(); shownCount = faces.length;
  el("count").textContent = faces.length + " of " + N + " faces shown";
  if (!chart) return;
  chart.setOption({series: [{data: faces.map(i => ({value: [D.x[i], D.y[i], i], itemStyle: {color: colour(D.label[i])}}))}]});
}
if (hasLib && D.placed) {
  chart = echarts.init(el("map"));
  chart.setOption({animation: false, grid: {left: 40, right: 50, top: 20, bottom: 60},
    xAxis: {type: "value", scale: true, name: "UMAP 1"}, yAxis: {type: "value", scale: true, name: "UMAP 2"},
    tooltip: {trigger: "item", confine: true, enterable: false, formatter: p => tip(p.value[2])},
    dataZoom: [{type: "inside", xAxisIndex: 0, filterMode: "none"}, {type: "inside", yAxisIndex: 0, filterMode: "none"},
               {type: "slider", xAxisIndex: 0, filterMode: "none"}, {type: "slider", yAxisIndex: 0, filterMode: "none"}],
    series: [{type: "scatter", symbolSize: N > 5000 ? 4 : 8, large: false, progressive: 0, data: []}]});
  window.addEventListener("resize", () => chart.resize());
} else if (hasLib) {
  el("map").textContent = "UMAP did not run (see the stages table below).";
}
el("person").onchange = drawMap; el("cluster").onchange = drawMap;
el("which").onchange = () => { fillClusters(); drawMap(); };
fillClusters(); drawMap();
window.lumaflowReport = {chart, shown: () => shownCount,
  pixelOf: i => chart.convertToPixel({seriesIndex: 0}, [D.x[i], D.y[i]]), label: i => nameOf(D.label[i])};
// The eps sweep (first minPts of the sweep) as a slider.
const rows = ((R.dbscan || {}).sweep || []);
const sweep = rows.filter(r => r.min_pts === (rows[0] || {}).min_pts);
let sweepChart = null;
if (hasLib && sweep.length) {
  sweepChart = echarts.init(el("sweepchart"));
  sweepChart.setOption({animation: false, legend: {}, tooltip: {trigger: "axis"}, grid: {left: 50, right: 60, top: 40, bottom: 30},
    xAxis: {type: "value", name: "eps", scale: true}, yAxis: [{type: "value", name: "ARI"}, {type: "value", name: "clusters"}],
    series: [{name: "ARI", type: "line", data: sweep.map(r => [r.eps, r.ari])},
             {name: "clusters", type: "line", yAxisIndex: 1, data: sweep.map(r => [r.eps, r.clusters])}]});
}
function showEps() {
  const r = sweep[+el("eps").value]; if (!r) { el("epsinfo").textContent = "no sweep in this report"; return; }
  el("epsinfo").textContent = "eps " + r.eps.toFixed(4) + " (minPts " + r.min_pts + "): " + r.clusters + " clusters, ARI " +
    r.ari + ", NMI " + r.nmi + ", purity " + r.purity + ", noise " + (100 * r.noise_fraction).toFixed(1) + " %";
  if (sweepChart) sweepChart.setOption({series: [{markLine: {symbol: "none", silent: true, data: [{xAxis: r.eps}]}}]});
}
el("eps").max = Math.max(0, sweep.length - 1); el("eps").oninput = showEps;
el("eps").value = Math.max(0, sweep.findIndex(r => (R.dbscan || {}).best && r.eps === R.dbscan.best.eps)); showEps();
// Held-out mistakes, both faces side by side.
const ms = D.mistakes || [];
if (!ms.length) el("mistakes").textContent = R.heldout ? "none: every held-out face was named right" : "no held-out run";
for (const m of ms) {
  const d = document.createElement("div"); d.className = "mistake";
  d.innerHTML = "<figure>" + thumb(m.face, "") + "<figcaption>" + esc(nameOf(m.truth)) + "<br>(held out)</figcaption></figure>" +
    "<figure>" + thumb(m.shown, "") + "<figcaption>" + (m.unknown ? "unknown; nearest " : "taken for ") + esc(nameOf(m.predicted)) +
    "<br>(its nearest training face)</figcaption></figure>";
  d.title = D.path[m.face]; el("mistakes").appendChild(d);
}
// report.json as tables.
function table(v) {
  if (v === null || typeof v !== "object") return esc(v);
  if (Array.isArray(v)) {
    if (v.length && v.every(x => x && typeof x === "object" && !Array.isArray(x))) {
      const cols = [...new Set(v.flatMap(Object.keys))];
      return "<table><tr>" + cols.map(c => "<th>" + esc(c) + "</th>").join("") + "</tr>" +
        v.map(r => "<tr>" + cols.map(c => "<td>" + table(r[c] ?? "") + "</td>").join("") + "</tr>").join("") + "</table>";
    }
    return esc(v.slice(0, 30).join(", ") + (v.length > 30 ? ", … (" + v.length + ")" : ""));
  }
  return "<table>" + Object.entries(v).map(([k, x]) => "<tr><th>" + esc(k) + "</th><td>" + table(x) + "</td></tr>").join("") + "</table>";
}
el("tables").innerHTML = table(R);
</script></body></html>
)HTML";
  return page;
}

}  // namespace lumaflow
