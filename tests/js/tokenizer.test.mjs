// The built tokenizer.wasm (Gemma's tokenizer, the Rust core) run in Node through
// web/tokenizer.js with the real Gemma 3 vocabulary: known ids (checked against Hugging Face
// tokenizers), special tokens only when allowed, lone surrogates as U+FFFD, streaming decode
// that never splits a character, clear errors on a bad vocabulary file or id, and its SIMD128
// scans equal to the scalar ones. Corpus-wide parity with HF is tests/test_tokenizer_wasm.py.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

import { loadTokenizer } from "../../web/tokenizer.js";

const root = new URL("../../", import.meta.url);
const { Tokenizer, StreamDecoder, simd128Enabled, simdMatchesScalar } = await import(
  new URL("web/build/wasm/tokenizer.js", root)
);
const read = async (path) => new Uint8Array(await readFile(fileURLToPath(new URL(path, root))));
const vocab = await read("models_cache/gemma-3-270m/tokenizer.gtok");
const tok = await loadTokenizer({
  wasm: await WebAssembly.compile(await read("web/build/wasm/tokenizer_bg.wasm")),
  vocab,
});

const BOS = 2;
const END_OF_TURN = 106;
// Hugging Face tokenizers on models_cache/gemma-3-270m/tokenizer.json (add_special_tokens=True,
// encode_special_tokens=True).
const KNOWN = [
  ["Hello world", [2, 9259, 1902]],
  ["  two  spaces", [2, 138, 13498, 138, 35220]],
  ["日本語のテキスト", [2, 94951, 236945, 95830]],
  ["🦀 Rust", [2, 248714, 43999]],
  ["<end_of_turn>", [2, 236820, 643, 236779, 1340, 236779, 887, 236813]],
  ["a\uFFFDb", [2, 236746, 238479, 236763]],
];
const SAMPLES = [
  "Hello world",
  "  leading, trailing and  double  spaces  ",
  "Tabs\tand\nnew\r\nlines\n\n\n",
  "日本語のテキスト、中文文本 和 한국어",
  "مرحبا بالعالم — שלום עולם",
  "emoji 😀👍🏽👩‍👩‍👧 🇫🇷 🏴󠁧󠁢󠁳󠁣󠁴󠁿",
  "code: fn main() { println!(\"{}\", x[0] <= 1); }",
  "▁already▁marked and \u200bzero width\u00ad",
  "",
];

test("the module was built with SIMD128", () => {
  assert.equal(simd128Enabled(), true);
});

test("SIMD128 scans match the scalar ones on varied text", () => {
  const texts = [...SAMPLES, " ".repeat(200), "a ".repeat(100), "漢字".repeat(50), "😀".repeat(40)];
  for (let n = 0; n <= 100; n++) {
    texts.push("x".repeat(n), " ".repeat(n), "é".repeat(n), `${"y".repeat(n)}<end_of_turn>`);
    texts.push(`${"a b".repeat(n).slice(0, n)}<end_of_turn>\n\t[x]—${"z".repeat(n % 17)}`);
  }
  for (let at = 0; at < 40; at++) {
    texts.push(`${"q".repeat(at)}<end_of_turn>${" ".repeat(40 - at)}\n`);
    texts.push(`${"日".repeat(at)}—<start_of_turn>user\n`);
  }
  for (const text of texts) assert.equal(simdMatchesScalar(text), true, JSON.stringify(text));
});

test("known ids match Hugging Face tokenizers", () => {
  assert.equal(tok.vocabSize, 262144);
  assert.deepEqual([tok.bosId, tok.eosId, tok.padId], [2, 1, 0]);
  for (const [text, ids] of KNOWN) {
    assert.deepEqual(Array.from(tok.encode(text, true, false)), ids, text);
    assert.deepEqual(Array.from(tok.encode(text, false, false)), ids.slice(1), text);
  }
  assert.equal(tok.idToToken(9259), "Hello");
  assert.equal(tok.idToToken(999999), undefined);
  assert.equal(tok.addedTokenId("<end_of_turn>"), END_OF_TURN);
  assert.equal(tok.addedTokenId("Hello"), undefined);
  assert.equal(tok.isSpecial(END_OF_TURN), true);
  assert.equal(tok.isSpecial(9259), false);
});

test("encode and decode round-trip; count equals the encoding's length", () => {
  for (const text of SAMPLES.filter((t) => !t.includes("▁"))) {
    for (const [addBos, allowSpecial] of [[true, false], [false, false], [true, true]]) {
      const ids = tok.encode(text, addBos, allowSpecial);
      assert.ok(ids instanceof Uint32Array);
      assert.equal(tok.count(text, addBos, allowSpecial), ids.length, text);
      assert.equal(tok.decode(ids, true), text, text);
    }
    assert.equal(tok.decode(tok.encode(text, true, false), false), `<bos>${text}`);
  }
  // As in Hugging Face: "▁" in the text is the space marker, so it decodes as a space.
  assert.equal(tok.decode(tok.encode("▁already▁marked and x", true, false), true), " already marked and x");
});

test("<end_of_turn> is a control token only when allowed", () => {
  const text = "<start_of_turn>user\nHi<end_of_turn>";
  assert.deepEqual(Array.from(tok.encode(text, true, true)), [2, 105, 2364, 107, 10979, 106]);
  const plain = tok.encode(text, true, false);
  assert.ok(!plain.includes(END_OF_TURN) && !plain.includes(105));
  assert.equal(tok.decode(plain, true), text);
  assert.equal(tok.decode(tok.encode(text, true, true), true), "user\nHi");
});

test("lone surrogates encode as U+FFFD", () => {
  for (const [lone, replaced] of [["a\uD800b", "a\uFFFDb"], ["\uDC00", "\uFFFD"], ["x\uDBFF", "x\uFFFD"]]) {
    assert.deepEqual(tok.encode(lone, true, false), tok.encode(replaced, true, false), lone);
    assert.equal(tok.count(lone, true, false), tok.count(replaced, true, false));
  }
});

test("StreamDecoder pieces concatenate to decode and never split a character", () => {
  // 😀 (F0 9F 98 80) as its four byte-fallback tokens (ids from Hugging Face tokenizers).
  const bytes = [478, 397, 390, 366];
  assert.deepEqual(bytes.map((id) => tok.idToToken(id)), ["<0xF0>", "<0x9F>", "<0x98>", "<0x80>"]);
  const streams = [
    [2, 9259, ...bytes, 1902, ...bytes],
    [...tok.encode(SAMPLES.join(" | "), true, false), END_OF_TURN],
  ];
  for (const ids of streams) {
    for (const skip of [false, true]) {
      const d = new StreamDecoder(skip);
      const pieces = [];
      for (const id of ids) {
        const piece = d.push(tok, id);
        assert.ok(!/[\uD800-\uDFFF]/.test(piece.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, "")));
        assert.ok(!piece.includes("\uFFFD"), JSON.stringify(piece));
        pieces.push(piece);
      }
      pieces.push(d.finish());
      assert.equal(d.pendingBytes, 0);
      assert.equal(pieces.join(""), tok.decode(Uint32Array.from(ids), skip));
      d.free();
    }
  }
  const d = new StreamDecoder(false);
  assert.equal(d.push(tok, 9259), "Hello");
  for (const [i, id] of bytes.entries()) {
    assert.equal(d.push(tok, id), "");
    assert.equal(d.pendingBytes, i + 1);
  }
  assert.equal(d.push(tok, 1902), "😀 world");
  assert.equal(d.push(tok, bytes[0]), "");
  assert.equal(d.finish(), "\uFFFD");
  assert.throws(() => d.push(tok, 999999), /outside the vocabulary/);
});

test("a bad vocabulary file throws an Error that says what is wrong", () => {
  const flipped = vocab.slice();
  flipped[flipped.length >> 1] ^= 0x01;
  const cases = [
    [new Uint8Array(0), /truncated/],
    [vocab.subarray(0, 40), /truncated/],
    [vocab.subarray(0, vocab.length - 1), /truncated/],
    [flipped, /checksum/],
    [new TextEncoder().encode("not a tokenizer file at all, just some text that is long enough to pass the header size check"), /GEATOKEN/],
  ];
  for (const [bytes, message] of cases) {
    assert.throws(() => Tokenizer.fromBytes(bytes), (e) => e instanceof Error && message.test(e.message));
  }
});

test("decode of an id outside the vocabulary throws", () => {
  assert.throws(() => tok.decode(new Uint32Array([2, 999999]), false), (e) => e instanceof Error && /999999/.test(e.message));
  assert.throws(() => tok.decode(new Uint32Array([262144]), true), /outside the vocabulary/);
});
