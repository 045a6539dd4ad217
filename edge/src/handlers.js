// The API's endpoints: each validates its fields, then calls the tokenizer or the index.
import { badField } from "./http.js";
import { validate } from "./validate.js";
import { getIndex, getTokenizer, meta, wasmMemory } from "./engine.js";

export const MAX_TEXT_CHARS = 200000;
export const MAX_IDS = 65536;
export const MAX_QUERY_CHARS = 2000;
export const MAX_K = 20;
const VECTOR_DIM = 384;
const MAX_ID = 2 ** 32 - 1;

const TEXT = { type: "string", maxLength: MAX_TEXT_CHARS };
const ADD_BOS = { type: "boolean", optional: true, default: true };

export function health() {
  return {
    status: "ok",
    version: meta.version,
    model: meta.model,
    index: { passages: meta.passages, dim: meta.dim },
    wasm_memory_bytes: { ...wasmMemory },
  };
}

export async function tokenize(body, env) {
  const { text, add_bos } = validate(body, { text: TEXT, add_bos: ADD_BOS });
  return { ids: Array.from((await getTokenizer(env)).encode(text, add_bos, false)) };
}

export async function countTokens(body, env) {
  const { text, add_bos } = validate(body, { text: TEXT, add_bos: ADD_BOS });
  return { count: (await getTokenizer(env)).count(text, add_bos, false) };
}

export async function detokenize(body, env) {
  const { ids, skip_special } = validate(body, {
    ids: { type: "integers", maxItems: MAX_IDS, min: 0, max: MAX_ID },
    skip_special: { type: "boolean", optional: true, default: false },
  });
  const tok = await getTokenizer(env);
  const size = tok.vocabSize;
  const bad = ids.findIndex((id) => id >= size);
  if (bad >= 0) throw badField(`ids[${bad}]`, `ids[${bad}] is outside the vocabulary (0..${size - 1})`);
  return { text: tok.decode(Uint32Array.from(ids), skip_special) };
}

export async function search(body, env) {
  const { query, k, vector } = validate(body, {
    query: { type: "string", maxLength: MAX_QUERY_CHARS, nonEmpty: true },
    k: { type: "integer", min: 1, max: MAX_K, optional: true, default: 3 },
    vector: { type: "numbers", length: VECTOR_DIM, optional: true },
  });
  const index = await getIndex(env);
  const results = index.search(query, k, vector);
  return { results, retrievers: vector === undefined ? ["bm25"] : ["bm25", "dense"] };
}
