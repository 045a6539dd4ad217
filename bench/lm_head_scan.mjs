// Gemma LM-head top-k scan speed in Node: the Rust int8 block-quantized (Q8_0) scan in wasm
// (SIMD128 vs its portable lanes emulation vs the scalar reference) and, as the peer,
// onnxruntime-web's fp32 MatMul (+ TopK) of the same shape on its wasm EP, 1 thread.
// Usage: node bench/lm_head_scan.mjs [--runs 7] [--rows 262144] [--cols 640] [--k 40]
//                                    [--no-ort] [--json out.json]
// Median of runs, one call per run (after warm-up calls, so V8 has tiered the code up).
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const wasmDir = new URL("../web/build/wasm/", import.meta.url);
const { initSync, Q8Matrix, simd128Enabled } = await import(new URL("vector.js", wasmDir));
initSync({ module: await readFile(fileURLToPath(new URL("vector_bg.wasm", wasmDir))) });

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const runs = Number(opt("--runs", 7));
const rows = Number(opt("--rows", 262144));
const cols = Number(opt("--cols", 640));
const k = Number(opt("--k", 40));
const withOrt = !args.includes("--no-ort");
const jsonOut = opt("--json", null);

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const stats = (samples) => ({
  median_ms: median(samples),
  min_ms: Math.min(...samples),
  max_ms: Math.max(...samples),
});

async function timeRuns(fn) {
  for (let i = 0; i < 3; i++) await fn(); // warm-up: tier-up to optimised code
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  return stats(samples);
}

// Random data: xorshift32, 4 int8 values per draw; block scales like a Q8_0 LM head's.
let seed = 0x9e3779b9;
const next = () => {
  seed ^= seed << 13; seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5; seed >>>= 0;
  return seed;
};
const blocks = cols / 32;
const words = new Uint32Array((rows * cols) / 4);
for (let i = 0; i < words.length; i++) words[i] = next();
const q = new Int8Array(words.buffer);
const scales = Float32Array.from({ length: rows * blocks }, () => 2e-4 + (next() / 2 ** 32) * 1e-3);
const h = Float32Array.from({ length: cols }, () => ((next() / 2 ** 32) * 2 - 1) * 3);

const matrix = new Q8Matrix(rows, cols, q, scales);
const bytes = matrix.bytes;
const results = {};
for (const [name, method] of [["wasm_simd128", "topK"], ["wasm_lanes", "topKLanes"], ["wasm_scalar", "topKScalar"]]) {
  results[name] = await timeRuns(() => matrix[method](h, k));
  results[name].gb_per_s = bytes / results[name].median_ms / 1e6;
}
const simdTop = matrix.topK(h, k);
const lanesTop = matrix.topKLanes(h, k);
const identical =
  simdTop.ids.every((id, i) => id === lanesTop.ids[i]) &&
  simdTop.scores.every((s, i) => Object.is(s, lanesTop.scores[i]));

let ortInfo = null;
if (withOrt) {
  const ort = await import("onnxruntime-web");
  ort.env.wasm.numThreads = 1;
  // The same matrix dequantized, as the [cols, rows] weight of MatMul([1, cols] × W).
  // Transposed in tiles of 64 rows so that both sides stay in cache.
  let model;
  {
    const weights = new Float32Array(cols * rows);
    for (let r0 = 0; r0 < rows; r0 += 64) {
      const r1 = Math.min(rows, r0 + 64);
      for (let c = 0; c < cols; c++) {
        for (let r = r0; r < r1; r++) weights[c * rows + r] = scales[r * blocks + (c >> 5)] * q[r * cols + c];
      }
    }
    model = onnxMatMulTopK(weights, cols, rows, k);
  }
  const session = await ort.InferenceSession.create(model, { executionProviders: ["wasm"] });
  const feeds = { A: new ort.Tensor("float32", h, [1, cols]) };
  results.ort_matmul_topk = await timeRuns(() => session.run(feeds, ["values", "indices"]));
  results.ort_matmul = await timeRuns(() => session.run(feeds, ["Y"]));
  const ortTop = await session.run(feeds, ["values", "indices"]);
  const ortIds = new Set(Array.from(ortTop.indices.data, Number));
  ortInfo = {
    version: ort.env.versions?.web ?? "?",
    top_k_overlap: Array.from(simdTop.ids).filter((id) => ortIds.has(id)).length,
  };
  await session.release();
}

console.log(
  `LM head ${rows} × ${cols} (int8 + f32 scale per 32: ${(bytes / 1e6).toFixed(1)} MB), top-${k}, ` +
    `Node ${process.version}, 1 thread, median of ${runs} runs (ms per call)`,
);
console.log(`SIMD128 build: ${simd128Enabled()}; SIMD128 top-k bit-identical to lanes: ${identical}`);
console.log("kernel                       median      min      max   GB/s(int8 scan)  ÷ SIMD128");
const base = results.wasm_simd128.median_ms;
for (const [name, r] of Object.entries(results)) {
  const gbs = name.startsWith("wasm") ? r.gb_per_s.toFixed(2) : "";
  console.log(
    `${name.padEnd(26)} ${r.median_ms.toFixed(2).padStart(8)} ${r.min_ms.toFixed(2).padStart(8)}` +
      ` ${r.max_ms.toFixed(2).padStart(8)} ${gbs.padStart(16)} ${(r.median_ms / base).toFixed(2).padStart(9)}×`,
  );
}
if (ortInfo) {
  console.log(
    `onnxruntime-web ${ortInfo.version} fp32 (${((rows * cols * 4) / 1e6).toFixed(0)} MB of weights); ` +
      `its exact top-${k} shares ${ortInfo.top_k_overlap} ids with the int8 scan's`,
  );
}
if (jsonOut) {
  const report = { node: process.version, rows, cols, k, runs, bytes, identical, ort: ortInfo, results };
  await writeFile(jsonOut, JSON.stringify(report, null, 2) + "\n");
}

/** A minimal ONNX model (hand-encoded protobuf): Y = MatMul(A, W); values, indices = TopK(Y, k),
 * with W [cols, rows] fp32 as an initializer. Messages are lists of byte chunks, joined once. */
function onnxMatMulTopK(w, kDim, nDim, topK) {
  const enc = new TextEncoder();
  const varint = (n) => {
    const out = [];
    let v = BigInt(n);
    do {
      let b = Number(v & 0x7fn);
      v >>= 7n;
      if (v) b |= 0x80;
      out.push(b);
    } while (v);
    return Uint8Array.from(out);
  };
  const size = (chunks) => chunks.reduce((n, c) => n + c.length, 0);
  const field = (f, wire) => varint((f << 3) | wire);
  const int = (f, v) => [field(f, 0), varint(v)];
  const bytesField = (f, b) => [field(f, 2), varint(b.length), b];
  const str = (f, s) => bytesField(f, enc.encode(s));
  const msg = (f, ...parts) => {
    const chunks = parts.flat();
    return [field(f, 2), varint(size(chunks)), ...chunks];
  };
  const tensor = (name, type, shape, raw) =>
    msg(5, ...shape.map((d) => int(1, d)), int(2, type), str(8, name), bytesField(9, raw));
  const FLOAT = 1;
  const INT64 = 7;
  const valueInfo = (f, name, type, shape) =>
    msg(f, str(1, name), msg(2, msg(1, int(1, type), msg(2, ...shape.map((d) => msg(1, int(1, d)))))));
  const graph = msg(
    7,
    msg(1, str(1, "A"), str(1, "W"), str(2, "Y"), str(4, "MatMul")),
    msg(1, str(1, "Y"), str(1, "K"), str(2, "values"), str(2, "indices"), str(4, "TopK")),
    str(2, "lm_head"),
    tensor("W", FLOAT, [kDim, nDim], new Uint8Array(w.buffer, w.byteOffset, w.byteLength)),
    tensor("K", INT64, [1], new Uint8Array(BigInt64Array.of(BigInt(topK)).buffer)),
    valueInfo(11, "A", FLOAT, [1, kDim]),
    valueInfo(12, "Y", FLOAT, [1, nDim]),
    valueInfo(12, "values", FLOAT, [1, topK]),
    valueInfo(12, "indices", INT64, [1, topK]),
  );
  const chunks = [...int(1, 8), ...graph, ...msg(8, str(1, ""), int(2, 13))];
  const model = new Uint8Array(size(chunks));
  let at = 0;
  for (const c of chunks) {
    model.set(c, at);
    at += c.length;
  }
  return model;
}
