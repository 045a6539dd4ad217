//! One sequence being decoded: a model, its KV cache and the last token's hidden state (what
//! the wasm binding exposes).

use crate::gemv::Activations;
use crate::model::{Gemma, KvCache};
use crate::GemmaError;

pub struct Decoder {
    model: Gemma,
    cache: KvCache,
    hidden: Option<Vec<f32>>,
}

impl Decoder {
    pub fn new(model: Gemma) -> Self {
        let cache = model.new_cache();
        Decoder {
            model,
            cache,
            hidden: None,
        }
    }

    /// Parses a weights file held in memory.
    pub fn from_bytes(raw: &[u8]) -> Result<Self, GemmaError> {
        Ok(Self::new(Gemma::from_bytes(raw)?))
    }

    pub fn model(&self) -> &Gemma {
        &self.model
    }

    /// How the layers' GEMVs treat the activations (see [`Gemma::set_activations`]); takes
    /// effect from the next token.
    pub fn set_activations(&mut self, activations: Activations) {
        self.model.set_activations(activations);
    }

    /// Forgets the sequence.
    pub fn reset(&mut self) {
        self.cache.clear();
        self.hidden = None;
    }

    /// Keeps the first `len` positions; a token must run before the next `top_k`.
    pub fn truncate(&mut self, len: usize) {
        if len < self.cache.len() {
            self.cache.truncate(len);
            self.hidden = None;
        }
    }

    /// Positions in the cache.
    pub fn past_length(&self) -> usize {
        self.cache.len()
    }

    /// Runs `tokens` after the current sequence; the logits of the last one.
    pub fn prefill(&mut self, tokens: &[u32]) -> Result<Vec<f32>, GemmaError> {
        let hidden = self.model.forward(&mut self.cache, tokens)?;
        let logits = self.model.logits(&hidden);
        self.hidden = Some(hidden);
        logits
    }

    /// Runs one token; its logits.
    pub fn step(&mut self, token: u32) -> Result<Vec<f32>, GemmaError> {
        self.prefill(&[token])
    }

    /// Runs `tokens` without computing logits (use [`Self::top_k`] after it).
    pub fn advance(&mut self, tokens: &[u32]) -> Result<(), GemmaError> {
        self.hidden = Some(self.model.forward(&mut self.cache, tokens)?);
        Ok(())
    }

    /// The `k` best next tokens after the last token run, best first.
    pub fn top_k(&self, k: usize) -> Result<Vec<(u32, f32)>, GemmaError> {
        let hidden = self.hidden.as_ref().ok_or(GemmaError::NoTokenYet)?;
        self.model.top_k(hidden, k)
    }

    /// The logits of `ids` after the last token run (exact, from the head's rows).
    pub fn scores_of(&self, ids: &[u32]) -> Result<Vec<f32>, GemmaError> {
        let hidden = self.hidden.as_ref().ok_or(GemmaError::NoTokenYet)?;
        self.model.scores_of(hidden, ids)
    }
}
