//! wasm-bindgen binding of `gea_tokenizer`: translation only, no logic. The browser page and the
//! edge worker load it (see `web/tokenizer.js`); Python uses the PyO3 binding of the same core.
//!
//! JS strings reach Rust as UTF-8 through `TextEncoder`, which writes a lone surrogate as
//! U+FFFD: such a string encodes exactly as the same text with U+FFFD in its place.

use gea_tokenizer::scan::{simd_matches_scalar as scan_matches, ByteSet};
use gea_tokenizer::{EncodeOptions, TokenizerError};
use wasm_bindgen::prelude::*;

fn js(e: TokenizerError) -> JsError {
    JsError::new(&e.to_string())
}

/// Gemma's tokenizer, loaded from a `.gtok` vocabulary file (copied into wasm memory).
#[wasm_bindgen]
pub struct Tokenizer {
    inner: gea_tokenizer::Tokenizer,
}

#[wasm_bindgen]
impl Tokenizer {
    /// Parses a `.gtok` file's bytes. Throws an `Error` naming what is wrong with a bad file.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: &[u8]) -> Result<Tokenizer, JsError> {
        gea_tokenizer::Tokenizer::from_bytes(bytes)
            .map(|inner| Tokenizer { inner })
            .map_err(js)
    }

    /// Token ids of `text`; `allowSpecial` reads `<end_of_turn>`… as control tokens (off for
    /// anything a user typed).
    pub fn encode(&self, text: &str, add_bos: bool, allow_special: bool) -> Vec<u32> {
        self.inner.encode(
            text,
            EncodeOptions {
                add_bos,
                allow_special,
            },
        )
    }

    /// How many ids `encode` would give, without building the list.
    pub fn count(&self, text: &str, add_bos: bool, allow_special: bool) -> u32 {
        self.inner.count(
            text,
            EncodeOptions {
                add_bos,
                allow_special,
            },
        ) as u32
    }

    /// Text of `ids`; `skipSpecial` drops `<bos>`, `<end_of_turn>`…. Throws on an id outside
    /// the vocabulary.
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> Result<String, JsError> {
        self.inner.decode(ids, skip_special).map_err(js)
    }

    /// Token `id`'s piece as stored ("▁the", "<0x0A>"…), or `undefined`.
    #[wasm_bindgen(js_name = idToToken)]
    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id).map(str::to_owned)
    }

    /// The id of an added token (`<end_of_turn>`…) by its text, or `undefined`.
    #[wasm_bindgen(js_name = addedTokenId)]
    pub fn added_token_id(&self, text: &str) -> Option<u32> {
        self.inner.added_token_id(text)
    }

    #[wasm_bindgen(js_name = isSpecial)]
    pub fn is_special(&self, id: u32) -> bool {
        self.inner.is_special(id)
    }

    #[wasm_bindgen(getter, js_name = vocabSize)]
    pub fn vocab_size(&self) -> u32 {
        self.inner.vocab_size()
    }

    #[wasm_bindgen(getter, js_name = bosId)]
    pub fn bos_id(&self) -> Option<u32> {
        self.inner.bos_id()
    }

    #[wasm_bindgen(getter, js_name = eosId)]
    pub fn eos_id(&self) -> Option<u32> {
        self.inner.eos_id()
    }

    #[wasm_bindgen(getter, js_name = padId)]
    pub fn pad_id(&self) -> Option<u32> {
        self.inner.pad_id()
    }
}

/// Streaming decode: `push(tokenizer, id)` returns the text that id completes (never half a
/// character); `finish()` the rest. The pieces concatenate to `decode(ids)`.
#[wasm_bindgen]
pub struct StreamDecoder {
    inner: gea_tokenizer::StreamDecoder,
}

#[wasm_bindgen]
impl StreamDecoder {
    #[wasm_bindgen(constructor)]
    pub fn new(skip_special: bool) -> StreamDecoder {
        StreamDecoder {
            inner: gea_tokenizer::StreamDecoder::new(skip_special),
        }
    }

    /// Throws on an id outside the vocabulary.
    pub fn push(&mut self, tokenizer: &Tokenizer, id: u32) -> Result<String, JsError> {
        self.inner.push(&tokenizer.inner, id).map_err(js)
    }

    pub fn finish(&mut self) -> String {
        self.inner.finish()
    }

    /// Bytes held back, waiting for the end of their run.
    #[wasm_bindgen(getter, js_name = pendingBytes)]
    pub fn pending_bytes(&self) -> u32 {
        self.inner.pending_bytes() as u32
    }
}

/// Whether the SIMD128 byte scans agree with the scalar ones on `text`, for the bytes that the
/// encoder looks for (`<`, `\n`, `\t`, `[`, 0xE2). Always true off wasm32.
#[wasm_bindgen(js_name = simdMatchesScalar)]
pub fn simd_matches_scalar(text: &str) -> bool {
    scan_matches(text, &ByteSet::new([b'<', b'\n', b'\t', b'[', 0xE2]))
}

/// Whether this build's scans run on SIMD128.
#[wasm_bindgen(js_name = simd128Enabled)]
pub fn simd128_enabled() -> bool {
    cfg!(all(target_arch = "wasm32", target_feature = "simd128"))
}
