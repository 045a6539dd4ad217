// The tokenizer (Rust -> wasm) with Gemma's vocabulary, and the corpus index (passages, BM25,
// the HNSW dense index in the vector wasm), loaded once per isolate on first use.
//
// The wasm modules are bundled precompiled (`wasm = embed` / CompiledWasm): workerd, like
// Cloudflare, refuses to compile wasm from bytes at run time. The large data files (the 9.6 MB
// vocabulary, the index) come from bound storage, the ASSETS binding (a read-only disk service
// locally, Workers Static Assets on Cloudflare), in parts of at most 1 MiB, each checked
// against the size and SHA-256 that the bundle's meta.json records. Memory is the tight limit
// (128 MB per isolate, and the tokenizer alone needs ~44 MB of wasm memory): a data module is
// held in several copies by the runtime, and one 9.6 MB response costs ~3x its size in
// transient buffers, so the vocabulary is streamed part by part straight into wasm memory.
import { initSync as initTokenizer, Tokenizer } from "../build/wasm/tokenizer.js";
import tokenizerWasm from "../build/wasm/tokenizer_bg.wasm";
import { initSync as initVector, HnswIndex } from "../build/wasm/vector.js";
import vectorWasm from "../build/wasm/vector_bg.wasm";
import analyzerTables from "../build/data/analyzer.json";
import meta from "../build/data/meta.json";
import { Bm25, hybridSearch, makeAnalyzer } from "./retrieval.js";

export { meta };

/** Bytes of wasm linear memory per loaded module (for /v1/health). */
export const wasmMemory = {};

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Streams asset `name` part by part; `sink(part, offset)` must copy each part before the next
 * is fetched. Every part is checked against meta.json.
 */
async function readAsset(env, name, sink) {
  const spec = meta.assets[name];
  if (env.ASSETS === undefined) throw new Error("the ASSETS binding is missing");
  let offset = 0;
  for (const [i, part] of spec.parts.entries()) {
    // The binding ignores the host: nothing leaves the worker.
    const response = await env.ASSETS.fetch(`http://localhost/${name}/${i}`);
    if (!response.ok) throw new Error(`asset ${name} part ${i}: status ${response.status}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const digest = hex(await crypto.subtle.digest("SHA-256", bytes));
    if (bytes.byteLength !== part.size || digest !== part.sha256) {
      throw new Error(`asset ${name} part ${i} does not match the bundle: redeploy both`);
    }
    sink(bytes, offset);
    offset += bytes.byteLength;
  }
  return spec.size;
}

async function assetBytes(env, name) {
  const out = new Uint8Array(meta.assets[name].size);
  await readAsset(env, name, (part, at) => out.set(part, at));
  return out;
}

const parseJson = async (env, name) =>
  JSON.parse(new TextDecoder().decode(await assetBytes(env, name)));

/** Memoises an async loader; a failed load is retried by the next request. */
function once(load) {
  let pending;
  return (env) => {
    if (pending === undefined) {
      pending = load(env);
      pending.catch(() => {
        pending = undefined;
      });
    }
    return pending;
  };
}

/**
 * Tokenizer.fromBytes with the vocabulary written straight into wasm memory: the same calls
 * that the wasm-bindgen glue makes for `fromBytes(bytes)` (allocate, copy, call, wrap), minus
 * the 9.6 MB JavaScript copy. Falls back to the public API if the glue's internals differ.
 */
async function loadTokenizer(env) {
  const wasm = initTokenizer({ module: tokenizerWasm });
  const size = meta.assets["tokenizer.gtok"].size;
  const direct =
    typeof wasm.__wbindgen_export === "function" &&
    typeof wasm.tokenizer_fromBytes === "function" &&
    typeof Tokenizer.__wrap === "function";
  let tokenizer;
  if (direct) {
    const ptr = wasm.__wbindgen_export(size, 1) >>> 0;
    // Re-read `wasm.memory.buffer` per part: an allocation may have grown (detached) it.
    await readAsset(env, "tokenizer.gtok", (part, at) =>
      new Uint8Array(wasm.memory.buffer, ptr + at, part.byteLength).set(part),
    );
    const ret = wasm.tokenizer_fromBytes(ptr, size); // takes ownership of the buffer
    if (ret[2]) throw new Error("the vocabulary does not load (tokenizer_fromBytes failed)");
    tokenizer = Tokenizer.__wrap(ret[0]);
  } else {
    tokenizer = Tokenizer.fromBytes(await assetBytes(env, "tokenizer.gtok"));
  }
  wasmMemory.tokenizer = wasm.memory.buffer.byteLength;
  return tokenizer;
}

/** @returns {Promise<Tokenizer>} */
export const getTokenizer = once(loadTokenizer);

export const getIndex = once(async (env) => {
  const passages = (await parseJson(env, "passages.json")).passages;
  const bm25 = new Bm25(await parseJson(env, "bm25.json"), makeAnalyzer(analyzerTables));
  const wasm = initVector({ module: vectorWasm });
  const dense = HnswIndex.load(await assetBytes(env, "dense.idx"));
  wasmMemory.vector = wasm.memory.buffer.byteLength;
  if (bm25.length !== passages.length || dense.len !== passages.length) {
    throw new Error("the index files disagree on the number of passages: rebuild the bundle");
  }
  return {
    dim: dense.dim,
    size: passages.length,
    search(query, k, vector) {
      const denseSearch =
        vector === undefined
          ? undefined
          : (candidates) => Array.from(dense.search(Float32Array.from(vector), candidates).ids);
      return hybridSearch({ passages, bm25, query, k, dense: denseSearch });
    },
  };
});
