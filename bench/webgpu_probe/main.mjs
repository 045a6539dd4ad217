// onnxruntime-web (1.30, WebGPU build) on the project's decoder graphs, for bench/webgpu_probe.py.
// window.probe.load({model, data, ep}) creates a session; window.probe.run({ids, steps}) feeds
// the prompt with an empty KV cache, then `steps` greedy tokens through the cache, and returns
// timings, the greedy ids and the first run's logits (base64 float32).
// ?ort=ort.wasm.min.mjs loads the CPU-only build (its own wasm binary) instead.
const bundle = new URLSearchParams(location.search).get("ort") || "ort.webgpu.min.mjs";
if (!/^ort\.[a-z.]+\.mjs$/.test(bundle)) throw new Error(`bad ort bundle ${bundle}`);
const ort = await import(`/ort/${bundle}`);

ort.env.wasm.wasmPaths = "/ort/";
ort.env.wasm.numThreads = Math.min(2, navigator.hardwareConcurrency || 1);
ort.env.logLevel = "verbose";

const LAYERS = 18, KV_HEADS = 1, HEAD_DIM = 256;
let session = null;

function b64(f32) {
  const bytes = new Uint8Array(f32.buffer, f32.byteOffset, f32.byteLength);
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

function argmax(a) {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

async function adapterInfo() {
  if (!navigator.gpu) return null;
  const a = await navigator.gpu.requestAdapter();
  if (!a) return null;
  const i = a.info || {};
  return { vendor: i.vendor, architecture: i.architecture, description: i.description,
           features: [...a.features], maxStorageBufferBindingSize: a.limits.maxStorageBufferBindingSize };
}

async function load({ model, data, dataName, ep }) {
  if (session) { await session.release(); session = null; }
  const t0 = performance.now();
  const opts = {
    executionProviders: [ep],
    externalData: [{ path: dataName, data }],
    logSeverityLevel: 0,
    logVerbosityLevel: 0,
    graphOptimizationLevel: "all",
  };
  session = await ort.InferenceSession.create(model, opts);
  return { create_ms: performance.now() - t0, inputs: session.inputNames.length,
           outputs: session.outputNames.length, adapter: await adapterInfo() };
}

function feeds(ids, past, pastLen) {
  const n = ids.length;
  const f = {
    input_ids: new ort.Tensor("int64", BigInt64Array.from(ids.map(BigInt)), [1, n]),
    attention_mask: new ort.Tensor("int64", new BigInt64Array(pastLen + n).fill(1n), [1, pastLen + n]),
    position_ids: new ort.Tensor("int64", BigInt64Array.from(ids.map((_, i) => BigInt(pastLen + i))), [1, n]),
  };
  for (let l = 0; l < LAYERS; l++) {
    for (const kv of ["key", "value"]) {
      const name = `past_key_values.${l}.${kv}`;
      f[name] = past ? past[`present.${l}.${kv}`]
                     : new ort.Tensor("float32", new Float32Array(0), [1, KV_HEADS, 0, HEAD_DIM]);
    }
  }
  return f;
}

async function run({ ids, steps }) {
  const times = [];
  const out = [];
  let t0 = performance.now();
  let res = await session.run(feeds(ids, null, 0));
  times.push(performance.now() - t0);
  const logits0 = res.logits.data.slice();
  let next = argmax(res.logits.data);
  out.push(next);
  let pastLen = ids.length;
  for (let s = 0; s < steps; s++) {
    t0 = performance.now();
    const r2 = await session.run(feeds([next], res, pastLen));
    times.push(performance.now() - t0);
    for (const [k, t] of Object.entries(res)) if (t.dispose) t.dispose();
    res = r2;
    pastLen += 1;
    next = argmax(res.logits.data);
    out.push(next);
  }
  for (const t of Object.values(res)) if (t.dispose) t.dispose();
  return { prefill_ms: times[0], step_ms: times.slice(1), ids: out,
           logits_shape: [1, 1, logits0.length], logits_b64: b64(logits0) };
}

window.probe = { load, run, bundle, version: ort.env.versions };
window.probeReady = true;
document.getElementById("status").textContent = `ready (crossOriginIsolated ${self.crossOriginIsolated})`;
