// Vector search in Node: our vector.wasm (HnswIndex, FlatIndex) vs hnswlib-wasm 0.8.2,
// voy-search 0.6.3 and a plain-JS brute force, on the same vectors (bench/vector_data.py).
// Usage: node --expose-gc bench/vector_search.mjs --data DIR [--json out.json] [--runs 3]
//   [--ef 16,32,64,128,256] [--peer-ef 16,32,50,64,100,128,256] [--m 16] [--ef-construction 200]
//   [--queries N] [--skip voy,brute,int8,flat]
// The measuring and the report are bench/vector/harness.mjs, shared with the headless Chromium
// run (bench/vector_browser.py); this is the Node entry: files, shims, loaders. Single thread,
// one query at a time, k = 10. Recall@10 is against the exact top 10 (plain-JS brute force with
// f64 sums). QPS: the median of --runs passes over the queries (after a warm-up pass); the slow
// exact engines (JS, voy) get one pass. Memory: growth of the process's RSS while the index is
// built (wasm memory never shrinks, each engine has its own, so a rough figure, and only
// meaningful with --expose-gc) and the engine's wasm linear memory after the build (a high-water
// mark: it includes the transient copy of the input; each of our indexes gets a fresh module
// instance). Ours also reports its serialized size (index file MB).
// Peer traps handled here: hnswlib-wasm wants a browser (a `window` global and IndexedDB for its
// IDBFS mount; we give it `window = globalThis` and an indexedDB whose open() throws, so the
// mount's sync fails harmlessly and everything stays in memory), and voy-search ships for
// bundlers only (we instantiate its wasm by hand with its JS glue as the import object).
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import os from "node:os";
import { runVectorBench } from "./vector/harness.mjs";

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const list = (s) => s.split(",").filter(Boolean).map(Number);
const dataDir = opt("--data", null);
if (!dataDir) {
  console.error("usage: node bench/vector_search.mjs --data DIR (from bench/vector_data.py --out DIR)");
  process.exit(2);
}
const jsonOut = opt("--json", null);
const options = {
  runs: Number(opt("--runs", 3)),
  ourEfs: list(opt("--ef", "16,32,64,128,256")),
  peerEfs: list(opt("--peer-ef", "16,32,50,64,100,128,256")),
  m: Number(opt("--m", 16)),
  efConstruction: Number(opt("--ef-construction", 200)),
  maxQueries: opt("--queries", null) ? Number(opt("--queries")) : null,
  skip: new Set(opt("--skip", "").split(",")),
};

// ---- data -------------------------------------------------------------------------------------
const meta = JSON.parse(await readFile(`${dataDir}/vectors.json`, "utf8"));
const f32 = async (name) => {
  const b = await readFile(`${dataDir}/${name}`);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
const base = await f32("base.f32");
const queries = await f32("queries.f32");

const rss = () => {
  globalThis.gc?.();
  return process.memoryUsage().rss;
};

// ---- loaders ----------------------------------------------------------------------------------
const wasmDir = new URL("../web/build/wasm/", import.meta.url);
const oursModule = new WebAssembly.Module(
  await readFile(fileURLToPath(new URL("vector_bg.wasm", wasmDir))),
);
/** A fresh instance of our module per index (a new glue URL), so each gets its own heap. */
let instances = 0;
async function ours() {
  const mod = await import(new URL(`vector.js?instance=${++instances}`, wasmDir));
  const exports = mod.initSync({ module: oursModule });
  return { mod, heap: () => exports.memory.buffer.byteLength };
}

async function hnswlib() {
  globalThis.window ??= globalThis;
  globalThis.indexedDB ??= {
    open() {
      throw new Error("no IndexedDB in Node (benchmark shim)");
    },
  };
  const { log, error } = console;
  console.log = console.error = () => {}; // its IDBFS mount logs, and reports the failed sync
  try {
    const { loadHnswlib } = await import("hnswlib-wasm/dist/hnswlib.js");
    return await loadHnswlib();
  } finally {
    Object.assign(console, { log, error });
  }
}

async function voy() {
  const voyDir = new URL("../node_modules/voy-search/", import.meta.url);
  const glue = await import(new URL("voy_search_bg.js", voyDir));
  const bytes = await readFile(fileURLToPath(new URL("voy_search_bg.wasm", voyDir)));
  const { instance } = await WebAssembly.instantiate(bytes, { "./voy_search_bg.js": glue });
  glue.__wbg_set_wasm(instance.exports);
  return { Voy: glue.Voy, heap: () => instance.exports.memory.buffer.byteLength };
}

// ---- run --------------------------------------------------------------------------------------
const cpu = os.cpus()[0]?.model;
const { report, lines } = await runVectorBench(base, queries, meta, options, { ours, hnswlib, voy }, {
  rss,
  log: (line) => console.error(line),
  describe: `Node ${process.version}, ${os.cpus().length} cores (${cpu ?? "?"})`,
  fields: { node: process.version, cores: os.cpus().length, cpu },
});
if (!globalThis.gc) lines.push("", "(run with --expose-gc for steadier memory figures)");
console.log(lines.join("\n"));

if (jsonOut) await writeFile(jsonOut, JSON.stringify(report, null, 2) + "\n");
