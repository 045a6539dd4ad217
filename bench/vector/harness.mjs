// The vector search benchmark's core, runtime-neutral (no node: imports): the same engines,
// measurements and report in Node (bench/vector_search.mjs) and in headless Chromium
// (bench/vector/page.mjs, driven by bench/vector_browser.py). The entries read the vectors and
// supply the loaders; everything measured is decided here.
//
// Engines: our vector.wasm (HnswIndex f32 and int8, FlatIndex f32 and int8; each index gets a
// fresh module instance, so its own heap), hnswlib-wasm, voy-search and a plain-JS brute force.
// Single thread, one query at a time, k = 10. Recall@10 is against the exact top 10 (plain-JS
// brute force with f64 sums, computed here). QPS: the median of `runs` passes over the queries
// (after a warm-up pass); the slow exact engines (JS, voy) get one pass. Memory: the growth of
// `rss()` over the build when the entry has one (Node: the process's RSS; a page has none, so
// null there) and the engine's wasm linear memory after the build (a high-water mark: it
// includes the transient copy of the input). Ours also reports its serialized size.

export const K = 10;

const MB = (bytes) => Math.round(bytes / 1e5) / 10;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Runs the benchmark.
 * - base, queries: Float32Array, row-major, `meta.dim` wide; meta: vectors.json
 *   (bench/vector_data.py); base must hold meta.base rows and queries meta.queries rows.
 * - options: {runs, ourEfs, peerEfs, m, efConstruction, maxQueries (or null), skip (a Set of
 *   "voy", "brute", "int8", "flat")}.
 * - loaders: {ours: async () => ({mod, heap}) (a fresh instance of our vector module and its
 *   wasm memory size in bytes), hnswlib: async () => the loadHnswlib() library,
 *   voy: async () => ({Voy, heap}) (voy-search's Voy class and its wasm memory size)}.
 * - env: {rss: (() => bytes) or null, log: (line) => void, describe: the runtime for the
 *   table's first line ("Node v20…, 2 cores (…)"), fields: extra keys of the report}.
 * Returns {report, lines}: the JSON report and the markdown table's lines.
 */
export async function runVectorBench(base, queries, meta, options, loaders, env) {
  const { runs, ourEfs, peerEfs, m: M, efConstruction: EFC } = options;
  const skip = options.skip ?? new Set();
  const log = env.log;
  const DIM = meta.dim;
  const N = base.length / DIM;
  let Q = queries.length / DIM;
  if (N !== meta.base || Q !== meta.queries) throw new Error("vectors.json does not match the files");
  if (options.maxQueries) {
    Q = Math.min(Q, options.maxQueries);
    queries = queries.subarray(0, Q * DIM);
  }
  const row = (data, i) => data.subarray(i * DIM, (i + 1) * DIM);
  const baseRows = Array.from({ length: N }, (_, i) => row(base, i));
  const queryRows = Array.from({ length: Q }, (_, i) => row(queries, i));

  // ---- plain-JS brute force: also the exact ground truth ---------------------------------------
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

  /** Times `search(q)` over all queries (warm-up pass first); returns {qps (median of the
   * passes), qps_min, qps_max, passes, recall}. */
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
    const before = env.rss ? env.rss() : null;
    const t0 = performance.now();
    const index = fn();
    const seconds = (performance.now() - t0) / 1000;
    const memMB = env.rss ? MB(env.rss() - before) : null;
    const heapMB = MB(heap());
    builds.push({
      engine, build_s: Math.round(seconds * 100) / 100, rss_growth_mb: memMB, wasm_heap_mb: heapMB,
    });
    const rssText = memMB === null ? "" : `, RSS +${memMB} MB`;
    log(`${engine}: built in ${seconds.toFixed(2)} s${rssText}, wasm heap ${heapMB} MB`);
    return index;
  }
  function record(engine, param, m) {
    rows.push({ engine, param, ...m });
    log(`  ${engine} ${param}: ${m.qps} QPS, recall@10 ${m.recall.toFixed(4)}`);
  }

  {
    const qps = Math.round(Q / exactSeconds);
    record("plain JS brute force", "exact", { qps, qps_min: qps, qps_max: qps, passes: 1, recall: 1 });
  }

  // ---- ours -------------------------------------------------------------------------------------
  const ids = Uint32Array.from({ length: N }, (_, i) => i);
  const indexFileMB = {};
  let simd128 = null;

  for (const int8 of [false, true]) {
    if (int8 && skip.has("int8")) continue;
    const { mod, heap } = await loaders.ours();
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
      const { mod, heap } = await loaders.ours();
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

  // ---- hnswlib-wasm -----------------------------------------------------------------------------
  {
    const hnswlib = await loaders.hnswlib();
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

  // ---- voy-search -------------------------------------------------------------------------------
  if (!skip.has("voy")) {
    const { Voy, heap } = await loaders.voy();
    const name = "voy-search";
    const v = build(name, heap, () => {
      const embeddings = baseRows.map((r, i) => ({
        id: String(i), title: "", url: "", embeddings: Array.from(r),
      }));
      return new Voy({ embeddings });
    });
    record(name, "k-d tree", measure((q) => v.search(q, K).neighbors.map((n) => n.id), 1));
    v.free();
  }

  // ---- report -----------------------------------------------------------------------------------
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
      env.describe,
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

  const report = {
    data: meta, n: N, queries: Q, k: K, m: M, ef_construction: EFC, runs,
    ...env.fields,
    simd128, index_file_mb: indexFileMB, builds, results: rows,
  };
  return { report, lines };
}
