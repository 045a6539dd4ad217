// The agent's worker: Pyodide runs py_agent (pure Python) here, next to the decoder engine, so a
// whole ReAct run is synchronous Python calling synchronous wasm while the page stays responsive.
// Talks to the page (app.js) by messages only; every event is a JSON string from Python.
import { loadPyodide } from "/pyodide/pyodide.mjs";
import { Codec, WasmEngine } from "./engine.js";
import { WebGpuEngine, webgpuAdapter } from "./engine_webgpu.js";
import { fetchVerified, loadManifest, missingBytes, storageLeft, StoreError } from "./model_store.js";
import { loadTokenizer } from "./tokenizer.js";
import { Embedder } from "./embedder.js";
import { deleteDocument, listDocuments, putDocument } from "./documents.js";
import initVector, { FlatIndex, HnswIndex } from "./build/wasm/vector.js";

let session = null; // py_agent.browser_session.BrowserSession (a PyProxy)
let asyncEngine = false; // WebGPU: asks go through stack switching (callPromising + run_sync)
let loaded = null; // { model, modelDoc, codec, wasm } for checks after start-up
let cancelFlag = null;
// Dense retrieval: the shipped HNSW index, the user's documents in a flat index (ids = passage
// rows after the shipped ones), and the embedder. Null when the browser cannot block on
// promises from Python (no JSPI): search_docs then uses BM25 alone.
let dense = null;
// JavaScript promise integration lets synchronous Python wait for asynchronous JavaScript.
const JSPI = typeof WebAssembly.Suspending === "function"; // Int32Array on a SharedArrayBuffer: the page sets [0] = 1 to stop a run

const post = (type, fields = {}) => self.postMessage({ type, ...fields });

async function fetchOk(url, as) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return as === "json" ? response.json() : as === "text" ? response.text() : response.arrayBuffer();
}

function progress(stage) {
  return ({ path, loaded, total, cached, warning }) => {
    if (warning) post("warning", { message: warning });
    post("progress", { stage, path, loaded, total, cached });
  };
}

const CHECK_PROMPT = "Water boils at a temperature of";

/** The WebGPU engine on the build's default ONNX graph (fetched and verified like the rest). */
async function createWebGpu(model, modelDoc) {
  if (!(await webgpuAdapter())) throw new StoreError("this browser has no WebGPU adapter", "backend");
  const graphPath = modelDoc.variants?.[modelDoc.default_variant]?.file;
  const graph = await fetchVerified(model, graphPath, progress("WebGPU graph"));
  const dataName = `${graphPath}.data`;
  const data = await fetchVerified(model, dataName, progress("WebGPU weights"));
  const c = modelDoc.config;
  return WebGpuEngine.create(graph, data, dataName, {
    layers: c.num_layers,
    kvHeads: c.num_kv_heads,
    headDim: c.head_dim,
  });
}

/** Greedy tokens of the WASM and the WebGPU engines on the same prompt (they must agree). */
async function webgpuCheck({ steps }) {
  const ids = [loaded.modelDoc.special_tokens.bos, ...JSON.parse(loaded.codec.encode(CHECK_PROMPT, false))];
  let t0 = performance.now();
  const wasmIds = loaded.wasm.greedy(ids, steps);
  const wasmMs = performance.now() - t0;
  t0 = performance.now();
  const gpu = await createWebGpu(loaded.model, loaded.modelDoc);
  const createMs = performance.now() - t0;
  t0 = performance.now();
  const gpuIds = await gpu.greedy(ids, steps);
  const gpuMs = performance.now() - t0;
  const text = (list) => loaded.codec.decode(JSON.stringify(list));
  post("webgpu-check", {
    prompt_ids: ids,
    wasm: { ids: wasmIds, text: text(wasmIds), ms: Math.round(wasmMs) },
    webgpu: { ids: gpuIds, text: text(gpuIds), ms: Math.round(gpuMs), create_ms: Math.round(createMs) },
  });
}

async function init({ settings, cancelBuffer, backend }) {
  const t0 = performance.now();
  cancelFlag = cancelBuffer ? new Int32Array(cancelBuffer) : null;
  const stages = {}; // where start-up time goes, in ms (shown in the ready info)
  let tStage = t0;
  const stage = (name) => {
    const now = performance.now();
    stages[name] = Math.round(now - tStage);
    tStage = now;
  };
  const app = await fetchOk(new URL("./build/app.json", import.meta.url), "json");
  // Python starts while the model loads: neither waits for the other.
  const pyodideReady = loadPyodide({ indexURL: "/pyodide/" }).then(async (py) => {
    py.unpackArchive(await fetchOk(new URL(app.py_agent, import.meta.url), "bytes"), "zip", {
      extractDir: "/app",
    });
    return py;
  });
  pyodideReady.catch(() => {}); // awaited below; this only avoids an unhandled rejection

  post("status", { text: "Checking the model's manifest…" });
  const model = await loadManifest(app.model);
  const index = await loadManifest(app.index);
  const modelDoc = JSON.parse(
    new TextDecoder().decode(await fetchVerified(model, "model.json", progress("model"))),
  );
  const variant = modelDoc.variants?.[modelDoc.default_variant];
  const weightsPath = variant?.wasm_weights;
  if (!weightsPath) throw new StoreError("the model has no weights file for the WASM backend", "manifest");
  const vocabPath = modelDoc.tokenizer?.vocab;
  const needed = [weightsPath, vocabPath];
  const missing = await missingBytes(model, needed);
  const left = await storageLeft();
  if (left !== null && missing > left) {
    post("warning", {
      message:
        `Storage is short: the model needs ${(missing / 1e6).toFixed(0)} MB, the browser allows ` +
        `${(left / 1e6).toFixed(0)} MB more. It will run now but be downloaded again next time.`,
    });
  }
  navigator.storage?.persist?.().catch(() => {});
  stage("manifests");

  const vocab = await fetchVerified(model, vocabPath, progress("tokenizer"));
  const weights = await fetchVerified(model, weightsPath, progress("model"));
  stage("weights");
  const passages = new TextDecoder().decode(await fetchVerified(index, "passages.json", progress("index")));
  const bm25 = new TextDecoder().decode(await fetchVerified(index, "bm25.json", progress("index")));
  const embedderFolder = await loadManifest(app.embedder);
  const embedderDoc = JSON.parse(
    new TextDecoder().decode(await fetchVerified(embedderFolder, "embedder.json", progress("embedder"))),
  );
  const wordpieceJson = new TextDecoder().decode(
    await fetchVerified(embedderFolder, embedderDoc.tokenizer.file, progress("embedder")),
  );
  const embedderGraph = await fetchVerified(
    embedderFolder,
    embedderDoc.files[embedderDoc.default].file,
    progress("embedder"),
  );
  const denseIndex = await fetchVerified(index, "dense.idx", progress("index"));
  const tDownloaded = performance.now();

  stage("other_files");
  post("status", { text: "Starting the decoder…" });
  const wasm = await WasmEngine.create(weights);
  if (backend === "webgpu" && !JSPI) {
    throw new StoreError("the WebGPU backend needs JavaScript promise integration (JSPI)", "backend");
  }
  const engine = backend === "webgpu" ? await createWebGpu(model, modelDoc) : wasm;
  asyncEngine = engine !== wasm;
  const tokenizer = await loadTokenizer({
    wasm: new URL("./build/wasm/tokenizer_bg.wasm", import.meta.url),
    vocab,
  });
  const codec = new Codec(tokenizer);
  stage("decoder_and_tokenizer");

  await initVector({ module_or_path: new URL("./build/wasm/vector_bg.wasm", import.meta.url) });
  const shipped = HnswIndex.load(denseIndex);
  // The embedder's session starts in the background: the first search or document waits for it.
  const embedder = Embedder.create(embedderGraph, embedderDoc.dim);
  embedder.catch((err) => post("warning", { message: `Dense search is off: ${err.message}` }));
  const dim = embedderDoc.dim;
  dense = { shipped, user: new FlatIndex(dim), embedder, dim, shippedRows: shipped.len };
  stage("retrieval");

  post("status", { text: "Starting Python…" });
  const pyodide = await pyodideReady;
  stage("python_wait");
  const tPython = performance.now();
  const make = pyodide.runPython(`
import json, sys
sys.path.insert(0, "/app")
from py_agent.browser_session import (
    BrowserSession, ForeignCodec, ForeignEngine, Settings, load_docs_search)

from py_agent.browser_session import ForeignDense
from py_agent.retrieval.wordpiece import WordPiece

def make(engine, codec, model_json, passages, bm25, texts, settings_json, name, is_async,
         wordpiece_json, max_tokens, dense_search, jspi):
    try:
        settings = Settings.from_json(settings_json)
    except ValueError:  # stored by an older version: start from the defaults
        settings = Settings()
    wait = None
    if jspi:
        from pyodide.ffi import run_sync  # blocks on a promise (JSPI stack switching)
        wait = run_sync
    wordpiece = WordPiece.from_tokenizer_json(wordpiece_json, max_tokens)
    dense = ForeignDense(wordpiece, dense_search, wait) if jspi else None
    return BrowserSession(
        ForeignEngine(engine, wait if is_async else None), ForeignCodec(codec),
        json.loads(model_json), load_docs_search(passages, bm25, dense), settings,
        engine_name=name, token_texts=json.loads(texts), wordpiece=wordpiece)
make`);
  session = make(
    engine,
    codec,
    JSON.stringify(modelDoc),
    passages,
    bm25,
    codec.allTexts(),
    JSON.stringify(settings ?? {}),
    engine.backend,
    asyncEngine,
    wordpieceJson,
    embedderDoc.max_tokens,
    denseSearch,
    JSPI,
  );
  make.destroy();
  stage("session");
  loaded = { model, modelDoc, codec, wasm };
  const documents = await refreshDocuments();
  stage("documents");
  const t1 = performance.now();
  post("ready", {
    info: {
      model: modelDoc.model_id,
      backend: engine.backend,
      tools: session.tools().toJs(),
      passages: JSON.parse(passages).passages.length,
      load_ms: Math.round(t1 - t0),
      python_ms: Math.round(t1 - tPython),
      stages,
      download_ms: Math.round(tDownloaded - t0),
      cross_origin_isolated: self.crossOriginIsolated,
      dense: JSPI,
      documents,
    },
  });
  warmUp();
}

/** Runs the prompt's fixed start (the instructions) into the decoder's cache right after
 * "ready", while the user types: the first question then prefills only its own part. A question
 * sent meanwhile waits in the message queue (the call is synchronous). Not on WebGPU: its calls
 * go through stack switching, and a GPU prefills those tokens quickly anyway. */
function warmUp() {
  if (asyncEngine) return;
  const warm = JSON.parse(session.warm_up());
  post("warm", { tokens: warm.tokens, ms: Math.round(warm.seconds * 1000) });
}

/** Called from Python (ForeignDense) with the query's WordPiece ids: [[row, score], …]. */
async function denseSearch(idsJson, k) {
  const [vector] = await (await dense.embedder).embed([JSON.parse(idsJson)]);
  const found = [];
  for (const index of [dense.shipped, dense.user]) {
    if (index.len === 0) continue;
    const best = index.search(vector, k);
    const ids = best.ids;
    const scores = best.scores;
    best.free();
    for (let i = 0; i < ids.length; i++) found.push([ids[i], scores[i]]);
  }
  found.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  return JSON.stringify(found.slice(0, k));
}

/** Stored documents -> the flat index and Python's passages, in the same row order. */
async function refreshDocuments(errors = []) {
  const docs = await listDocuments();
  const user = new FlatIndex(dense.dim);
  let row = dense.shippedRows;
  for (const doc of docs) for (const v of doc.vectors) user.add(row++, v);
  dense.user.free();
  dense.user = user;
  session.set_user_documents(JSON.stringify(docs.map((d) => ({ passages: d.passages }))));
  const listed = docs.map((d) => ({
    id: d.id,
    name: d.name,
    size: d.size,
    passages: d.passages.length,
    added: d.added,
  }));
  post("documents", { documents: listed, errors });
  return listed;
}

async function addDocuments({ files }) {
  const errors = [];
  for (const { name, text, size } of files) {
    const chunked = JSON.parse(session.chunk(name, text));
    if (chunked.error) {
      errors.push(`${name} was not added: ${chunked.error}`);
      continue;
    }
    post("status-documents", { text: `Embedding ${name} (${chunked.passages.length} passages)…` });
    const ids = JSON.parse(session.embedding_ids(JSON.stringify(chunked.passages.map((p) => p.text))));
    const vectors = await (await dense.embedder).embed(ids);
    await putDocument({ name, size, passages: chunked.passages, vectors });
  }
  await refreshDocuments(errors);
}

async function ask({ question }) {
  if (cancelFlag) Atomics.store(cancelFlag, 0, 0);
  const emit = (event) => post("event", { event });
  const cancelled = () => (cancelFlag ? Atomics.load(cancelFlag, 0) === 1 : false);
  // With JSPI every ask may block on promises (dense search, WebGPU); without, none does.
  const summary = JSPI
    ? await session.ask.callPromising(question, emit, cancelled)
    : session.ask(question, emit, cancelled);
  post("done", { summary });
}

self.onmessage = async ({ data }) => {
  try {
    if (data.type === "init") await init(data);
    else if (!session) post("fatal", { message: "the agent is not loaded", kind: "state" });
    else if (data.type === "ask") await ask(data);
    else if (data.type === "configure") post("configured", { settings: session.configure(JSON.stringify(data.settings)) });
    else if (data.type === "reset") {
      session.reset();
      post("reset");
      warmUp();
    } else if (data.type === "add-documents") {
      await addDocuments(data);
    } else if (data.type === "remove-document") {
      await deleteDocument(data.id);
      await refreshDocuments();
    } else if (data.type === "webgpu-check") {
      await webgpuCheck(data);
    }
  } catch (err) {
    post("fatal", { message: err?.message ?? String(err), kind: err?.kind ?? "error", during: data.type });
  }
};
