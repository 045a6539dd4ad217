// wllama (llama.cpp compiled to wasm, npm @wllama/wllama) on the source GGUF, CPU only
// (n_gpu_layers 0: no WebGPU), its wasm served from node_modules (never a CDN).
import { Wllama } from "/wllama/index.js";
import { CHECK_PROMPT_TEXT } from "./common.mjs";

let wllama = null;

export async function load({ ggufUrl, threads }) {
  let t0 = performance.now();
  const response = await fetch(ggufUrl);
  if (!response.ok) throw new Error(`${ggufUrl}: HTTP ${response.status}`);
  const blob = await response.blob();
  const fetchMs = performance.now() - t0;
  wllama = new Wllama({ default: "/wllama/wasm/wllama.wasm" }, { suppressNativeLog: true });
  t0 = performance.now();
  await wllama.loadModel([blob], {
    n_threads: threads,
    n_gpu_layers: 0,
    n_ctx: 512,
    n_batch: 512,
    warmup: true,
  });
  const loadMs = performance.now() - t0;
  return {
    fetch_ms: fetchMs,
    parse_ms: loadMs,
    bytes: blob.size,
    threads: wllama.useMultiThread ? wllama.nbThreads : 1,
    multi_thread: !!wllama.useMultiThread,
    cross_origin_isolated: self.crossOriginIsolated,
  };
}

const GREEDY = { temperature: 0, temp: 0, top_k: 1, cache_prompt: false };

async function complete(prompt, maxTokens, { ignoreEos = false } = {}) {
  let t0 = 0;
  let tFirst = 0;
  let text = "";
  let timings = null;
  t0 = performance.now();
  await wllama.createCompletion({
    prompt,
    max_tokens: maxTokens,
    ignore_eos: ignoreEos,
    ...GREEDY,
    stream: true,
    onData: (chunk) => {
      if (!tFirst) tFirst = performance.now();
      text += chunk.choices?.[0]?.text ?? "";
      if (chunk.timings) timings = chunk.timings;
    },
  });
  return { text, timings, ttft_ms: tFirst - t0, total_ms: performance.now() - t0 };
}

// Greedy text after "Water boils at a temperature of" (wllama tokenizes, adding BOS).
export async function check({ steps = 8 } = {}) {
  const { text } = await complete(CHECK_PROMPT_TEXT, steps);
  return { text, starts_with_100: text.startsWith(" 100") };
}

// One timed run: the prompt text (wllama tokenizes it and adds BOS: the same ids as our decoder
// gets; its wasm glue rejects a prompt given as token ids), then `steps` greedy tokens.
export async function run({ promptText, steps = 64 }) {
  const r = await complete(promptText, steps, { ignoreEos: true });
  const t = r.timings;
  if (!t) throw new Error("wllama returned no timings");
  return {
    prompt_tokens: t.prompt_n,
    generated_tokens: t.predicted_n,
    ttft_ms: r.ttft_ms,
    prefill_ms: t.prompt_ms,
    decode_ms_per_token: t.predicted_per_token_ms,
    total_ms: r.total_ms,
    timings: t,
  };
}

export async function unload() {
  if (wllama) await wllama.exit();
  wllama = null;
}

