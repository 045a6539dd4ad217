// Gemma's tokenizer as the browser and the edge worker run it (tokenizer.wasm, SIMD128) over a
// parity corpus, for comparison with Hugging Face tokenizers (tests/test_tokenizer_wasm.py).
// Usage:
//   node bench/tokenizer_ids.mjs CORPUS.jsonl OUT.json [--allow-special] [--vocab PATH.gtok]
//     encodes each document's "text" (with <bos>); OUT.json is the list of id lists, in order.
//   node bench/tokenizer_ids.mjs --decode IDS.json OUT.json [--skip-special] [--vocab PATH.gtok]
//     decodes each id list of IDS.json; OUT.json is the list of texts.
// Prints the encode/decode time and throughput to stderr.
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

import { loadTokenizer } from "../web/tokenizer.js";

const root = new URL("../", import.meta.url);
const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  if (i >= 0) args.splice(i, 1);
  return i >= 0;
};
const option = (name, fallback) => {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const [, value] = args.splice(i, 2);
  return value;
};
const allowSpecial = flag("--allow-special");
const skipSpecial = flag("--skip-special");
const decodeMode = flag("--decode");
const vocabPath = option("--vocab", fileURLToPath(new URL("models_cache/gemma-3-270m/tokenizer.gtok", root)));
if (args.length !== 2) {
  console.error("usage: node bench/tokenizer_ids.mjs [--decode] IN OUT.json [--allow-special] [--skip-special] [--vocab PATH]");
  process.exit(2);
}
const [input, output] = args;

const tok = await loadTokenizer({
  wasm: await readFile(fileURLToPath(new URL("web/build/wasm/tokenizer_bg.wasm", root))),
  vocab: await readFile(vocabPath),
});

const started = performance.now();
let result;
let what;
if (decodeMode) {
  const lists = JSON.parse(await readFile(input, "utf8"));
  result = lists.map((ids) => tok.decode(Uint32Array.from(ids), skipSpecial));
  what = `decoded ${lists.length} id lists`;
} else {
  const texts = (await readFile(input, "utf8"))
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line).text);
  const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t, "utf8"), 0);
  const t0 = performance.now();
  result = texts.map((text) => Array.from(tok.encode(text, true, allowSpecial)));
  const s = (performance.now() - t0) / 1000;
  what = `encoded ${texts.length} documents, ${bytes} bytes in ${s.toFixed(2)} s (${(bytes / 1e6 / s).toFixed(1)} MB/s)`;
}
await writeFile(output, JSON.stringify(result));
console.error(`${what}; ${((performance.now() - started) / 1000).toFixed(2)} s with I/O`);
