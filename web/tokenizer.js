// Loads Gemma's tokenizer (the Rust core built to wasm, SIMD128) for the page, Node and the edge
// worker: no Node or DOM APIs, only what wasm-bindgen's `--target web` output needs.
import init, { StreamDecoder, Tokenizer } from "./build/wasm/tokenizer.js";

/**
 * @param {object} options
 * @param {WebAssembly.Module | BufferSource | URL | Response | Promise<Response>} [options.wasm]
 *   tokenizer_bg.wasm (a compiled module on workerd); defaults to the URL next to the bindings.
 * @param {Uint8Array | ArrayBuffer | ArrayBufferView} options.vocab the `.gtok` file's bytes.
 * @returns {Promise<Tokenizer>} throws an Error naming the problem for a bad vocabulary file.
 */
export async function loadTokenizer({ wasm, vocab }) {
  await init(wasm === undefined ? undefined : { module_or_path: wasm });
  return Tokenizer.fromBytes(asBytes(vocab));
}

function asBytes(data) {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError("vocab must be the .gtok file's bytes (Uint8Array or ArrayBuffer)");
}

export { StreamDecoder, Tokenizer };
