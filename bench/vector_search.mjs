// Vector search in Node: our vector.wasm (HnswIndex, FlatIndex) vs hnswlib-wasm 0.8.2,
// voy-search 0.6.3 and a plain-JS brute force, on the same vectors (bench/vector_data.py).
// Usage: node --expose-gc bench/vector_search.mjs --data DIR [--json out.json] [--runs 3]
//   [--ef 16,32,64,128,256] [--peer-ef 16,32,50,64,100,128,256] [--m 16] [--ef-construction 200]
//   [--queries N] [--skip voy,brute,int8,flat]
// Single thread, one query at a time, k = 10. Recall@10 is against the exact top 10 (plain-JS
// brute force with f64 sums, computed here). QPS: the median of --runs passes over the queries
// (after a warm-up pass); the slow exact engines (JS, voy) get one pass. Memory: growth of the
// process's RSS while the index is built (wasm memory never shrinks, each engine has its own,
// so a rough figure, and only meaningful with --expose-gc) and the engine's wasm linear memory
// after the build (a high-water mark: it includes the transient copy of the input; each of our
// indexes gets a fresh module instance). Ours also reports its serialized size (index file MB).
// Peer traps handled here: hnswlib-wasm wants a browser (a `window` global and IndexedDB for its
// IDBFS mount; we give it `window = globalThis` and an indexedDB whose open() throws, so the
// mount's sync fails harmlessly and everything stays in memory), and voy-search ships for
// bundlers only (we instantiate its wasm by hand with its JS glue as the import object).
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import os from "node:os";

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
const runs = Number(opt("--runs", 3));
const ourEfs = list(opt("--ef", "16,32,64,128,256"));
const peerEfs = list(opt("--peer-ef", "16,32,50,64,100,128,256"));
const M = Number(opt("--m", 16));
const EFC = Number(opt("--ef-construction", 200));
const skip = new Set(opt("--skip", "").split(","));
const K = 10;

// ---- data -------------------------------------------------------------------------------------
const meta = JSON.parse(await readFile(`${dataDir}/vectors.json`, "utf8"));
const DIM = meta.dim;
const f32 = async (name) => {
  const b = await readFile(`${dataDir}/${name}`);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
const base = await f32("base.f32");
let queries = await f32("queries.f32");
const N = base.length / DIM;
let Q = queries.length / DIM;
if (N !== meta.base || Q !== meta.queries) throw new Error("vectors.json does not match the files");
if (opt("--queries", null)) {
  Q = Math.min(Q, Number(opt("--queries")));
  queries = queries.subarray(0, Q * DIM);
}
const row = (data, i) => data.subarray(i * DIM, (i + 1) * DIM);
const baseRows = Array.from({ length: N }, (_, i) => row(base, i));
const queryRows = Array.from({ length: Q }, (_, i) => row(queries, i));

const gc = () => globalThis.gc?.();
const rss = () => {
  gc();
  return process.memoryUsage().rss;
};
const MB = (bytes) => Math.round(bytes / 1e5) / 10;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// ---- plain-JS brute force: also the exact ground truth -----------------------------------------
function bruteTopK(q) {
  const ids = new Int32Array(K).fill(-1);
  const scores = new Float64Array(K).fill(-Infinity);
  for (let i = 0; i < N; i++) {
    const off = i * DIM;
    let s = 0;
    for (let j = 0; j < DIM; j++) s += q[j] * base[off + j];
    if (s <= scores[K - 1]) continue;
    let p = K - 1;
    while (p > 0 && scores[p - 1] < s) {
      scores[p] = scores[p - 1];
      ids[p] = ids[p - 1];
      p--;
    }
    scores[p] = s;
    ids[p] = i;
  }
  return ids;
}

const exactStart = performance.now();
const exact = queryRows.map((q) => new Set(bruteTopK(q)));
const exactSeconds = (performance.now() - exactStart) / 1000;

function recallOf(results) {
  let hits = 0;
  results.forEach((ids, q) => {
    for (const id of ids) if (exact[q].has(Number(id))) hits++;
  });
  return hits / (Q * K);
}

/** Times `search(q)` over all queries (warm-up pass first); returns {qps (median of the passes),
 * qps_min, qps_max, passes, recall}. */
function measure(search, passes = runs) {
  for (let q = 0; q < Math.min(Q, 100); q++) search(queryRows[q]);
  const rates = [];
  let results;
  for (let r = 0; r < passes; r++) {
    results = new Array(Q);
    const t0 = performance.now();
    for (let q = 0; q < Q; q++) results[q] = search(queryRows[q]);
    rates.push(Q / ((performance.now() - t0) / 1000));
  }
  return {
    qps: Math.round(median(rates)),
    qps_min: Math.round(Math.min(...rates)),
    qps_max: Math.round(Math.max(...rates)),
    passes,
    recall: recallOf(results),
  };
}

const rows = [];
const builds = [];
/** Builds with `fn`; `heap()`: the engine's wasm linear memory in bytes (a high-water mark). */
function build(engine, heap, fn) {
  const before = rss();
  const t0 = performance.now();
  const index = fn();
  const seconds = (performance.now() - t0) / 1000;
  const memMB = MB(rss() - before);
  const heapMB = MB(heap());
  builds.push({ engine, build_s: Math.round(seconds * 100) / 100, rss_growth_mb: memMB, wasm_heap_mb: heapMB });
  console.error(`${engine}: built in ${seconds.toFixed(2)} s, RSS +${memMB} MB, wasm heap ${heapMB} MB`);
  return index;
}
function record(engine, param, m) {
  rows.push({ engine, param, ...m });
  console.error(`  ${engine} ${param}: ${m.qps} QPS, recall@10 ${m.recall.toFixed(4)}`);
}

{
  const qps = Math.round(Q / exactSeconds);
  record("plain JS brute force", "exact", { qps, qps_min: qps, qps_max: qps, passes: 1, recall: 1 });
}

// ---- ours ---------------------------------------------------------------------------------------
const wasmDir = new URL("../web/build/wasm/", import.meta.url);
const oursModule = new WebAssembly.Module(
  await readFile(fileURLToPath(new URL("vector_bg.wasm", wasmDir))),
);
/** A fresh instance of our module per index (a new glue URL), so each gets its own heap. */
let instances = 0;
async function freshOurs() {
  const mod = await import(new URL(`vector.js?instance=${++instances}`, wasmDir));
  const exports = mod.initSync({ module: oursModule });
  return { mod, heap: () => exports.memory.buffer.byteLength };
}
const ids = Uint32Array.from({ length: N }, (_, i) => i);
const indexFileMB = {};
let simd128 = null;

for (const int8 of [false, true]) {
  if (int8 && skip.has("int8")) continue;
  const { mod, heap } = await freshOurs();
  simd128 = mod.simd128Enabled();
  const name = `ours HnswIndex${int8 ? " int8" : ""}`;
  const h = build(name, heap, () => {
    const index = new mod.HnswIndex(DIM, M, EFC, 64, int8, 1n);
    index.addBatch(ids, base);
    return index;
  });
  indexFileMB[name] = MB(h.serialize().length);
  for (const ef of ourEfs) record(name, `ef ${ef}`, measure((q) => h.search(q, K, ef).ids));
  h.free();
}
if (!skip.has("flat")) {
  for (const int8 of [false, true]) {
    const { mod, heap } = await freshOurs();
    const name = `ours FlatIndex${int8 ? " int8" : ""}`;
    const f = build(name, heap, () => {
      const index = new mod.FlatIndex(DIM, int8);
      index.addBatch(ids, base);
      return index;
    });
    indexFileMB[name] = MB(f.serialize().length);
    record(name, "exact scan", measure((q) => f.search(q, K).ids, 1));
    f.free();
  }
}

// ---- hnswlib-wasm -------------------------------------------------------------------------------
globalThis.window ??= globalThis;
globalThis.indexedDB ??= {
  open() {
    throw new Error("no IndexedDB in Node (benchmark shim)");
  },
};
const { log, error } = console;
console.log = console.error = () => {}; // its IDBFS mount logs, and reports the failed sync
const { loadHnswlib } = await import("hnswlib-wasm/dist/hnswlib.js");
const hnswlib = await loadHnswlib();
Object.assign(console, { log, error });
{
  const name = "hnswlib-wasm";
  const h = build(name, () => hnswlib.HEAP8.length, () => {
    const index = new hnswlib.HierarchicalNSW("cosine", DIM, "");
    index.initIndex(N, M, EFC, 100);
    index.addPoints(baseRows, Array.from(ids), false);
    return index;
  });
  for (const ef of peerEfs) {
    h.setEfSearch(ef);
    record(name, `ef ${ef}`, measure((q) => h.searchKnn(q, K, undefined).neighbors));
  }
}

// ---- voy-search ---------------------------------------------------------------------------------
if (!skip.has("voy")) {
  const voyDir = new URL("../node_modules/voy-search/", import.meta.url);
  const glue = await import(new URL("voy_search_bg.js", voyDir));
  const bytes = await readFile(fileURLToPath(new URL("voy_search_bg.wasm", voyDir)));
  const { instance } = await WebAssembly.instantiate(bytes, { "./voy_search_bg.js": glue });
  glue.__wbg_set_wasm(instance.exports);
  const name = "voy-search";
  const v = build(name, () => instance.exports.memory.buffer.byteLength, () => {
    const embeddings = baseRows.map((r, i) => ({
      id: String(i), title: "", url: "", embeddings: Array.from(r),
    }));
    return new glue.Voy({ embeddings });
  });
  record(name, "k-d tree", measure((q) => v.search(q, K).neighbors.map((n) => n.id), 1));
  v.free();
}

// ---- report -------------------------------------------------------------------------------------
const isOurs = (r) => r.engine.startsWith("ours HnswIndex");
const isPeer = (r) => !r.engine.startsWith("ours");
/** Best peer QPS at recall within 0.002 of (or above) ours; else the peer's highest recall. */
function bestPeer(r) {
  const peers = rows.filter(isPeer);
  const close = peers.filter((p) => p.recall >= r.recall - 0.002);
  const pool = close.length ? close : [peers.reduce((a, b) => (b.recall > a.recall ? b : a))];
  return pool.reduce((a, b) => (b.qps > a.qps ? b : a));
}
const buildOf = (engine) => builds.find((b) => b.engine === engine);
const lines = [
  `${N} × ${DIM} base vectors, ${Q} held-out queries (${meta.model} ${meta.variant}` +
    `${meta.synthetic ? ", SYNTHETIC" : ""}), k = ${K}, M ${M}, efConstruction ${EFC}; ` +
    `Node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"})`,
  "",
  "| engine | search param | QPS | recall@10 | build s | RSS growth MB | wasm heap MB | index file MB | ours ÷ best peer QPS at ≥ recall − 0.002 |",
  "|---|---|---:|---:|---:|---:|---:|---:|---|",
];
for (const r of rows) {
  const b = buildOf(r.engine);
  let ratio = "";
  if (isOurs(r)) {
    const p = bestPeer(r);
    ratio = `${(r.qps / p.qps).toFixed(2)}× (${p.engine} ${p.param}, ${p.qps} QPS, ${p.recall.toFixed(3)})`;
  }
  lines.push(
    `| ${r.engine} | ${r.param} | ${r.qps} | ${r.recall.toFixed(4)} | ${b?.build_s ?? ""} | ` +
      `${b?.rss_growth_mb ?? ""} | ${b?.wasm_heap_mb ?? ""} | ${indexFileMB[r.engine] ?? ""} | ${ratio} |`,
  );
}
const ourBuild = buildOf("ours HnswIndex");
const peerBuild = buildOf("hnswlib-wasm");
if (ourBuild && peerBuild) {
  lines.push("", `Build time ours ÷ hnswlib-wasm: ${(ourBuild.build_s / peerBuild.build_s).toFixed(2)}×`);
}
if (!globalThis.gc) lines.push("", "(run with --expose-gc for steadier memory figures)");
console.log(lines.join("\n"));

if (jsonOut) {
  const report = {
    data: meta, n: N, queries: Q, k: K, m: M, ef_construction: EFC, runs,
    node: process.version, cores: os.cpus().length, cpu: os.cpus()[0]?.model,
    simd128, index_file_mb: indexFileMB, builds, results: rows,
  };
  await writeFile(jsonOut, JSON.stringify(report, null, 2) + "\n");
}
