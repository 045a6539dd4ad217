// The WebGPU engine: onnxruntime-web's WebGPU execution provider on the build's decoder graph
// (decoder-exact.onnx: MatMulNBits + GatherBlockQuantized, both with WebGPU kernels), behind
// the same StepEngine shape as engine.js — except that `run` returns a Promise (the GPU is
// asynchronous); the worker blocks on it through Pyodide's stack switching (JSPI).
// The KV cache stays on the GPU between steps; only the last position's logits come back.

let ort = null;

async function loadOrt() {
  if (!ort) {
    ort = await import("/ort/ort.webgpu.min.mjs");
    ort.env.wasm.wasmPaths = "/ort/";
    ort.env.wasm.numThreads = 1; // the graph runs on the GPU; the wasm part only schedules
  }
  return ort;
}

/** Whether this browser has a WebGPU adapter at all (SwiftShader counts: correct, but slow). */
export async function webgpuAdapter() {
  if (!("gpu" in navigator)) return null;
  return navigator.gpu.requestAdapter().catch(() => null);
}

function topK(logits, k) {
  // One pass keeping the k best (k is small): no sort of 262,144 entries.
  const ids = [];
  const scores = [];
  for (let i = 0; i < logits.length; i++) {
    const x = logits[i];
    if (ids.length === k && x <= scores[k - 1]) continue;
    let j = ids.length === k ? k - 1 : ids.length;
    if (ids.length < k) {
      ids.push(0);
      scores.push(0);
    }
    while (j > 0 && scores[j - 1] < x) {
      ids[j] = ids[j - 1];
      scores[j] = scores[j - 1];
      j--;
    }
    ids[j] = i;
    scores[j] = x;
  }
  return [ids, scores];
}

export class WebGpuEngine {
  /**
   * @param {Uint8Array} graph decoder-*.onnx; @param {Uint8Array} data its external data file
   * @param {string} dataName the data file's name as the graph refers to it
   * @param {{layers: number, kvHeads: number, headDim: number}} shape from model.json's config
   */
  static async create(graph, data, dataName, shape) {
    const o = await loadOrt();
    const session = await o.InferenceSession.create(graph, {
      executionProviders: ["webgpu"],
      externalData: [{ path: dataName, data }],
      graphOptimizationLevel: "all",
      preferredOutputLocation: Object.fromEntries(
        Array.from({ length: shape.layers }, (_, l) => [
          [`present.${l}.key`, "gpu-buffer"],
          [`present.${l}.value`, "gpu-buffer"],
        ]).flat(),
      ),
    });
    return new WebGpuEngine(o, session, shape);
  }

  constructor(o, session, shape) {
    this.ort = o;
    this.session = session;
    this.shape = shape;
    this.backend = "webgpu";
    this.tokens = [];
    this.past = null; // present.* of the last run (GPU tensors)
    this.logits = null; // Float32Array of the last position
  }

  get cached() {
    return this.tokens.length + (this.pending?.length ?? 0);
  }

  _dispose() {
    if (this.past) for (const t of Object.values(this.past)) t.dispose?.();
    this.past = null;
    this.logits = null;
  }

  _feeds(ids) {
    const { Tensor } = this.ort;
    const pastLen = this.tokens.length;
    const n = ids.length;
    const feeds = {
      input_ids: new Tensor("int64", BigInt64Array.from(ids, BigInt), [1, n]),
      attention_mask: new Tensor("int64", new BigInt64Array(pastLen + n).fill(1n), [1, pastLen + n]),
      position_ids: new Tensor("int64", BigInt64Array.from(ids, (_, i) => BigInt(pastLen + i)), [1, n]),
    };
    const { layers, kvHeads, headDim } = this.shape;
    for (let l = 0; l < layers; l++) {
      for (const kv of ["key", "value"]) {
        feeds[`past_key_values.${l}.${kv}`] =
          this.past?.[`present.${l}.${kv}`] ??
          new Tensor("float32", new Float32Array(0), [1, kvHeads, 0, headDim]);
      }
    }
    return feeds;
  }

  async _run(ids) {
    const out = await this.session.run(this._feeds(ids));
    const logits = out.logits;
    const last = logits.data.subarray(logits.data.length - logits.dims.at(-1));
    this._dispose();
    this.logits = Float32Array.from(last);
    logits.dispose?.();
    delete out.logits;
    this.past = out;
    this.tokens.push(...ids);
  }

  /** Appends ids (JSON); resolves when their logits are ready. */
  run(idsJson) {
    const ids = [...(this.pending ?? []), ...JSON.parse(idsJson)];
    this.pending = null;
    return this._run(ids);
  }

  /** The GPU cache cannot be cut in place: keep the prefix by running it again (when asked). */
  truncate(length) {
    if (length >= this.tokens.length) return;
    const keep = this.tokens.slice(0, length);
    this._dispose();
    this.tokens = [];
    this.pending = keep; // runs together with the next tokens
  }

  top_k(k) {
    if (!this.logits) throw new Error("no token has run yet");
    return JSON.stringify(topK(this.logits, k));
  }

  scores_of(idsJson) {
    if (!this.logits) throw new Error("no token has run yet");
    return JSON.stringify(JSON.parse(idsJson).map((id) => this.logits[id]));
  }

  /** Greedy ids after `promptIds` (a fresh sequence), as engine.js's WasmEngine.greedy. */
  async greedy(promptIds, steps) {
    this._dispose();
    this.tokens = [];
    this.pending = null;
    await this._run(promptIds);
    const out = [];
    for (let i = 0; i < steps; i++) {
      const [[id]] = topK(this.logits, 1);
      out.push(id);
      await this._run([id]);
    }
    return out;
  }
}
