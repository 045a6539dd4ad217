// Loads the Rust vector kernels (wasm, SIMD128) and hands them to the Python side as a promise.
import init, { dot, dotScalar, simd128Enabled } from "./build/wasm/vector.js";

const wasmUrl = new URL("./build/wasm/vector_bg.wasm", import.meta.url);

globalThis.geaKernelsReady = init({ module_or_path: wasmUrl }).then(() => ({
  dot,
  dotScalar,
  simd128Enabled,
}));
