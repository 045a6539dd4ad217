// Single-thread memory read bandwidth as wasm SIMD128 sees it (Node, one thread): the ceiling for
// a memory-bound decode step. Sums a --mib buffer (far larger than the caches, written first so
// every page is real) with 16-byte loads, as one sequential stream and as four far-apart streams
// read in turn (more misses in flight: what the LM-head scan does); GB/s per pass, median of runs.
// Usage: node bench/membw.mjs [--mib 256] [--runs 7] [--json out.json]
// The module is bench/membw.wat, assembled with `wat2wasm bench/membw.wat -o membw.wasm` (wabt)
// and inlined below as base64 so the probe needs nothing built.
import { writeFile } from "node:fs/promises";

const WASM_BASE64 = "AGFzbQEAAAABBwFgAn9/AX8DAwIAAAUDAQABBxgDBm1lbW9yeQIABHN1bTEAAARzdW00AAEKuwMCbAIBfwR7IAAgAWohAgJAA0AgACACTw0BIAMgAP0ABAD9rgEhAyAEIAD9AAQQ/a4BIQQgBSAA/QAEIP2uASEFIAYgAP0ABDD9rgEhBiAAQcAAaiEADAALCyADIAT9rgEgBSAG/a4B/a4B/RsAC8sCAgJ/BHsgAUECdiECIAAgAmohAwJAA0AgACADTw0BIAQgAP0ABAD9rgEhBCAEIAD9AAQQ/a4BIQQgBCAA/QAEIP2uASEEIAQgAP0ABDD9rgEhBCAFIAAgAmr9AAQA/a4BIQUgBSAAIAJq/QAEEP2uASEFIAUgACACav0ABCD9rgEhBSAFIAAgAmr9AAQw/a4BIQUgBiAAIAJBAXRq/QAEAP2uASEGIAYgACACQQF0av0ABBD9rgEhBiAGIAAgAkEBdGr9AAQg/a4BIQYgBiAAIAJBAXRq/QAEMP2uASEGIAcgACACQQNsav0ABAD9rgEhByAHIAAgAkEDbGr9AAQQ/a4BIQcgByAAIAJBA2xq/QAEIP2uASEHIAcgACACQQNsav0ABDD9rgEhByAAQcAAaiEADAALCyAEIAX9rgEgBiAH/a4B/a4B/RsACw==";

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const mib = Number(opt("--mib", 256));
const runs = Number(opt("--runs", 7));
const jsonOut = opt("--json", null);

const { instance } = await WebAssembly.instantiate(Buffer.from(WASM_BASE64, "base64"));
const { memory, sum1, sum4 } = instance.exports;
const bytes = mib * 2 ** 20;
const base = 65536; // the first page stays free
memory.grow(Math.ceil((base + bytes) / 65536));
const words = new Uint32Array(memory.buffer, base, bytes / 4);
for (let i = 0; i < words.length; i++) words[i] = i * 2654435761;

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1], runs: xs };
};
const results = {};
for (const [name, fn] of [["one_stream", sum1], ["four_streams", sum4]]) {
  fn(base, bytes); // warm-up
  const gbs = [];
  let check = 0;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    check ^= fn(base, bytes);
    gbs.push(bytes / 1e9 / ((performance.now() - t0) / 1e3));
  }
  results[name] = { gb_per_s: stats(gbs), checksum: check };
  console.log(
    `${name.padEnd(13)} ${results[name].gb_per_s.median.toFixed(2)} GB/s ` +
      `(${results[name].gb_per_s.min.toFixed(2)}-${results[name].gb_per_s.max.toFixed(2)}), ${mib} MiB, ${runs} runs`,
  );
}
const best = Math.max(...Object.values(results).map((r) => r.gb_per_s.median));
console.log(`single-thread read bandwidth (best median): ${best.toFixed(2)} GB/s`);
if (jsonOut) {
  const report = { node: process.version, mib, runs, results, best_gb_per_s: best };
  await writeFile(jsonOut, JSON.stringify(report, null, 2) + "\n");
}
