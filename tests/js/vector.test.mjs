// The built vector.wasm, run in Node: SIMD128 kernel bit-identical to its portable emulation and
// within rounding of the scalar reference on random inputs; errors are JS errors, not traps.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const wasmDir = new URL("../../web/build/wasm/", import.meta.url);
const { initSync, dot, dotLanes, dotScalar, simd128Enabled } = await import(
  new URL("vector.js", wasmDir)
);
initSync({ module: await readFile(fileURLToPath(new URL("vector_bg.wasm", wasmDir))) });

// xorshift32: deterministic inputs.
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return (s / 0x100000000) * 2 - 1;
  };
}

function randomF32(next, n) {
  return Float32Array.from({ length: n }, next);
}

test("the module was built with SIMD128", () => {
  assert.equal(simd128Enabled(), true);
});

test("SIMD128 dot is bit-identical to the lanes emulation and close to scalar", () => {
  const next = rng(12345);
  const sizes = [...Array(70).keys(), 127, 128, 129, 384, 640, 1000, 4099, 65536];
  for (const n of sizes) {
    const a = randomF32(next, n);
    const b = randomF32(next, n);
    const simd = dot(a, b);
    assert.equal(Object.is(simd, dotLanes(a, b)), true, `n=${n}: simd ${simd} vs lanes ${dotLanes(a, b)}`);
    let magnitude = 0;
    for (let i = 0; i < n; i++) magnitude += Math.abs(Math.fround(a[i] * b[i]));
    const tol = (n + 1) * 2 ** -23 * magnitude + 1e-38;
    assert.ok(Math.abs(simd - dotScalar(a, b)) <= tol, `n=${n}: simd ${simd} vs scalar ${dotScalar(a, b)}`);
  }
});

test("known value", () => {
  const a = Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9);
  const b = Float32Array.of(9, 8, 7, 6, 5, 4, 3, 2, 1);
  assert.equal(dot(a, b), 165);
});

test("length mismatch throws a clear error", () => {
  assert.throws(() => dot(Float32Array.of(1, 2), Float32Array.of(1)), /same length, got 2 and 1/);
});
