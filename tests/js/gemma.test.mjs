// The built gemma.wasm (the project's own Gemma decoder) run in Node: the tiny Gemma 1/2/3
// fixtures of rust_core/wasm/gemma/tests/data give the numpy reference's logits within 1e-3,
// whole prompt and token by token past the sliding window; its SIMD128 GEMVs are bit-identical
// to their portable lanes emulation and close to the scalar definition; bad input throws.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const wasmDir = new URL("../../web/build/wasm/", import.meta.url);
const dataDir = new URL("../../rust_core/wasm/gemma/tests/data/", import.meta.url);
const { initSync, GemmaDecoder, gemvQ8, gemvQ4o, simd128Enabled } = await import(
  new URL("gemma.js", wasmDir)
);
initSync({ module: await readFile(fileURLToPath(new URL("gemma_bg.wasm", wasmDir))) });

const TOLERANCE = 1e-3;
const EPS = 2 ** -23;

async function fixture(family) {
  const weights = await readFile(fileURLToPath(new URL(`family${family}.bin`, dataDir)));
  const raw = await readFile(fileURLToPath(new URL(`family${family}.expected.bin`, dataDir)));
  assert.equal(raw.subarray(0, 8).toString("latin1"), "GEAEXP01");
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const n = view.getUint32(8, true);
  const vocab = view.getUint32(12, true);
  const tokens = Uint32Array.from({ length: n }, (_, i) => view.getUint32(16 + 4 * i, true));
  const start = 16 + 4 * n;
  const logits = Array.from({ length: n }, (_, p) =>
    Float32Array.from({ length: vocab }, (_, v) => view.getFloat32(start + 4 * (p * vocab + v), true)),
  );
  return { weights: new Uint8Array(weights), tokens, logits, vocab };
}

function assertClose(got, want, what) {
  assert.equal(got.length, want.length, what);
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  assert.ok(worst <= TOLERANCE, `${what}: max |Δ| = ${worst}`);
}

test("the module was built with SIMD128", () => {
  assert.equal(simd128Enabled(), true);
});

for (const family of [1, 2, 3]) {
  test(`Gemma ${family} tiny model with int8 activations stays close to the reference`, async () => {
    const f = await fixture(family);
    const d = GemmaDecoder.fromBytes(f.weights);
    try {
      assert.equal(d.int8Activations, false);
      d.int8Activations = true;
      assert.equal(d.int8Activations, true);
      const n = f.tokens.length;
      const got = d.prefill(f.tokens);
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - f.logits[n - 1][i]));
      assert.ok(worst > 0 && worst < 0.5, `max |Δ| = ${worst}`);
    } finally {
      d.free();
    }
  });

  test(`Gemma ${family} tiny model matches the numpy reference`, async () => {
    const f = await fixture(family);
    const d = GemmaDecoder.fromBytes(f.weights);
    try {
      assert.equal(d.family, family);
      assert.equal(d.vocabSize, f.vocab);
      assert.equal(d.pastLength, 0);
      const n = f.tokens.length;
      assertClose(d.prefill(f.tokens), f.logits[n - 1], "whole prompt");
      assert.equal(d.pastLength, n);
      d.reset();
      assertClose(d.prefill(f.tokens.subarray(0, 3)), f.logits[2], "prefill of 3");
      for (let p = 3; p < n; p++) assertClose(d.step(f.tokens[p]), f.logits[p], `step ${p}`);
      assert.equal(d.pastLength, n);
      const top = d.topK(3);
      assert.equal(top.length, 3);
      const last = f.logits[n - 1];
      const best = Array.from(last.keys()).sort((a, b) => last[b] - last[a])[0];
      assert.equal(top.ids[0], best);
      assert.ok(Math.abs(top.scores[0] - last[best]) < 0.05);
      d.reset();
      d.advance(f.tokens);
      assert.deepEqual(d.topK(3).ids, top.ids);
    } finally {
      d.free();
    }
  });
}

test("bad files and tokens throw JS errors", async () => {
  const f = await fixture(2);
  const bad = f.weights.slice();
  bad[0] = 0x58;
  assert.throws(() => GemmaDecoder.fromBytes(bad), /bad magic/);
  assert.throws(() => GemmaDecoder.fromBytes(f.weights.subarray(0, 5000)), /truncated/);
  const d = GemmaDecoder.fromBytes(f.weights);
  assert.throws(() => d.topK(1), /no token/);
  assert.throws(() => d.prefill(new Uint32Array([2, f.vocab])), /out of range/);
  assert.throws(() => d.prefill(new Uint32Array([])), /no tokens/);
  assert.equal(d.pastLength, 0);
  d.free();
});

// xorshift32: deterministic inputs.
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
}

function sameBits(a, b) {
  const ua = new Uint32Array(Float32Array.from(a).buffer);
  const ub = new Uint32Array(Float32Array.from(b).buffer);
  return ua.length === ub.length && ua.every((x, i) => x === ub[i]);
}

test("SIMD128 GEMVs are bit-identical to lanes and close to scalar", () => {
  const shapes = [[1, 16, 16], [7, 48, 16], [9, 96, 32], [5, 160, 32], [3, 112, 16], [65, 640, 32], [33, 2048, 32]];
  for (const [rows, cols, block] of shapes) {
    const next = rng(rows * 131 + cols + block);
    const uniform = () => (next() / 0x100000000) * 2 - 1;
    const nb = (rows * cols) / block;
    const q8 = Int8Array.from({ length: rows * cols }, () => next() & 255);
    const q4 = Uint8Array.from({ length: (rows * cols) / 2 }, () => next() & 255);
    const scales = Float32Array.from({ length: nb }, () => uniform() * 1e-2);
    const offsets = Float32Array.from({ length: nb }, () => uniform() * 8e-2);
    const x = Float32Array.from({ length: cols }, () => uniform() * 4);
    const cases = [
      ["q8", (k) => gemvQ8(rows, cols, block, q8, scales, x, k), (r, j) => q8[r * cols + j]],
      ["q4o", (k) => gemvQ4o(rows, cols, block, q4, scales, offsets, x, k), (r, j) => {
        const byte = q4[(r * cols + j) >> 1];
        return j % 2 === 0 ? byte & 15 : byte >> 4;
      }],
    ];
    for (const [kind, run, value] of cases) {
      // Int8 activations: SIMD128 bit-identical to lanes; close to scalar (same integer block
      // sums, blocks added in another order) and to the f32 product (activation rounding).
      const int8 = run("fast-int8");
      assert.ok(sameBits(int8, run("lanes-int8")), `${kind} int8 ${rows}×${cols}/${block}`);
      const int8Scalar = run("scalar-int8");
      const fast = run("fast");
      assert.ok(sameBits(fast, run("lanes")), `${kind} ${rows}×${cols}/${block}`);
      const scalar = run("scalar");
      for (let r = 0; r < rows; r++) {
        let magnitude = 0;
        for (let j = 0; j < cols; j++) {
          const b = r * (cols / block) + Math.floor(j / block);
          const w = value(r, j) * scales[b] - (kind === "q4o" ? offsets[b] : 0);
          magnitude += Math.abs(w * x[j]) + (kind === "q4o" ? 2 * Math.abs(offsets[b] * x[j]) : 0);
        }
        const bound = 4 * (cols + 8) * EPS * magnitude + 1e-30;
        assert.ok(Math.abs(fast[r] - scalar[r]) <= bound, `${kind} ${rows}×${cols} row ${r}`);
        assert.ok(Math.abs(int8[r] - int8Scalar[r]) <= 2 * bound, `${kind} int8 row ${r}`);
        // |s·a − x| ≤ s/2 with s ≤ max|x|/127 ≤ 4/127, times Σ|w|, bounded by magnitude terms.
        assert.ok(Math.abs(int8[r] - fast[r]) <= 0.02 * magnitude + 2 * bound, `${kind} int8 vs f32 row ${r}`);
      }
    }
  }
  assert.throws(() => gemvQ8(1, 16, 16, new Int8Array(16), new Float32Array(1), new Float32Array(16), "x"), /unknown kernel/);
  assert.throws(() => gemvQ8(1, 16, 8, new Int8Array(16), new Float32Array(2), new Float32Array(16), "fast"), /multiple of 16/);
});
