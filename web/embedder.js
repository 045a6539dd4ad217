// The sentence embedder (all-MiniLM-L6-v2, the build's ONNX export: mean pooling + L2 norm inside
// the graph) on onnxruntime-web's WASM provider. Token ids come from py_agent's WordPiece.
let ort = null;

export class Embedder {
  /** @param {Uint8Array} graph the embedder's .onnx bytes (verified by model_store.js) */
  static async create(graph, dim) {
    if (!ort) {
      ort = await import("/ort/ort.wasm.min.mjs");
      ort.env.wasm.wasmPaths = "/ort/";
      ort.env.wasm.numThreads = 1; // queries are one sentence; documents are embedded rarely
    }
    const session = await ort.InferenceSession.create(graph, { executionProviders: ["wasm"] });
    return new Embedder(session, dim);
  }

  constructor(session, dim) {
    this.session = session;
    this.dim = dim;
  }

  /** Unit vectors, one Float32Array per id list; `batch` lists padded together per run. */
  async embed(idLists, batch = 16) {
    const out = [];
    for (let start = 0; start < idLists.length; start += batch) {
      const rows = idLists.slice(start, start + batch);
      const width = Math.max(...rows.map((r) => r.length));
      const ids = new BigInt64Array(rows.length * width);
      const mask = new BigInt64Array(rows.length * width);
      rows.forEach((r, i) => {
        r.forEach((id, j) => {
          ids[i * width + j] = BigInt(id);
          mask[i * width + j] = 1n;
        });
      });
      const dims = [rows.length, width];
      const result = await this.session.run({
        input_ids: new ort.Tensor("int64", ids, dims),
        attention_mask: new ort.Tensor("int64", mask, dims),
      });
      const flat = result.embeddings.data;
      for (let i = 0; i < rows.length; i++) out.push(flat.slice(i * this.dim, (i + 1) * this.dim));
      result.embeddings.dispose?.();
    }
    return out;
  }
}
