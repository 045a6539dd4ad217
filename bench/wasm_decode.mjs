// Decode speed of the project's own Gemma decoder (rust_core/wasm/gemma, SIMD128 wasm) in
// Node, on a built model's weights file, single thread: load time, prefill of a ~200-token
// prompt (run token by token), then greedy decode steps (advance one token + the int8 LM-head
// top-1 scan), median over runs. First checks that greedy decoding of "Water boils at a
// temperature of" starts with " 100" (token ids ▁ 1 0 0), as the native build's generate does.
// Usage: node bench/wasm_decode.mjs [--weights models_cache/gemma-3-270m/weights-exact.bin]
//                                   [--runs 3] [--prefill 200] [--steps 64] [--int8]
//                                   [--json out.json]
// --int8: the layers' GEMVs quantize the activations to int8 per block (llama.cpp's way).
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const root = new URL("../", import.meta.url);
const wasmDir = new URL("web/build/wasm/", root);
const { initSync, GemmaDecoder, simd128Enabled } = await import(new URL("gemma.js", wasmDir));
initSync({ module: await readFile(fileURLToPath(new URL("gemma_bg.wasm", wasmDir))) });

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const weightsPath = opt("--weights", fileURLToPath(new URL("models_cache/gemma-3-270m/weights-exact.bin", root)));
const runs = Number(opt("--runs", 3));
const prefillLength = Number(opt("--prefill", 200));
const steps = Number(opt("--steps", 64));
const jsonOut = opt("--json", null);
const int8 = args.includes("--int8");

// "Water boils at a temperature of" with BOS, and " 100" as the tokenizer splits it.
const PROMPT = [2, 17390, 104264, 657, 496, 4022, 529];
const EXPECTED_START = [236743, 236770, 236771, 236771];

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const stats = (samples) => ({
  median: median(samples),
  min: Math.min(...samples),
  max: Math.max(...samples),
});

function greedy(decoder, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const [id] = decoder.topK(1).ids;
    out.push(id);
    decoder.advance(Uint32Array.of(id));
  }
  return out;
}

let t0 = performance.now();
const raw = new Uint8Array(await readFile(weightsPath));
const readMs = performance.now() - t0;
t0 = performance.now();
const decoder = GemmaDecoder.fromBytes(raw);
const loadMs = performance.now() - t0;
decoder.int8Activations = int8;
console.log(`weights: ${weightsPath} (${(raw.length / 2 ** 20).toFixed(1)} MiB), read ${readMs.toFixed(0)} ms, parse ${loadMs.toFixed(0)} ms, SIMD128 ${simd128Enabled()}, activations ${int8 ? "int8" : "f32"}`);

// Correctness: greedy continuation of the prompt.
decoder.reset();
const logits = decoder.prefill(Uint32Array.from(PROMPT));
let argmax = 0;
for (let i = 1; i < logits.length; i++) if (logits[i] > logits[argmax]) argmax = i;
decoder.reset();
decoder.advance(Uint32Array.from(PROMPT));
const continuation = greedy(decoder, 8);
const startsRight = EXPECTED_START.every((id, i) => continuation[i] === id);
console.log(`greedy after the prompt: [${continuation}] (full-logits argmax ${argmax}); starts with " 100": ${startsRight}`);

// Speed: a deterministic prompt of text-range ids after BOS, then greedy steps.
let seed = 12345;
const next = () => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return seed;
};
const prompt = Uint32Array.from({ length: prefillLength }, (_, i) => (i === 0 ? 2 : 1000 + (next() % 100000)));
const prefillMs = [];
const decodeMs = [];
for (let r = 0; r < runs; r++) {
  decoder.reset();
  t0 = performance.now();
  decoder.advance(prompt);
  prefillMs.push(performance.now() - t0);
  t0 = performance.now();
  greedy(decoder, steps);
  decodeMs.push((performance.now() - t0) / steps);
  console.log(`run ${r + 1}: prefill ${prefillMs[r].toFixed(0)} ms (${(prefillMs[r] / prefillLength).toFixed(1)} ms/token), decode ${decodeMs[r].toFixed(2)} ms/token`);
}
const result = {
  weights: weightsPath,
  runs,
  prefill_tokens: prefillLength,
  decode_steps: steps,
  activations: int8 ? "int8" : "f32",
  load_ms: loadMs,
  prefill_ms: stats(prefillMs),
  decode_ms_per_token: stats(decodeMs),
  decode_tokens_per_s: 1000 / median(decodeMs),
  greedy_continuation: continuation,
  starts_with_100: startsRight,
};
console.log(
  `median: prefill ${result.prefill_ms.median.toFixed(0)} ms for ${prefillLength} tokens, ` +
    `decode ${result.decode_ms_per_token.median.toFixed(2)} ms/token ` +
    `(${result.decode_tokens_per_s.toFixed(1)} tok/s; min ${result.decode_ms_per_token.min.toFixed(2)}, max ${result.decode_ms_per_token.max.toFixed(2)})`,
);
if (jsonOut) await writeFile(jsonOut, JSON.stringify(result, null, 2) + "\n");
decoder.free();
if (!startsRight) {
  console.error('greedy decoding does not start with " 100"');
  process.exitCode = 1;
}
