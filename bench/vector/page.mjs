// The vector search benchmark in Chromium: the same harness.mjs as bench/vector_search.mjs in
// Node, the vectors (bench/vector_data.py) fetched from the local bench server.
// bench/vector_browser.py drives it through window.runVectorBench. No bare module specifiers:
// the page's CSP forbids an inline import map, so every module is imported by its URL.
// Memory: a page has no process RSS, so only the engines' wasm heaps are reported
// (rss_growth_mb is null).
import { runVectorBench } from "./harness.mjs";

const log = (line) => {
  document.getElementById("log").textContent += line + "\n";
  console.log(line);
};

async function bytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return await r.arrayBuffer();
}

/** A fresh instance of our module per index (a distinct glue URL), so each gets its own heap. */
let instances = 0;
let oursModule = null;
async function ours() {
  oursModule ??= await WebAssembly.compile(await bytes("/build/wasm/vector_bg.wasm"));
  const mod = await import(`/build/wasm/vector.js?instance=${++instances}`);
  const exports = await mod.default({ module_or_path: oursModule });
  return { mod, heap: () => exports.memory.buffer.byteLength };
}

// hnswlib-wasm embeds its wasm (a data: URL it decodes itself) and mounts IDBFS on the page's
// real IndexedDB; its console chatter (the mount message) is kept out of the log.
async function hnswlib() {
  const { log: consoleLog } = console;
  console.log = () => {};
  try {
    const { loadHnswlib } = await import("/nm/hnswlib-wasm/dist/hnswlib.js");
    return await loadHnswlib();
  } finally {
    console.log = consoleLog;
  }
}

// voy-search ships for bundlers only: its wasm instantiated by hand, its JS glue as the imports.
async function voy() {
  const glue = await import("/nm/voy-search/voy_search_bg.js");
  const { instance } = await WebAssembly.instantiate(await bytes("/nm/voy-search/voy_search_bg.wasm"), {
    "./voy_search_bg.js": glue,
  });
  glue.__wbg_set_wasm(instance.exports);
  return { Voy: glue.Voy, heap: () => instance.exports.memory.buffer.byteLength };
}

window.runVectorBench = async ({ dataUrl, runs, ourEfs, peerEfs, m, efConstruction, maxQueries, skip }) => {
  const meta = await (await fetch(dataUrl + "vectors.json")).json();
  const base = new Float32Array(await bytes(dataUrl + "base.f32"));
  const queries = new Float32Array(await bytes(dataUrl + "queries.f32"));
  const cores = navigator.hardwareConcurrency;
  const browser = navigator.userAgent.match(/(?:Headless)?Chrome\/[\d.]+/)?.[0] ?? navigator.userAgent;
  const { report, lines } = await runVectorBench(
    base,
    queries,
    meta,
    { runs, ourEfs, peerEfs, m, efConstruction, maxQueries, skip: new Set(skip) },
    { ours, hnswlib, voy },
    {
      rss: null,
      log,
      describe: `headless Chromium (${browser}), ${cores} cores`,
      fields: {
        environment: {
          runtime: navigator.userAgent,
          crossOriginIsolated: self.crossOriginIsolated,
          cores,
        },
        cores,
      },
    },
  );
  lines.push("", "(memory: no process RSS in a page, so RSS growth is not measured; wasm heaps only)");
  return { report, lines };
};
window.benchReady = true;
