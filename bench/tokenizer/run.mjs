// The tokenizer benchmark itself, the same in Node and in Chromium: given loaders for each
// engine (ours = the Rust core as wasm, and the JS peers) and the corpus, it times loading,
// checks the ids against ours, then times encoding ~4 KB chunks and the whole corpus, engines
// in rotating order each run. Returns plain JSON-able results.

const enc = new TextEncoder();
const dec = new TextDecoder();
const now = () => performance.now();

/** `text` cut into pieces of about `bytes` UTF-8 bytes, never inside a character. */
export function chunkText(text, bytes = 4096) {
  const data = enc.encode(text);
  const out = [];
  let start = 0;
  while (start < data.length) {
    let end = Math.min(start + bytes, data.length);
    while (end < data.length && (data[end] & 0xc0) === 0x80) end++;
    out.push(dec.decode(data.subarray(start, end)));
    start = end;
  }
  return out;
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1], runs: xs };
}

function sameIds(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * loaders: { name: async () => ({ encode(text) -> ids (array-like, <bos> first) }) }, with
 * "ours" first. texts: the corpus documents.
 */
export async function runBench(loaders, texts, { runs = 5, chunkBytes = 4096, log = () => {} } = {}) {
  const whole = texts.join("\n\n");
  const chunks = chunkText(whole, chunkBytes);
  const mb = enc.encode(whole).length / 1e6;
  const names = Object.keys(loaders);
  const engines = {};
  const results = {};
  for (const name of names) {
    const t0 = now();
    engines[name] = await loaders[name]();
    results[name] = { load_ms: now() - t0, chunked_mbs: [], whole_mbs: [] };
    log(`${name}: loaded in ${results[name].load_ms.toFixed(0)} ms`);
  }
  // Parity first: chunks whose ids differ from ours (a peer may differ on rare inputs).
  const want = chunks.map((c) => engines.ours.encode(c));
  for (const name of names) {
    let differ = 0;
    const examples = [];
    for (let i = 0; i < chunks.length; i++) {
      if (!sameIds(engines[name].encode(chunks[i]), want[i])) {
        differ++;
        if (examples.length < 3) examples.push(chunks[i].slice(0, 60));
      }
    }
    results[name].differing_chunks = differ;
    results[name].differing_examples = examples;
    log(`${name}: ${differ} of ${chunks.length} chunks differ from ours`);
  }
  for (let run = 0; run < runs; run++) {
    const order = names.map((_, i) => names[(i + run) % names.length]);
    for (const name of order) {
      const e = engines[name];
      let t0 = now();
      for (const c of chunks) e.encode(c);
      results[name].chunked_mbs.push(mb / ((now() - t0) / 1e3));
      t0 = now();
      e.encode(whole);
      results[name].whole_mbs.push(mb / ((now() - t0) / 1e3));
    }
    log(`run ${run + 1}/${runs} done`);
  }
  for (const name of names) {
    results[name].chunked_mbs = stats(results[name].chunked_mbs);
    results[name].whole_mbs = stats(results[name].whole_mbs);
  }
  return { corpus_mb: mb, chunks: chunks.length, chunk_bytes: chunkBytes, runs, results };
}

/**
 * Adapters: each engine's encode with `<bos>` added. The peers always read "<end_of_turn>" and
 * the like in the text as control tokens, so ours is asked to do the same (allowSpecial).
 */
export const adapters = {
  ours: (tok) => ({ encode: (t) => tok.encode(t, true, true) }),
  lenml: (tok) => ({ encode: (t) => tok.encode(t, { add_special_tokens: true }) }),
  hf: (tok) => ({ encode: (t) => tok.encode(t, { add_special_tokens: true }).ids }),
};
