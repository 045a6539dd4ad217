// Unit tests of the edge worker's pure modules in Node (`node --test tests/edge/`; run by
// tests/edge/test_edge_units.py): the token bucket's refill and Retry-After, constant-time key
// comparison, RRF ties and the analyzer's code-point rules. The whole worker is tested on real
// workerd by the pytest files beside this one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RateLimiter } from "../../edge/src/ratelimit.js";
import { timingSafeEqual } from "../../edge/src/auth.js";
import { Bm25, makeAnalyzer, reciprocalRankFusion } from "../../edge/src/retrieval.js";
import { validate } from "../../edge/src/validate.js";
import { ApiError } from "../../edge/src/http.js";

test("token bucket: burst, then one token per 60/perMinute seconds", () => {
  let now = 0;
  const limiter = new RateLimiter(60, 3, () => now); // one per second
  for (let i = 0; i < 3; i++) limiter.take("a");
  assert.throws(() => limiter.take("a"), (err) => {
    assert.ok(err instanceof ApiError);
    assert.equal(err.status, 429);
    assert.equal(err.headers["retry-after"], "1");
    return true;
  });
  limiter.take("b"); // other keys have their own bucket
  now = 500;
  assert.throws(() => limiter.take("a"));
  now = 1000;
  limiter.take("a");
  now = 100_000; // refills up to the burst, not beyond
  for (let i = 0; i < 3; i++) limiter.take("a");
  assert.throws(() => limiter.take("a"));
});

test("Retry-After rounds up to whole seconds, at least 1", () => {
  let now = 0;
  const limiter = new RateLimiter(6, 1, () => now); // one per 10 s
  limiter.take("k");
  assert.throws(() => limiter.take("k"), (err) => err.headers["retry-after"] === "10");
  now = 9_500;
  assert.throws(() => limiter.take("k"), (err) => err.headers["retry-after"] === "1");
});

test("timingSafeEqual", () => {
  const a = Uint8Array.from([1, 2, 3]);
  assert.equal(timingSafeEqual(a, Uint8Array.from([1, 2, 3])), true);
  assert.equal(timingSafeEqual(a, Uint8Array.from([1, 2, 4])), false);
  assert.equal(timingSafeEqual(a, Uint8Array.from([1, 2])), false);
});

test("RRF: sums 1/(60+rank), ties keep first-seen order, repeats count once", () => {
  const fused = reciprocalRankFusion([[1, 2, 2, 3], [3, 4]], 60);
  assert.deepEqual(fused.map(([id]) => id), [3, 1, 2, 4]);
  assert.equal(fused[0][1], 1 / 64 + 1 / 61); // a repeat still takes up its rank
  assert.equal(fused[1][1], 1 / 61);
  assert.deepEqual(reciprocalRankFusion([[5, 6]], 60, 1), [[5, 1 / 61]]);
});

const tables = {
  word: [[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a], [0xdf, 0xdf], [0x10330, 0x1034a]],
  digits: [[0x30, 0x39]],
  casefold: { "ß": "ss", A: "a", B: "b" },
};

test("analyzer: casefold, 1-character tokens dropped unless digits, code points not units", () => {
  const analyze = makeAnalyzer(tables);
  assert.deepEqual(analyze("Aß b 7 xy_z"), ["ass", "7", "xy"]);
  // An astral letter is one code point (two UTF-16 units): dropped alone, kept in pairs.
  assert.deepEqual(analyze("\u{10330} \u{10330}\u{10331}"), ["\u{10330}\u{10331}"]);
});

test("BM25 ties break by row; unknown terms and prototype names score nothing", () => {
  const doc = {
    k1: 1.2, b: 0.75, avg_len: 2, doc_ids: [10, 11, 12], doc_lengths: [2, 2, 2],
    terms: { apt: [0.5, 0, 1, 1, 1, 2, 1] },
  };
  const bm25 = new Bm25(doc, makeAnalyzer(tables));
  assert.deepEqual(bm25.search("apt", 2).map(([id]) => id), [10, 11]);
  assert.deepEqual(bm25.search("constructor __proto__ zz", 3), []);
  assert.deepEqual(bm25.search("apt", 0), []);
});

test("validate: unknown, missing, defaults", () => {
  const schema = { text: { type: "string", maxLength: 5 }, n: { type: "integer", min: 1, max: 3, optional: true, default: 2 } };
  assert.deepEqual(validate({ text: "hi" }, schema), { text: "hi", n: 2 });
  assert.throws(() => validate({ text: "hi", x: 1 }, schema), (e) => e.field === "x");
  assert.throws(() => validate({}, schema), (e) => e.field === "text");
  assert.throws(() => validate({ text: "toolong" }, schema), (e) => e.field === "text");
  assert.throws(() => validate({ text: "a", n: 4 }, schema), (e) => e.field === "n");
});
