// Teacher-forced next-token argmax of the Rust WASM decoder (int8 top-k LM head), for
// bench/wasm_fidelity.py. Usage: node bench/wasm_fidelity.mjs WEIGHTS IDS_JSON [--int8]
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const wasmDir = new URL("../web/build/wasm/", import.meta.url);
const { initSync, GemmaDecoder } = await import(new URL("gemma.js", wasmDir));
initSync({ module: await readFile(fileURLToPath(new URL("gemma_bg.wasm", wasmDir))) });

const [weightsPath, idsPath] = process.argv.slice(2);
const ids = JSON.parse(await readFile(idsPath, "utf8"));
const decoder = GemmaDecoder.fromBytes(await readFile(weightsPath));
decoder.int8Activations = process.argv.includes("--int8");
const argmax = [];
for (const id of ids) {
  decoder.advance(Uint32Array.of(id));
  argmax.push(decoder.topK(1).ids[0]);
}
process.stdout.write(JSON.stringify(argmax) + "\n");
