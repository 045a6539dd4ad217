//! Ids -> text exactly as Hugging Face's Gemma decoder chain does it: "▁" -> " ", runs of
//! byte tokens (`<0xE2>`…) joined and read as UTF-8 — a run that is not valid UTF-8 becomes
//! one U+FFFD per byte — and special tokens skipped when asked. `StreamDecoder` gives the same
//! text piece by piece: it holds a byte run back until it ends, so it never emits half a
//! character and the pieces always concatenate to `decode(all ids)`.

use crate::error::TokenizerError;
use crate::Tokenizer;

/// Appends the text of a finished byte run.
pub(crate) fn flush_bytes(pending: &mut Vec<u8>, out: &mut String) {
    if pending.is_empty() {
        return;
    }
    match std::str::from_utf8(pending) {
        Ok(s) => out.push_str(s),
        Err(_) => out.extend(std::iter::repeat_n('\u{FFFD}', pending.len())),
    }
    pending.clear();
}

impl Tokenizer {
    /// Appends token `id`'s text to `out`, holding byte tokens in `pending`.
    pub(crate) fn decode_into(
        &self,
        id: u32,
        skip_special: bool,
        pending: &mut Vec<u8>,
        out: &mut String,
    ) -> Result<(), TokenizerError> {
        if id >= self.vocab_size() {
            return Err(TokenizerError::UnknownId {
                id,
                vocab_size: self.vocab_size(),
            });
        }
        if skip_special && self.is_special(id) {
            return Ok(());
        }
        if let Some(b) = self.byte_value(id) {
            pending.push(b);
            return Ok(());
        }
        flush_bytes(pending, out);
        let piece = self.vocab.piece(id);
        for (i, part) in piece.split('▁').enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(part);
        }
        Ok(())
    }

    /// The text of `ids`. `skip_special` drops `<bos>`, `<eos>`, `<end_of_turn>`… (as
    /// `skip_special_tokens=True` does). An id outside the vocabulary is an error.
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> Result<String, TokenizerError> {
        let mut out = String::new();
        let mut pending = Vec::new();
        for &id in ids {
            self.decode_into(id, skip_special, &mut pending, &mut out)?;
        }
        flush_bytes(&mut pending, &mut out);
        Ok(out)
    }
}

/// Incremental decoding for streaming: `push` each generated id, show what it returns, and
/// `finish` at the end. The pieces concatenate to `decode(ids)`.
#[derive(Debug, Default, Clone)]
pub struct StreamDecoder {
    pending: Vec<u8>,
    skip_special: bool,
}

impl StreamDecoder {
    pub fn new(skip_special: bool) -> Self {
        Self {
            pending: Vec::new(),
            skip_special,
        }
    }

    /// The text that `id` completes (often empty while a multi-byte character is pending).
    pub fn push(&mut self, tokenizer: &Tokenizer, id: u32) -> Result<String, TokenizerError> {
        let mut out = String::new();
        tokenizer.decode_into(id, self.skip_special, &mut self.pending, &mut out)?;
        Ok(out)
    }

    /// Whatever is still held back (a trailing byte run).
    pub fn finish(&mut self) -> String {
        let mut out = String::new();
        flush_bytes(&mut self.pending, &mut out);
        out
    }

    /// Bytes held back, waiting for the end of their run.
    pub fn pending_bytes(&self) -> usize {
        self.pending.len()
    }
}
