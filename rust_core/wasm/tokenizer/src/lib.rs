//! Gemma's tokenizer (SentencePiece BPE with byte fallback, as Gemma 1/2/3 ship it), giving the
//! same ids as Hugging Face `tokenizers` on the same tokenizer.json. One core for the browser
//! and the edge worker (wasm32 + SIMD128, via `gea-tokenizer-wasm`), for Python (PyO3, via
//! `gea-tokenizer-py`) and for `cargo test`.
//!
//! Encoding: added tokens are cut out of the raw text (`added`), the rest gets " " -> "▁"
//! (`scan`), is cut into words (`words`), and each word is merged (`bpe`), with a cache of
//! recent words. Decoding is in `decode`. The vocabulary comes from a `.gtok` file (`vocab`).

mod added;
pub mod bpe;
mod decode;
mod error;
mod fxhash;
pub mod scan;
mod vocab;
mod words;

use std::sync::Mutex;

pub use added::{AddedToken, AddedTokens, Segment};
pub use decode::StreamDecoder;
pub use error::TokenizerError;
pub use gea_checksum::crc32;
pub use vocab::{Vocabulary, NO_ID, VERSION};

use bpe::{Merges, Scratch};
use fxhash::FxHashMap;
use words::WordSplitter;

/// Words longer than this (bytes) are not cached: they are rare and would crowd it.
const CACHE_WORD_BYTES: usize = 256;
/// Entries kept before the cache is emptied (bounded memory on any input).
const CACHE_ENTRIES: usize = 1 << 16;

/// What `encode` is allowed to do beyond plain text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EncodeOptions {
    /// Put `<bos>` first (when the tokenizer's template has one).
    pub add_bos: bool,
    /// Read `<start_of_turn>`, `<end_of_turn>`, `<bos>`… in the text as control tokens.
    /// Off for anything a user typed: then they are encoded as the characters they are.
    pub allow_special: bool,
}

#[derive(Default)]
struct WordCache {
    map: FxHashMap<Box<str>, Box<[u32]>>,
}

pub struct Tokenizer {
    vocab: Vocabulary,
    merges: Merges,
    ascii: [u32; 128],
    chars: FxHashMap<char, u32>,
    byte_ids: [u32; 256],
    byte_values: FxHashMap<u32, u8>,
    special: Vec<u64>, // bitset over ids
    added: AddedTokens,
    words: WordSplitter,
    cache: Mutex<WordCache>,
}

/// Reusable per-call buffers.
#[derive(Default)]
struct Work {
    normalized: String,
    symbols: Vec<u32>,
    scratch: Scratch,
}

impl Tokenizer {
    /// Loads a `.gtok` vocabulary file's bytes (checked: version, lengths, checksum, ids).
    pub fn from_bytes(data: &[u8]) -> Result<Self, TokenizerError> {
        Ok(Self::new(Vocabulary::from_bytes(data)?))
    }

    pub fn new(vocab: Vocabulary) -> Self {
        let n = vocab.len() as u32;
        let mut ascii = [NO_ID; 128];
        let mut chars = FxHashMap::default();
        let mut byte_ids = [NO_ID; 256];
        let mut byte_values = FxHashMap::default();
        for id in 0..n {
            let piece = vocab.piece(id);
            let mut it = piece.chars();
            if let (Some(c), None) = (it.next(), it.next()) {
                if c.is_ascii() {
                    ascii[c as usize] = id;
                } else {
                    chars.insert(c, id);
                }
            }
            if let Some(b) = byte_piece(piece) {
                byte_ids[b as usize] = id;
                byte_values.insert(id, b);
            }
        }
        let mut special = vec![0u64; (n as usize).div_ceil(64)];
        for &(id, sp) in &vocab.added {
            if sp {
                special[id as usize / 64] |= 1 << (id % 64);
            }
        }
        let added = AddedTokens::new(
            vocab
                .added
                .iter()
                .map(|&(id, special)| (vocab.piece(id), AddedToken { id, special })),
        );
        let words = WordSplitter::new((0..n).map(|id| vocab.piece(id)));
        Self {
            merges: Merges::new(&vocab.merges),
            vocab,
            ascii,
            chars,
            byte_ids,
            byte_values,
            special,
            added,
            words,
            cache: Mutex::new(WordCache::default()),
        }
    }

    pub fn vocab_size(&self) -> u32 {
        self.vocab.len() as u32
    }

    pub fn bos_id(&self) -> Option<u32> {
        self.vocab.bos
    }

    pub fn eos_id(&self) -> Option<u32> {
        self.vocab.eos
    }

    pub fn pad_id(&self) -> Option<u32> {
        self.vocab.pad
    }

    pub fn unk_id(&self) -> Option<u32> {
        self.vocab.unk
    }

    /// Token `id`'s piece as stored ("▁the", "<0x0A>", "<end_of_turn>"), if it exists.
    pub fn id_to_token(&self, id: u32) -> Option<&str> {
        (id < self.vocab_size()).then(|| self.vocab.piece(id))
    }

    /// The id of an added token (`<end_of_turn>`, `<unused3>`…) by its text.
    pub fn added_token_id(&self, content: &str) -> Option<u32> {
        self.vocab
            .added
            .iter()
            .rev()
            .find(|&&(id, _)| self.vocab.piece(id) == content)
            .map(|&(id, _)| id)
    }

    pub fn is_special(&self, id: u32) -> bool {
        self.special
            .get(id as usize / 64)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    fn byte_value(&self, id: u32) -> Option<u8> {
        self.byte_values.get(&id).copied()
    }

    /// Token ids of `text`.
    pub fn encode(&self, text: &str, opts: EncodeOptions) -> Vec<u32> {
        let mut out = Vec::with_capacity(text.len() / 3 + 1);
        self.encode_into(text, opts, &mut out);
        out
    }

    /// Appends the ids of `text` to `out`.
    pub fn encode_into(&self, text: &str, opts: EncodeOptions, out: &mut Vec<u32>) {
        if opts.add_bos && self.vocab.add_bos {
            if let Some(bos) = self.vocab.bos {
                out.push(bos);
            }
        }
        self.each_token_run(text, opts.allow_special, |ids| out.extend_from_slice(ids));
    }

    /// How many ids `encode` would give, without building the list.
    pub fn count(&self, text: &str, opts: EncodeOptions) -> usize {
        let mut n = usize::from(opts.add_bos && self.vocab.add_bos && self.vocab.bos.is_some());
        self.each_token_run(text, opts.allow_special, |ids| n += ids.len());
        n
    }

    /// Calls `f` with consecutive runs of ids that together make `text`'s encoding.
    fn each_token_run(&self, text: &str, allow_special: bool, mut f: impl FnMut(&[u32])) {
        let mut work = Work::default();
        // A second thread using the same tokenizer at once just encodes without the cache.
        let mut guard = self.cache.try_lock().ok();
        let mut scratch_cache = WordCache::default();
        let cache = guard.as_deref_mut().unwrap_or(&mut scratch_cache);
        self.added
            .split(text, allow_special, |segment| match segment {
                Segment::Token(id) => f(&[id]),
                Segment::Text(t) => {
                    let mut normalized = std::mem::take(&mut work.normalized);
                    normalized.clear();
                    let t = if self.vocab.replace_space {
                        scan::replace_spaces(t, &mut normalized);
                        normalized.as_str()
                    } else {
                        t
                    };
                    self.words
                        .split(t, |word| self.encode_word(word, cache, &mut work, &mut f));
                    work.normalized = normalized;
                }
            });
    }

    fn encode_word(
        &self,
        word: &str,
        cache: &mut WordCache,
        work: &mut Work,
        f: &mut impl FnMut(&[u32]),
    ) {
        let cacheable = word.len() <= CACHE_WORD_BYTES;
        if cacheable {
            if let Some(ids) = cache.map.get(word) {
                f(ids);
                return;
            }
        }
        let symbols = &mut work.symbols;
        symbols.clear();
        for c in word.chars() {
            let id = if c.is_ascii() {
                self.ascii[c as usize]
            } else {
                self.chars.get(&c).copied().unwrap_or(NO_ID)
            };
            if id != NO_ID {
                symbols.push(id);
            } else {
                let mut buf = [0u8; 4];
                symbols.extend(
                    c.encode_utf8(&mut buf)
                        .bytes()
                        .map(|b| self.byte_ids[b as usize]),
                );
            }
        }
        self.merges.apply(symbols, &mut work.scratch);
        f(symbols);
        if cacheable {
            if cache.map.len() >= CACHE_ENTRIES {
                cache.map.clear();
            }
            cache.map.insert(word.into(), symbols.as_slice().into());
        }
    }
}

/// The byte of a byte-fallback piece: exactly "<0x" + two hex digits + ">".
fn byte_piece(piece: &str) -> Option<u8> {
    let b = piece.as_bytes();
    if b.len() == 6
        && piece.starts_with("<0x")
        && b[5] == b'>'
        && b[3..5].iter().all(u8::is_ascii_hexdigit)
    {
        u8::from_str_radix(&piece[3..5], 16).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
