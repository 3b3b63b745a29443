#include "nodes/serve/live_page.hpp"

namespace lumaflow {

const std::string& live_page_html() {
  static const std::string page = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lumaflow watch — live</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px system-ui,sans-serif;margin:0;background:#111418;color:#e6e6e6}
header{display:flex;flex-wrap:wrap;gap:18px;align-items:baseline;padding:10px 16px;background:#1b2027;border-bottom:1px solid #2b323c}
header h1{font-size:17px;margin:0 12px 0 0}
.stat b{font-size:18px;color:#fff}.stat span{color:#9aa4b1;margin-left:4px}
#conn{margin-left:auto;color:#9aa4b1}#conn.live{color:#5fd38d}
main{display:grid;grid-template-columns:minmax(300px,3fr) minmax(300px,2fr);gap:14px;padding:14px}
h2{font-size:14px;color:#9aa4b1;margin:0 0 8px;text-transform:uppercase;letter-spacing:.05em}
#frame{position:relative;display:inline-block;max-width:100%}
#frame img{max-width:100%;display:block;border-radius:4px}
.box{position:absolute;border:2px solid #5fd38d;box-sizing:border-box}
.box.unknown{border-color:#f0a040}.box span{position:absolute;left:-2px;top:-20px;background:#5fd38d;color:#000;font-size:12px;padding:1px 4px;white-space:nowrap}
.box.unknown span{background:#f0a040}
#framepath{color:#9aa4b1;margin:6px 0}
ol{list-style:none;margin:0;padding:0;max-height:70vh;overflow:auto}
li.face{display:flex;gap:10px;align-items:center;padding:6px;border-bottom:1px solid #2b323c}
li.face.fresh{animation:fresh 1.5s ease-out}@keyframes fresh{from{background:#2d4a3a}to{background:transparent}}
.crop{width:64px;height:64px;flex:none;background:#222 no-repeat;border-radius:3px}
.name{font-weight:600;font-size:15px}.unknown .name{color:#f0a040}.error .name{color:#ff6b6b}
.meta{color:#9aa4b1;font-size:12px}
#identities{display:flex;flex-wrap:wrap;gap:14px}.ident{background:#1b2027;padding:8px;border-radius:4px}
.ident .crops{display:flex;gap:4px;margin-top:6px}.ident .crop{width:48px;height:48px}
</style></head><body>
<header><h1>lumaflow watch</h1>
<div class="stat"><b id="frames">0</b><span>frames</span></div>
<div class="stat"><b id="nfaces">0</b><span>faces</span></div>
<div class="stat"><b id="fps">0</b><span>frames/s</span></div>
<div class="stat"><b id="facesps">0</b><span>faces/s</span></div>
<div class="stat"><b id="p50">–</b><span>ms p50</span></div>
<div class="stat"><b id="p99">–</b><span>ms p99</span></div>
<div class="stat"><b id="unknown">0</b><span>unknown</span></div>
<div class="stat"><b id="errors">0</b><span>errors</span></div>
<div id="conn">connecting…</div></header>
<main><section><h2>Latest frame</h2><div id="framepath"></div><div id="frame"></div>
<h2 style="margin-top:18px">Proposed identities</h2><div id="identities"><span class="meta">none yet</span></div></section>
<section><h2>Faces as they arrive</h2><ol id="faces"></ol></section></main>
<script>
"use strict";
const token = new URLSearchParams(location.search).get("token");
const q = u => token ? u + (u.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token) : u;
const fileUrl = p => q("/file?path=" + encodeURIComponent(p));
const sizes = new Map();
function imageSize(p) {
  if (!sizes.has(p)) {
    if (sizes.size > 500) sizes.delete(sizes.keys().next().value);
    sizes.set(p, new Promise(res => { const im = new Image();
      im.onload = () => res({w: im.naturalWidth, h: im.naturalHeight}); im.onerror = () => res(null); im.src = fileUrl(p); }));
  }
  return sizes.get(p);
}
function el(tag, cls, text) { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }
function crop(div, p, box) {
  imageSize(p).then(s => { if (!s) return; const b = box || [0, 0, s.w, s.h]; const k = div.clientWidth / Math.max(b[2], b[3]);
    div.style.backgroundImage = 'url("' + fileUrl(p) + '")';
    div.style.backgroundSize = (s.w * k) + "px " + (s.h * k) + "px";
    div.style.backgroundPosition = (-b[0] * k) + "px " + (-b[1] * k) + "px"; });
}
const nameOf = a => a.status === "error" ? "error" : (a.label || "unknown");
let framePath = null;
function showFrame(a) {
  const f = document.getElementById("frame");
  if (a.path !== framePath) {
    framePath = a.path; f.textContent = "";
    document.getElementById("framepath").textContent = a.path;
    const img = el("img"); img.alt = a.path; img.src = fileUrl(a.path); f.appendChild(img);
  }
  if (a.status === "error") return;
  imageSize(a.path).then(s => { if (!s || a.path !== framePath) return; const b = a.box || [0, 0, s.w, s.h];
    const d = el("div", "box " + a.status);
    d.style.left = (100 * b[0] / s.w) + "%"; d.style.top = (100 * b[1] / s.h) + "%";
    d.style.width = (100 * b[2] / s.w) + "%"; d.style.height = (100 * b[3] / s.h) + "%";
    d.appendChild(el("span", "", nameOf(a) + (a.status === "known" ? " " + Math.round(100 * a.confidence) + "%" : "")));
    f.appendChild(d); });
}
function addFace(a) {
  const li = el("li", "face fresh " + a.status); li.dataset.path = a.path; li.dataset.face = a.face ?? "";
  li.dataset.label = nameOf(a);
  const c = el("div", "crop"); li.appendChild(c);
  const t = el("div"); t.appendChild(el("div", "name", nameOf(a)));
  let meta = a.path;
  if (a.status === "error") meta += " — " + a.error;
  else {
    meta += " · face " + a.face + " · " + a.status + " · confidence " + (a.confidence ?? 0).toFixed(2) + " · " + (a.ms ?? 0).toFixed(1) + " ms";
    if (a.status === "unknown") meta += " · nearest " + a.candidate;
  }
  t.appendChild(el("div", "meta", meta));
  if (a.neighbors && a.neighbors.length)
    t.appendChild(el("div", "meta", "neighbours: " + a.neighbors.map(n => n.label + " " + n.distance.toFixed(2)).join(", ")));
  li.appendChild(t);
  const list = document.getElementById("faces"); list.prepend(li);
  while (list.children.length > 200) list.lastChild.remove();
  if (a.status !== "error") crop(c, a.path, a.box);
  showFrame(a);
}
const es = new EventSource(q("/events"));
es.onopen = () => { const c = document.getElementById("conn"); c.textContent = "live"; c.className = "live"; };
es.onerror = () => { const c = document.getElementById("conn"); c.textContent = "disconnected — retrying"; c.className = ""; };
es.onmessage = e => { try { addFace(JSON.parse(e.data)); } catch (err) { console.error(err); } };
const set = (id, v) => document.getElementById(id).textContent = v;
async function stats() {
  try { const s = await (await fetch(q("/api/stats"))).json();
    set("frames", s.frames); set("nfaces", s.faces); set("fps", s.frames_per_s.toFixed(1)); set("facesps", s.faces_per_s.toFixed(1));
    set("p50", s.latency_ms.p50.toFixed(1)); set("p99", s.latency_ms.p99.toFixed(1)); set("unknown", s.unknown); set("errors", s.errors);
  } catch (err) {}
}
async function identities() {
  try { const j = await (await fetch(q("/api/identities"))).json(); const box = document.getElementById("identities");
    if (!j.identities.length) return; box.textContent = "";
    for (const id of j.identities) { const d = el("div", "ident"); d.appendChild(el("div", "name", id.name + " (" + id.faces + ")"));
      const cs = el("div", "crops"); for (const a of id.recent) { const c = el("div", "crop"); cs.appendChild(c); crop(c, a.path, a.box); }
      d.appendChild(cs); box.appendChild(d); }
  } catch (err) {}
}
stats(); identities(); setInterval(stats, 1000); setInterval(identities, 2000);
</script></body></html>
)HTML";
  return page;
}

}  // namespace lumaflow
