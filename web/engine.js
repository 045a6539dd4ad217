// The Gemma decoder engines behind py_agent's StepEngine protocol (py_agent/backends/stepwise.py):
// `cached`, `truncate(n)`, `run(ids)`, `top_k(k)`, `scores_of(ids)`. They run synchronously inside
// the agent's worker, so the Python loop calls them directly. Arguments and results cross to
// Python as JSON text: one string instead of a proxy per array, nothing left to free.
import init, { GemmaDecoder, simd128Enabled } from "./build/wasm/gemma.js";

const GEMMA_WASM = new URL("./build/wasm/gemma_bg.wasm", import.meta.url);

/** The project's Rust decoder compiled to wasm (SIMD128), on the build's weights-*.bin. */
export class WasmEngine {
  /**
   * @param {Uint8Array} weights the weights file's bytes (copied into wasm memory; drop them after).
   */
  static async create(weights) {
    await init({ module_or_path: GEMMA_WASM });
    return new WasmEngine(GemmaDecoder.fromBytes(weights));
  }

  constructor(decoder) {
    this.decoder = decoder;
    this.backend = simd128Enabled() ? "wasm-simd128" : "wasm";
  }

  get cached() {
    return this.decoder.pastLength;
  }

  truncate(length) {
    this.decoder.truncate(length);
  }

  run(idsJson) {
    const ids = Uint32Array.from(JSON.parse(idsJson));
    this.decoder.advance(ids);
  }

  top_k(k) {
    const best = this.decoder.topK(k);
    try {
      return JSON.stringify([Array.from(best.ids), Array.from(best.scores)]);
    } finally {
      best.free();
    }
  }

  scores_of(idsJson) {
    return JSON.stringify(Array.from(this.decoder.scoresOf(Uint32Array.from(JSON.parse(idsJson)))));
  }

  /** Greedy ids after `promptIds` (a fresh sequence): for checks against other backends. */
  greedy(promptIds, steps) {
    this.decoder.reset();
    this.decoder.advance(Uint32Array.from(promptIds));
    const out = [];
    for (let i = 0; i < steps; i++) {
      const best = this.decoder.topK(1);
      const id = best.ids[0];
      best.free();
      out.push(id);
      this.decoder.advance(Uint32Array.of(id));
    }
    return out;
  }
}

/** The tokenizer as py_agent's TextCodec (JSON ids in and out). */
export class Codec {
  constructor(tokenizer) {
    this.tokenizer = tokenizer;
  }

  encode(text, allowSpecial) {
    return JSON.stringify(Array.from(this.tokenizer.encode(text, false, allowSpecial)));
  }

  decode(idsJson) {
    return this.tokenizer.decode(Uint32Array.from(JSON.parse(idsJson)), false);
  }

  /** Every token's text, index = id, as JSON (the agent's charset constraints scan them). */
  allTexts() {
    const n = this.tokenizer.vocabSize;
    const texts = new Array(n);
    const one = new Uint32Array(1);
    for (let i = 0; i < n; i++) {
      one[0] = i;
      texts[i] = this.tokenizer.isSpecial(i) ? "" : this.tokenizer.decode(one, false);
    }
    return JSON.stringify(texts);
  }
}
