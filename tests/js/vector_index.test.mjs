// The built vector.wasm's indexes (FlatIndex, HnswIndex), run in Node: the SIMD128 kernels give
// the lanes emulation's results bit for bit, HNSW reaches the recall floor against exact
// search, deletes are never returned, serialize/load round-trips exactly, and bad input
// (wrong dimension, truncated / corrupt / other-version files) throws a clear JS Error.
// Bytes written by the Python extension are loaded here by tests/test_vector_index.py.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const wasmDir = new URL("../../web/build/wasm/", import.meta.url);
const {
  initSync, FlatIndex, HnswIndex, dotLanes, dotI8, dotI8Lanes, dotI8Scalar, simd128Enabled,
  indexFormatVersion,
} = await import(new URL("vector.js", wasmDir));
initSync({ module: await readFile(fileURLToPath(new URL("vector_bg.wasm", wasmDir))) });

// splitmix-ish xorshift32 + Box–Muller: deterministic data.
function rng(seed) {
  let s = seed >>> 0 || 1;
  const u32 = () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
  const uniform = () => (u32() + 0.5) / 0x100000000;
  const gauss = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  return { u32, uniform, gauss };
}

const DIM = 384;

/** Clustered data with a low intrinsic dimension (like the Rust tests' generator). */
function clustered(n, seed) {
  const LATENT = 16;
  const shared = rng(42);
  const centres = Float32Array.from({ length: 20 * DIM }, shared.gauss);
  const map = Float32Array.from({ length: DIM * LATENT }, () => (shared.gauss() * 3) / 4);
  const r = rng(seed);
  const out = new Float32Array(n * DIM);
  for (let i = 0; i < n; i++) {
    const c = r.u32() % 20;
    const z = Array.from({ length: LATENT }, r.gauss);
    for (let j = 0; j < DIM; j++) {
      let latent = 0;
      for (let t = 0; t < LATENT; t++) latent += map[j * LATENT + t] * z[t];
      out[i * DIM + j] = centres[c * DIM + j] + latent + 0.3 * r.gauss();
    }
  }
  return out;
}

/** Rust's `normalize`, reproduced exactly: f64 sum of squares, f64 divide, round to f32. */
function normalize(v) {
  let ss = 0;
  for (const x of v) ss += x * x;
  const norm = Math.sqrt(ss);
  return Float32Array.from(v, (x) => x / norm);
}

const N = 2000;
const Q = 100;
const K = 10;
const base = clustered(N, 1);
const queries = clustered(Q, 2);
const ids = Uint32Array.from({ length: N }, (_, i) => 1000 + 2 * i);
const row = (data, i) => data.subarray(i * DIM, (i + 1) * DIM);

const flat = new FlatIndex(DIM);
flat.addBatch(ids, base);
const exact = Array.from({ length: Q }, (_, q) => Array.from(flat.search(row(queries, q), K).ids));

function recall(index) {
  let hits = 0;
  const start = performance.now();
  const got = [];
  for (let q = 0; q < Q; q++) got.push(index.search(row(queries, q), K).ids);
  const qps = Q / ((performance.now() - start) / 1000);
  got.forEach((ids, q) => { for (const id of ids) if (exact[q].includes(id)) hits++; });
  return { recall: hits / (Q * K), qps };
}

test("the module was built with SIMD128 and reads format version 1", () => {
  assert.equal(simd128Enabled(), true);
  assert.equal(indexFormatVersion(), 1);
});

test("SIMD128 int8 dot equals the lanes emulation and the scalar reference", () => {
  const r = rng(7);
  for (const n of [...Array(70).keys(), 127, 128, 129, 384, 640, 4099, 65536]) {
    const a = Int8Array.from({ length: n }, () => (r.u32() % 255) - 127);
    const b = Int8Array.from({ length: n }, () => (r.u32() % 255) - 127);
    const simd = dotI8(a, b);
    assert.equal(simd, dotI8Lanes(a, b), `n=${n}`);
    assert.equal(simd, dotI8Scalar(a, b), `n=${n}`);
  }
  assert.throws(() => dotI8(Int8Array.of(1), Int8Array.of()), /same length/);
});

test("flat f32 scores are the SIMD128 dot of the normalised vectors, bit for bit as lanes", () => {
  for (let q = 0; q < 20; q++) {
    const query = row(queries, q);
    const res = flat.search(query, K);
    assert.equal(res.ids.length, K);
    const qn = normalize(query);
    res.ids.forEach((id, i) => {
      const v = normalize(row(base, (id - 1000) / 2));
      assert.ok(Object.is(res.scores[i], dotLanes(qn, v)), `query ${q} id ${id}`);
    });
    for (let i = 1; i < K; i++) assert.ok(res.scores[i - 1] >= res.scores[i]);
  }
});

test("flat int8 keeps most of the exact top 10", () => {
  const f8 = new FlatIndex(DIM, true);
  f8.addBatch(ids, base);
  assert.equal(f8.int8, true);
  const { recall: r } = recall(f8);
  assert.ok(r >= 0.9, `flat int8 recall@10 ${r}`);
});

test("HNSW recall@10 >= 0.95 at the default efSearch, f32 and int8 with rescoring", () => {
  for (const int8 of [false, true]) {
    const start = performance.now();
    const h = new HnswIndex(DIM, undefined, undefined, undefined, int8);
    h.addBatch(ids, base);
    const build = (performance.now() - start) / 1000;
    const { recall: r, qps } = recall(h);
    console.log(`# HNSW ${int8 ? "int8" : "f32"} (wasm, Node): build ${N}x${DIM} ${build.toFixed(2)} s, recall@10 ${r.toFixed(4)}, ${qps.toFixed(0)} QPS`);
    assert.ok(r >= 0.95, `HNSW ${int8 ? "int8" : "f32"} recall@10 ${r}`);
    h.free();
  }
  const { qps } = recall(flat);
  console.log(`# flat f32 (wasm, Node): ${qps.toFixed(0)} QPS over ${N}x${DIM}`);
});

test("deleted ids are never returned and the rest is still found", () => {
  const h = new HnswIndex(DIM, 16, 100, 64);
  h.addBatch(ids, base);
  const gone = new Set();
  for (const e of exact) e.slice(0, 3).forEach((id) => gone.add(id));
  for (const id of gone) assert.equal(h.remove(id), true);
  assert.equal(h.remove(gone.values().next().value), false);
  assert.equal(h.len, N - gone.size);
  for (let q = 0; q < Q; q++) {
    const res = h.search(row(queries, q), K);
    assert.equal(res.ids.length, K);
    for (const id of res.ids) assert.equal(gone.has(id), false, `deleted ${id} returned`);
  }
});

test("serialize / load round-trips: same bytes, same results", () => {
  const h = new HnswIndex(DIM, 8, 64, 32, true, 123n);
  h.addBatch(ids.subarray(0, 500), base.subarray(0, 500 * DIM));
  h.remove(ids[10]);
  for (const [index, Kind] of [[h, HnswIndex], [flat, FlatIndex]]) {
    const bytes = index.serialize();
    assert.ok(bytes instanceof Uint8Array);
    const back = Kind.load(bytes);
    assert.deepEqual(back.serialize(), bytes);
    assert.equal(back.len, index.len);
    assert.equal(back.dim, DIM);
    for (let q = 0; q < 10; q++) {
      const a = index.search(row(queries, q), K);
      const b = back.search(row(queries, q), K);
      assert.deepEqual(b.ids, a.ids);
      assert.deepEqual(b.scores, a.scores);
    }
  }
  h.setEfSearch(5);
  assert.equal(h.efSearch, 5);
  assert.equal(HnswIndex.load(h.serialize()).efSearch, 5);
});

test("bad input throws a JS Error naming the problem", () => {
  assert.throws(() => flat.search(new Float32Array(DIM - 1), K), /dimension mismatch: the index has dimension 384, the vector has 383/);
  assert.throws(() => flat.add(1, new Float32Array(3)), /dimension mismatch/);
  assert.throws(() => flat.add(ids[0], row(base, 0)), /id 1000 is already in the index/);
  assert.throws(() => flat.add(5, new Float32Array(DIM)), /norm 0/);
  assert.throws(() => new HnswIndex(DIM, 1), /m must be between 2 and 128, got 1/);
  const small = new HnswIndex(4);
  small.addBatch(Uint32Array.of(1, 2, 3), Float32Array.of(1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0));
  const bytes = small.serialize();
  for (let len = 0; len < bytes.length; len++) {
    assert.throws(() => HnswIndex.load(bytes.subarray(0, len)), (e) => e instanceof Error && /truncated|bad magic/.test(e.message), `cut to ${len}`);
  }
  for (let i = 0; i < bytes.length; i++) {
    const bad = bytes.slice();
    bad[i] ^= 0x40;
    assert.throws(() => HnswIndex.load(bad), Error, `byte ${i} flipped`);
  }
  const v2 = bytes.slice();
  v2[8] = 2;
  assert.throws(() => HnswIndex.load(v2), /format version 2 is not supported/);
  const flipped = bytes.slice();
  flipped[bytes.length - 20] ^= 1;
  assert.throws(() => HnswIndex.load(flipped), /checksum mismatch/);
  assert.throws(() => FlatIndex.load(bytes), /holds a HNSW index, expected a flat index/);
  assert.throws(() => FlatIndex.load(new TextEncoder().encode("not an index at all, just text")), /bad magic/);
});
