// Drives headless Chromium over the DevTools protocol (--remote-debugging-pipe: JSON
// messages separated by NUL on fds 3 and 4, no WebSocket needed) to use a goleash page as a
// person would: load it, click, read. Prints one JSON document: every network request the
// page made, every script error or console error, and the result of each step.
//
//   node drive.js CHROMIUM URL STEPS_JSON
//
// STEPS_JSON is a list of JavaScript expressions evaluated in the page in order (after the
// load, 300 ms apart); each may return a value, which is reported.
"use strict";
const { spawn } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");

const [chromium, url, stepsJson] = process.argv.slice(2);
const steps = JSON.parse(stepsJson);
const profile = fs.mkdtempSync(path.join(os.tmpdir(), "goleash-cdp-"));
const browser = spawn(chromium, [
  "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--remote-debugging-pipe", `--user-data-dir=${profile}`, "about:blank",
], { stdio: ["ignore", "ignore", "ignore", "pipe", "pipe"] });
const toBrowser = browser.stdio[3];
const fromBrowser = browser.stdio[4];

let nextId = 1;
const waiting = new Map();
const listeners = [];
const report = { requests: [], errors: [], steps: [] };
let buffer = "";

fromBrowser.on("data", chunk => {
  buffer += chunk.toString("utf8");
  let end;
  while ((end = buffer.indexOf("\0")) >= 0) {
    const msg = JSON.parse(buffer.slice(0, end));
    buffer = buffer.slice(end + 1);
    if (msg.id && waiting.has(msg.id)) {
      const { resolve, reject } = waiting.get(msg.id);
      waiting.delete(msg.id);
      msg.error ? reject(new Error(JSON.stringify(msg.error))) : resolve(msg.result);
    } else if (msg.method) {
      for (const l of listeners) l(msg);
    }
  }
});

function send(method, params = {}, sessionId) {
  const id = nextId++;
  const msg = { id, method, params };
  if (sessionId) msg.sessionId = sessionId;
  toBrowser.write(JSON.stringify(msg) + "\0");
  return new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
}
const sleep = ms => new Promise(r => setTimeout(r, ms));

listeners.push(msg => {
  const p = msg.params || {};
  if (msg.method === "Network.requestWillBeSent") report.requests.push(p.request.url);
  if (msg.method === "Runtime.exceptionThrown") report.errors.push("exception: " + (p.exceptionDetails.exception?.description || p.exceptionDetails.text));
  if (msg.method === "Runtime.consoleAPICalled" && (p.type === "error" || p.type === "assert")) {
    report.errors.push("console." + p.type + ": " + p.args.map(a => a.value ?? a.description).join(" "));
  }
  if (msg.method === "Log.entryAdded" && p.entry.level === "error") report.errors.push("log: " + p.entry.text);
});

(async () => {
  const timer = setTimeout(() => { report.errors.push("timed out"); finish(); }, 30000);
  try {
    const { targetId } = await send("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true });
    for (const domain of ["Runtime", "Network", "Log", "Page"]) await send(domain + ".enable", {}, sessionId);
    const loaded = new Promise(r => listeners.push(m => m.method === "Page.loadEventFired" && r()));
    await send("Page.navigate", { url }, sessionId);
    await loaded;
    await sleep(300);
    for (const expression of steps) {
      const { result, exceptionDetails } = await send("Runtime.evaluate",
        { expression, returnByValue: true, awaitPromise: true }, sessionId);
      report.steps.push(exceptionDetails ? { error: exceptionDetails.exception?.description || exceptionDetails.text } : result.value ?? null);
      await sleep(300);
    }
  } catch (e) {
    report.errors.push("driver: " + e.message);
  }
  clearTimeout(timer);
  finish();
})();

function finish() {
  process.stdout.write(JSON.stringify(report) + "\n");
  browser.kill("SIGKILL");
  try { fs.rmSync(profile, { recursive: true, force: true }); } catch (_) {}
  process.exit(0);
}
