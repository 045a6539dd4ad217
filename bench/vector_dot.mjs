// Dot product speed in Node: the Rust SIMD128 wasm kernel vs its scalar build and plain JS.
// Usage: node bench/vector_dot.mjs [--runs 7] [--json out.json]
// Median of runs; each run times enough calls to last ~200 ms.
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const wasmDir = new URL("../web/build/wasm/", import.meta.url);
const { initSync, dot, dotScalar } = await import(new URL("vector.js", wasmDir));
initSync({ module: await readFile(fileURLToPath(new URL("vector_bg.wasm", wasmDir))) });

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const runs = Number(opt("--runs", 7));
const jsonOut = opt("--json", null);

function jsDot(a, b) {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function timePerCall(fn, a, b) {
  let calls = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) fn(a, b);
    const ms = performance.now() - t0;
    if (ms > 200) return (ms * 1e3) / calls; // microseconds
    calls *= 2;
  }
}

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const results = [];
for (const dim of [384, 640, 4096]) {
  const a = Float32Array.from({ length: dim }, (_, i) => Math.sin(i));
  const b = Float32Array.from({ length: dim }, (_, i) => Math.cos(i * 0.3));
  const row = { dim };
  for (const [name, fn] of [["wasm_simd128", dot], ["wasm_scalar", dotScalar], ["plain_js", jsDot]]) {
    const samples = Array.from({ length: runs }, () => timePerCall(fn, a, b));
    row[name] = { median_us: median(samples), min_us: Math.min(...samples), max_us: Math.max(...samples) };
  }
  results.push(row);
}

console.log(`dot product, Node ${process.version}, median of ${runs} runs (us per call; ratio = peer / simd128)`);
console.log("dim   simd128   wasm-scalar   plain-JS   scalar/simd   JS/simd");
for (const r of results) {
  const s = r.wasm_simd128.median_us;
  console.log(
    `${String(r.dim).padEnd(5)} ${s.toFixed(3).padStart(8)} ${r.wasm_scalar.median_us.toFixed(3).padStart(12)}` +
      ` ${r.plain_js.median_us.toFixed(3).padStart(10)} ${(r.wasm_scalar.median_us / s).toFixed(2).padStart(12)}` +
      ` ${(r.plain_js.median_us / s).toFixed(2).padStart(9)}`,
  );
}
if (jsonOut) await writeFile(jsonOut, JSON.stringify({ node: process.version, runs, results }, null, 2) + "\n");
