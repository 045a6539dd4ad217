// The project's own Gemma decoder (rust_core/wasm/gemma, SIMD128 wasm, single-threaded), run on
// the page's main thread on the built model's weights-exact.bin.
import init, { GemmaDecoder, simd128Enabled } from "/build/wasm/gemma.js";
import { CHECK_PROMPT_IDS, EXPECTED_START_IDS, fetchBytes } from "./common.mjs";

let decoder = null;

export async function load({ weightsUrl }) {
  await init({ module_or_path: "/build/wasm/gemma_bg.wasm" });
  let t0 = performance.now();
  const raw = await fetchBytes(weightsUrl);
  const fetchMs = performance.now() - t0;
  t0 = performance.now();
  decoder = GemmaDecoder.fromBytes(raw);
  const parseMs = performance.now() - t0;
  return { fetch_ms: fetchMs, parse_ms: parseMs, bytes: raw.length, simd128: simd128Enabled(), threads: 1 };
}

function greedy(n, onFirst) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const [id] = decoder.topK(1).ids;
    if (i === 0 && onFirst) onFirst();
    out.push(id);
    decoder.advance(Uint32Array.of(id));
  }
  return out;
}

// Greedy ids after "Water boils at a temperature of" (the driver decodes them to text).
export function check({ steps = 8 } = {}) {
  decoder.reset();
  decoder.advance(Uint32Array.from(CHECK_PROMPT_IDS));
  const ids = greedy(steps);
  return { ids, starts_with_100: EXPECTED_START_IDS.every((id, i) => ids[i] === id) };
}

// One timed run: prefill of the prompt ids (BOS first; token by token inside advance), then
// `steps` greedy tokens.
export function run({ promptIds, steps = 64 }) {
  const prompt = Uint32Array.from(promptIds);
  const promptLength = prompt.length;
  decoder.reset();
  const t0 = performance.now();
  decoder.advance(prompt);
  const t1 = performance.now();
  let tFirst = 0;
  greedy(steps, () => {
    tFirst = performance.now();
  });
  const t2 = performance.now();
  return {
    prompt_tokens: promptLength,
    generated_tokens: steps,
    ttft_ms: tFirst - t0,
    prefill_ms: t1 - t0,
    // steps greedy tokens: each is one top-1 LM-head scan + one token through the layers.
    decode_ms_per_token: (t2 - t1) / steps,
  };
}
