// Decode speed of the project's own Gemma decoder (rust_core/wasm/gemma, SIMD128 wasm) in
// Node, on a built model's weights file, single thread: load time, prefill of a ~200-token
// prompt (one `advance` call: batched, chunks of 32 tokens through GEMMs), then greedy decode
// steps (advance one token + the int8 LM-head top-1 scan), median over runs. First checks that
// greedy decoding of "Water boils at a temperature of" gives " 100 degrees Celsius." (token
// ids ▁ 1 0 0 ▁degrees ▁Celsius .), as the native build's generate does, and that the batched
// prefill's continuation equals the token-by-token one.
// Usage: node bench/wasm_decode.mjs [--weights models_cache/gemma-3-270m/weights-exact.bin]
//                                   [--runs 3] [--prefill 200[,500,...]] [--steps 64] [--int8]
//                                   [--stepwise | --compare] [--wasm web/build/wasm]
//                                   [--json out.json]
// --int8: the layers' GEMVs quantize the activations to int8 per block (llama.cpp's way).
// --stepwise: prefill token by token (one `advance` per token: the decode path, as before
// batching), for comparison.
// --compare: time both prefills, alternating run by run (fairer on a busy machine), and print
// the batched one's speedup. Prefills also report the process's CPU time (less disturbed than
// wall time by other processes).
// --prefill: one or more prompt lengths (comma-separated); the prefill is timed for each.
// --wasm: the folder holding gemma.js and gemma_bg.wasm.
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = new URL("../", import.meta.url);
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const wasmOpt = opt("--wasm", null);
const wasmDir = wasmOpt ? pathToFileURL(wasmOpt.replace(/\/?$/, "/")) : new URL("web/build/wasm/", root);
const { initSync, GemmaDecoder, simd128Enabled } = await import(new URL("gemma.js", wasmDir));
initSync({ module: await readFile(fileURLToPath(new URL("gemma_bg.wasm", wasmDir))) });
const weightsPath = opt("--weights", fileURLToPath(new URL("models_cache/gemma-3-270m/weights-exact.bin", root)));
const runs = Number(opt("--runs", 3));
const prefillLengths = String(opt("--prefill", "200")).split(",").map(Number);
const stepwise = args.includes("--stepwise");
const compare = args.includes("--compare");
const steps = Number(opt("--steps", 64));
const jsonOut = opt("--json", null);
const int8 = args.includes("--int8");

// "Water boils at a temperature of" with BOS, and " 100 degrees Celsius." as the tokenizer
// splits it.
const PROMPT = [2, 17390, 104264, 657, 496, 4022, 529];
const EXPECTED_START = [236743, 236770, 236771, 236771, 10674, 57356, 236761];

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const stats = (samples) => ({
  median: median(samples),
  min: Math.min(...samples),
  max: Math.max(...samples),
});

// Runs `tokens` after the sequence: one call (batched), or one token at a time.
function advance(decoder, tokens, oneByOne) {
  if (!oneByOne) return decoder.advance(tokens);
  for (const t of tokens) decoder.advance(Uint32Array.of(t));
}

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
decoder.reset();
advance(decoder, PROMPT, true);
const stepContinuation = greedy(decoder, 8);
const sameAsSteps = stepContinuation.every((id, i) => continuation[i] === id);
const startsRight = EXPECTED_START.slice(0, 4).every((id, i) => continuation[i] === id);
const celsius = EXPECTED_START.every((id, i) => continuation[i] === id);
console.log(
  `greedy after the prompt: [${continuation}] (full-logits argmax ${argmax}); ` +
    `starts with " 100": ${startsRight}; " 100 degrees Celsius.": ${celsius}; ` +
    `same after a token-by-token prefill: ${sameAsSteps}`,
);

// Speed: a deterministic prompt of text-range ids after BOS, then greedy steps.
let seed = 12345;
const next = () => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return seed;
};
const makePrompt = (length) =>
  Uint32Array.from({ length }, (_, i) => (i === 0 ? 2 : 1000 + (next() % 100000)));
const prefill = {};
const decodeMs = [];
const cpuMs = (since) => {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / 1000;
};
const timePrefill = (prompt, oneByOne, cpu) => {
  decoder.reset();
  const c = process.cpuUsage();
  const t = performance.now();
  advance(decoder, prompt, oneByOne);
  const wall = performance.now() - t;
  cpu.push(cpuMs(c));
  return wall;
};
for (const length of prefillLengths) {
  const prompt = makePrompt(length);
  const [samples, stepSamples, cpu, stepCpu] = [[], [], [], []];
  for (let r = 0; r < runs; r++) {
    if (compare) stepSamples.push(timePrefill(prompt, true, stepCpu));
    samples.push(timePrefill(prompt, stepwise, cpu));
    let line = `${length} tokens, run ${r + 1}: prefill ${samples[r].toFixed(0)} ms (${(samples[r] / length).toFixed(2)} ms/token, CPU ${(cpu[r] / length).toFixed(2)})`;
    if (compare) line += `, token by token ${stepSamples[r].toFixed(0)} ms (${(stepSamples[r] / length).toFixed(2)} ms/token, CPU ${(stepCpu[r] / length).toFixed(2)})`;
    if (length === prefillLengths[0]) {
      t0 = performance.now();
      greedy(decoder, steps);
      decodeMs.push((performance.now() - t0) / steps);
      line += `, decode ${decodeMs[r].toFixed(2)} ms/token`;
    }
    console.log(line);
  }
  prefill[length] = {
    ms: stats(samples),
    cpu_ms: stats(cpu),
    tokens_per_s: (1000 * length) / median(samples),
  };
  if (compare) {
    Object.assign(prefill[length], {
      stepwise_ms: stats(stepSamples),
      stepwise_cpu_ms: stats(stepCpu),
      stepwise_tokens_per_s: (1000 * length) / median(stepSamples),
      speedup: median(stepSamples) / median(samples),
      cpu_speedup: median(stepCpu) / median(cpu),
    });
  }
}
const result = {
  weights: weightsPath,
  runs,
  prefill_mode: stepwise ? "token by token" : "batched",
  prefill_tokens: prefillLengths[0],
  prefill_ms: prefill[prefillLengths[0]].ms,
  decode_steps: steps,
  activations: int8 ? "int8" : "f32",
  load_ms: loadMs,
  prefill,
  decode_ms_per_token: stats(decodeMs),
  decode_tokens_per_s: 1000 / median(decodeMs),
  greedy_continuation: continuation,
  starts_with_100: startsRight,
  celsius: celsius,
  same_as_stepwise: sameAsSteps,
};
for (const [length, p] of Object.entries(prefill)) {
  console.log(
    `median: prefill (${result.prefill_mode}) of ${length} tokens ${p.ms.median.toFixed(0)} ms ` +
      `(${(p.ms.median / length).toFixed(2)} ms/token, ${p.tokens_per_s.toFixed(1)} tok/s; ` +
      `CPU ${(p.cpu_ms.median / length).toFixed(2)} ms/token)`,
  );
  if (compare) {
    console.log(
      `median: prefill (token by token) of ${length} tokens ${p.stepwise_ms.median.toFixed(0)} ms ` +
        `(${(p.stepwise_ms.median / length).toFixed(2)} ms/token, ${p.stepwise_tokens_per_s.toFixed(1)} tok/s; ` +
        `CPU ${(p.stepwise_cpu_ms.median / length).toFixed(2)} ms/token): ` +
        `batched ${p.speedup.toFixed(2)}× faster (CPU time: ${p.cpu_speedup.toFixed(2)}×)`,
    );
  }
}
console.log(
  `median: decode ${result.decode_ms_per_token.median.toFixed(2)} ms/token ` +
    `(${result.decode_tokens_per_s.toFixed(1)} tok/s; min ${result.decode_ms_per_token.min.toFixed(2)}, max ${result.decode_ms_per_token.max.toFixed(2)})`,
);
if (jsonOut) await writeFile(jsonOut, JSON.stringify(result, null, 2) + "\n");
decoder.free();
if (!(startsRight && celsius && sameAsSteps)) {
  console.error('greedy decoding does not give " 100 degrees Celsius." in both prefill modes');
  process.exitCode = 1;
}
