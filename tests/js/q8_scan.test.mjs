// The built vector.wasm's int8 block-quantized (Q8_0) matrix-vector top-k scan, run in Node:
// the SIMD128 kernel is bit-identical to its portable lanes emulation, its top-k is the sorted
// full score list, and its scores are within the stated quantization bound of an exact
// (dequantized, f64) JS reference; errors are JS errors, not traps.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const wasmDir = new URL("../../web/build/wasm/", import.meta.url);
const { initSync, Q8Matrix, simd128Enabled } = await import(new URL("vector.js", wasmDir));
initSync({ module: await readFile(fileURLToPath(new URL("vector_bg.wasm", wasmDir))) });

const BLOCK = 32;
const EPS = 2 ** -23;

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

/** A random matrix (int8 values, block scales of an LM head's size, some negative) and a
 * hidden vector with a few blocks 100× larger or smaller and some zeros. */
function randomCase(seed, rows, cols) {
  const next = rng(seed);
  const uniform = () => (next() / 0x100000000) * 2 - 1;
  const q = new Int8Array(rows * cols);
  for (let i = 0; i < q.length; i++) q[i] = next() & 255;
  const scales = Float32Array.from({ length: (rows * cols) / BLOCK }, () => uniform() * 1e-3);
  const h = Float32Array.from({ length: cols }, () => uniform() * 4);
  for (let b = 0; b < cols / BLOCK; b++) {
    const kind = next() % 8;
    for (let i = b * BLOCK; i < (b + 1) * BLOCK; i++) {
      if (kind === 0) h[i] *= 100;
      if (kind === 1) h[i] *= 0.01;
    }
    if (kind === 2) h[b * BLOCK] = 0;
  }
  return { q, scales, h, matrix: new Q8Matrix(rows, cols, q, scales) };
}

/** Exact scores (dequantized weights times h, in f64) and, per row, the bound on
 * |quantized − exact|: activation rounding |s·a − h| ≤ s·(1/2 + 1e-4) with s = max|h|/127 per
 * block, plus f32 rounding of the block sum; and the bound on reordering that sum. */
function exactReference({ q, scales, h }, rows, cols) {
  const nb = cols / BLOCK;
  const actScale = new Float64Array(nb);
  for (let b = 0; b < nb; b++) {
    let amax = 0;
    for (let i = b * BLOCK; i < (b + 1) * BLOCK; i++) amax = Math.max(amax, Math.abs(h[i]));
    actScale[b] = Math.fround(amax / 127);
  }
  const exact = new Float64Array(rows);
  const tol = new Float64Array(rows);
  const reorder = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    let rounding = 0;
    let magnitude = 0;
    for (let b = 0; b < nb; b++) {
      const d = scales[r * nb + b];
      let dot = 0;
      let qAbs = 0;
      let mag = 0;
      for (let i = b * BLOCK; i < (b + 1) * BLOCK; i++) {
        const w = q[r * cols + i];
        dot += w * h[i];
        qAbs += Math.abs(w);
        mag += Math.abs(w) * (Math.abs(h[i]) + actScale[b]);
      }
      sum += d * dot;
      rounding += Math.abs(d) * actScale[b] * (0.5 + 1e-4) * qAbs;
      magnitude += Math.abs(d) * mag;
    }
    exact[r] = sum;
    // Two f32 summation orders of the block terms differ by at most 2·(nb + 1)·ε·Σ|term|.
    reorder[r] = 2 * (nb + 1) * EPS * magnitude + 1e-38;
    tol[r] = rounding + 2 * reorder[r] + EPS * Math.abs(sum);
  }
  return { exact, tol, reorder };
}

/** Every row sorted best first: score descending, ties by the lower id (NaN never occurs here). */
function sortAll(scores) {
  return Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a] || a - b);
}

function sameBits(a, b) {
  const ua = new Uint32Array(Float32Array.from(a).buffer);
  const ub = new Uint32Array(Float32Array.from(b).buffer);
  return ua.length === ub.length && ua.every((x, i) => x === ub[i]);
}

test("the module was built with SIMD128", () => {
  assert.equal(simd128Enabled(), true);
});

test("SIMD128 scores and top-k are bit-identical to the lanes emulation", () => {
  const shapes = [[1, 32], [33, 96], [100, 160], [257, 224], [64, 1056], [5000, 640]];
  for (const [rows, cols] of shapes) {
    const c = randomCase(rows * 7919 + cols, rows, cols);
    const simd = c.matrix.scores(c.h);
    assert.equal(simd.length, rows);
    assert.ok(sameBits(simd, c.matrix.scoresLanes(c.h)), `${rows}×${cols}: scores differ`);
    for (const k of [1, 40, 64, rows, rows + 3]) {
      const a = c.matrix.topK(c.h, k);
      const b = c.matrix.topKLanes(c.h, k);
      assert.equal(a.length, Math.min(k, rows));
      assert.deepEqual(a.ids, b.ids, `${rows}×${cols} k=${k}: ids`);
      assert.ok(sameBits(a.scores, b.scores), `${rows}×${cols} k=${k}: scores`);
      // The top-k is the head of the full score list sorted (ties: lower id first).
      const order = sortAll(simd).slice(0, k);
      assert.deepEqual(Array.from(a.ids), order, `${rows}×${cols} k=${k}: not the sorted head`);
      assert.ok(sameBits(a.scores, order.map((i) => simd[i])));
    }
    c.matrix.free();
  }
});

test("5,000 × 640: SIMD128 top-k agrees with an exact f32 JS reference", () => {
  const rows = 5000;
  const cols = 640;
  const c = randomCase(20240611, rows, cols);
  const { exact, tol } = exactReference(c, rows, cols);
  const simd = c.matrix.scores(c.h);
  let worst = 0;
  for (let r = 0; r < rows; r++) {
    const err = Math.abs(simd[r] - exact[r]);
    assert.ok(err <= tol[r], `row ${r}: ${simd[r]} vs exact ${exact[r]} (tol ${tol[r]})`);
    worst = Math.max(worst, err / tol[r]);
  }
  assert.ok(worst < 0.5, `worst error / bound ${worst}`); // the bound is a worst case
  // The Rust exact kernel computes the same reference (f64 sums in another order, so within
  // one f32 rounding).
  const rustExact = c.matrix.scoresExact(c.h);
  for (let r = 0; r < rows; r++) {
    assert.ok(Math.abs(rustExact[r] - exact[r]) <= EPS * Math.abs(exact[r]) + 1e-38, `row ${r}`);
  }

  const k = 40;
  const top = c.matrix.topK(c.h, k);
  const exactOrder = sortAll(exact);
  const kth = exact[exactOrder[k - 1]];
  const maxTol = Math.max(...tol);
  const wanted = new Set(exactOrder.slice(0, k));
  let overlap = 0;
  for (let i = 0; i < k; i++) {
    const id = top.ids[i];
    assert.ok(Math.abs(top.scores[i] - exact[id]) <= tol[id]);
    // Quantization can only swap rows whose exact scores are within the bound of the cut.
    assert.ok(exact[id] >= kth - 2 * maxTol, `row ${id} is far below the exact top-${k}`);
    if (wanted.has(id)) overlap++;
  }
  assert.ok(overlap >= k - 4, `only ${overlap} of the exact top-${k}`);
  c.matrix.free();
});

test("the scalar reference is within the f32 reordering bound of SIMD128", () => {
  const rows = 2000;
  const cols = 640;
  const c = randomCase(77, rows, cols);
  const { reorder } = exactReference(c, rows, cols);
  const simd = c.matrix.scores(c.h);
  const scalar = c.matrix.scoresScalar(c.h);
  const top = c.matrix.topKScalar(c.h, 40);
  for (let r = 0; r < rows; r++) {
    const diff = Math.abs(simd[r] - scalar[r]);
    assert.ok(diff <= reorder[r], `row ${r}: simd ${simd[r]} vs scalar ${scalar[r]}`);
  }
  assert.deepEqual(Array.from(top.ids), sortAll(scalar).slice(0, 40));
  c.matrix.free();
});

test("soft-cap applies cap·tanh(x/cap) to the returned scores only", () => {
  const c = randomCase(5, 300, 128);
  const raw = c.matrix.topK(c.h, 10);
  const capped = c.matrix.topK(c.h, 10, 0.05);
  assert.deepEqual(capped.ids, raw.ids);
  for (let i = 0; i < 10; i++) {
    const want = 0.05 * Math.tanh(raw.scores[i] / 0.05);
    assert.ok(Math.abs(capped.scores[i] - want) <= 1e-7 * 0.05, `${capped.scores[i]} vs ${want}`);
  }
  assert.throws(() => c.matrix.topK(c.h, 10, 0), /soft-cap must be a finite number greater than 0/);
  assert.throws(() => c.matrix.topK(c.h, 10, -1), /soft-cap/);
  assert.throws(() => c.matrix.topK(c.h, 10, NaN), /soft-cap/);
  c.matrix.free();
});

test("k = 0, k > rows and an empty matrix", () => {
  const c = randomCase(9, 10, 64);
  assert.equal(c.matrix.topK(c.h, 0).length, 0);
  assert.deepEqual(c.matrix.topK(c.h, 0).ids, new Uint32Array(0));
  const all = c.matrix.topK(c.h, 1000);
  assert.equal(all.length, 10);
  assert.deepEqual([...all.ids].sort((a, b) => a - b), [...Array(10).keys()]);
  const empty = new Q8Matrix(0, 640, new Int8Array(0), new Float32Array(0));
  assert.equal(empty.rows, 0);
  assert.equal(empty.topK(new Float32Array(640), 40).length, 0);
  assert.equal(empty.scores(new Float32Array(640)).length, 0);
  c.matrix.free();
  empty.free();
});

test("bad input throws clear errors", () => {
  const c = randomCase(3, 4, 64);
  assert.equal(c.matrix.rows, 4);
  assert.equal(c.matrix.cols, 64);
  assert.equal(c.matrix.bytes, 4 * 64 + 4 * 2 * 4);
  assert.throws(() => c.matrix.topK(new Float32Array(63), 1), /cols = 64 elements, got 63/);
  for (const [bad, index] of [[NaN, 5], [Infinity, 0], [-Infinity, 63]]) {
    const h = Float32Array.from(c.h);
    h[index] = bad;
    assert.throws(() => c.matrix.topK(h, 1), new RegExp(`element ${index} is NaN or infinite`));
    assert.throws(() => c.matrix.scores(h), /NaN or infinite/);
  }
  assert.throws(() => new Q8Matrix(2, 48, new Int8Array(96), new Float32Array(3)), /multiple of the block size 32, got 48/);
  assert.throws(() => new Q8Matrix(2, 64, new Int8Array(100), new Float32Array(4)), /2 × 64 = 128 elements, got 100/);
  assert.throws(() => new Q8Matrix(2, 64, new Int8Array(128), new Float32Array(3)), /2 × 2 = 4 elements, got 3/);
  assert.throws(() => new Q8Matrix(1, 32, new Int8Array(32), Float32Array.of(NaN)), /scale 0 is NaN or infinite/);
  c.matrix.free();
});
