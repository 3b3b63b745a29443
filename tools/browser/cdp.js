// Drives Debian's headless chromium over the Chrome DevTools Protocol on a pipe
// (--remote-debugging-pipe: we write commands to its fd 3, read answers from its fd 4; each
// message is JSON ended by a NUL byte). No npm dependency.
//
//   const {launch} = require("./cdp.js");
//   const page = await launch({width: 1280, height: 900});
//   await page.goto(url);                   // resolves on the load event
//   await page.eval("document.title");      // Runtime.evaluate, by value, promises awaited
//   await page.mouse(x, y);                 // moves the pointer (CSS pixels)
//   await page.screenshot("out.png", {scale: 0.7});
//   await page.close();
//
// As a command: node tools/browser/cdp.js shot URL OUT.png [WIDTH HEIGHT]
// The browser is $CHROMIUM or the first of chromium / chromium-browser / google-chrome on PATH;
// launch() rejects with "no chromium" when none is found (callers skip or fail on it).
"use strict";
const {spawn, execFileSync} = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");

function findChromium() {
  const names = [process.env.CHROMIUM, "chromium", "chromium-browser", "google-chrome"].filter(Boolean);
  for (const n of names) {
    try {
      return execFileSync("sh", ["-c", `command -v "${n}"`], {encoding: "utf8"}).trim() || null;
    } catch (e) { /* next */ }
  }
  return null;
}

async function launch({width = 1280, height = 900, timeoutMs = 30000} = {}) {
  const bin = findChromium();
  if (!bin) throw new Error("no chromium");
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "lumaflow-chromium-"));
  const proc = spawn(bin, ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--remote-debugging-pipe", "--no-first-run", "--no-default-browser-check", "--hide-scrollbars",
    `--user-data-dir=${profile}`, `--window-size=${width},${height}`, "about:blank"],
    {stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"]});
  let stderr = "";
  proc.stderr.on("data", d => { stderr = (stderr + d).slice(-4000); });
  const toBrowser = proc.stdio[3], fromBrowser = proc.stdio[4];
  let nextId = 1, buffer = "";
  const pending = new Map(), listeners = [];
  fromBrowser.on("data", chunk => {
    buffer += chunk.toString("utf8");
    let end;
    while ((end = buffer.indexOf("\0")) >= 0) {
      const msg = JSON.parse(buffer.slice(0, end));
      buffer = buffer.slice(end + 1);
      if (msg.id && pending.has(msg.id)) {
        const {resolve, reject, method} = pending.get(msg.id);
        pending.delete(msg.id);
        if (msg.error) reject(new Error(`${method}: ${msg.error.message}`)); else resolve(msg.result);
      } else if (msg.method) {
        for (const l of listeners.slice()) l(msg);
      }
    }
  });
  const exited = new Promise(res => proc.on("exit", res));
  exited.then(() => { for (const {reject} of pending.values()) reject(new Error("chromium exited: " + stderr)); });
  function send(method, params = {}, sessionId) {
    const id = nextId++;
    const p = new Promise((resolve, reject) => {
      pending.set(id, {resolve, reject, method});
      setTimeout(() => { if (pending.delete(id)) reject(new Error(`${method}: no answer in ${timeoutMs} ms`)); }, timeoutMs);
    });
    toBrowser.write(JSON.stringify({id, method, params, ...(sessionId ? {sessionId} : {})}) + "\0");
    return p;
  }
  function once(method, sessionId) {
    return new Promise(resolve => {
      const l = msg => {
        if (msg.method === method && (!sessionId || msg.sessionId === sessionId)) {
          listeners.splice(listeners.indexOf(l), 1);
          resolve(msg.params);
        }
      };
      listeners.push(l);
    });
  }
  const {targetId} = await send("Target.createTarget", {url: "about:blank"});
  const {sessionId} = await send("Target.attachToTarget", {targetId, flatten: true});
  const s = (m, p) => send(m, p, sessionId);
  await s("Page.enable");
  await s("Runtime.enable");
  await s("Emulation.setDeviceMetricsOverride", {width, height, deviceScaleFactor: 1, mobile: false});
  const consoleLines = [];
  listeners.push(msg => {
    if (msg.sessionId === sessionId && msg.method === "Runtime.exceptionThrown")
      consoleLines.push("exception: " + JSON.stringify(msg.params.exceptionDetails.exception?.description ?? msg.params.exceptionDetails.text));
  });
  return {
    errors: consoleLines,
    async goto(url) {
      const loaded = once("Page.loadEventFired", sessionId);
      const r = await s("Page.navigate", {url});
      if (r.errorText) throw new Error(`${url}: ${r.errorText}`);
      await loaded;
    },
    async eval(expression) {
      const r = await s("Runtime.evaluate", {expression, returnByValue: true, awaitPromise: true});
      if (r.exceptionDetails) throw new Error(`${expression.slice(0, 80)}: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
      return r.result.value;
    },
    async mouse(x, y) {
      await s("Input.dispatchMouseEvent", {type: "mouseMoved", x, y, button: "none"});
    },
    // scale < 1 shrinks the picture (e.g. for docs); the viewport is captured.
    async screenshot(file, {scale = 1} = {}) {
      const params = {format: "png"};
      if (scale !== 1) {
        const r = await s("Runtime.evaluate", {expression: "[window.scrollX, window.scrollY]", returnByValue: true});
        params.clip = {x: r.result.value[0], y: r.result.value[1], width, height, scale};
      }
      const {data} = await s("Page.captureScreenshot", params);
      fs.mkdirSync(path.dirname(path.resolve(file)), {recursive: true});
      fs.writeFileSync(file + ".tmp", Buffer.from(data, "base64"));
      fs.renameSync(file + ".tmp", file);
    },
    async close() {
      try { await send("Browser.close"); } catch (e) { /* already gone */ }
      const t = setTimeout(() => proc.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(t);
      fs.rmSync(profile, {recursive: true, force: true});
    },
  };
}

module.exports = {launch, findChromium};

if (require.main === module) {
  const [cmd, url, out, w, h] = process.argv.slice(2);
  if (cmd !== "shot" || !url || !out) {
    console.error("usage: node tools/browser/cdp.js shot URL OUT.png [WIDTH HEIGHT]");
    process.exit(2);
  }
  (async () => {
    const page = await launch({width: Number(w) || 1280, height: Number(h) || 900});
    try { await page.goto(url); await new Promise(r => setTimeout(r, 500)); await page.screenshot(out); }
    finally { await page.close(); }
  })().catch(e => { console.error("cdp: " + e.message); process.exit(1); });
}
