//! The Gemma 1/2/3 forward pass over a KV cache, following
//! `build_tools/reference_model.py`: embedding × √hidden, per layer RMSNorm → attention (QK
//! norm for family 3, rotate-half rope with the local or global base, sliding-window + causal
//! mask, GQA, soft-capped scores for family 2) → optional post-norm → residual → RMSNorm →
//! GELU-tanh gated MLP → optional post-norm → residual; final norm; tied LM head.
//!
//! One token runs alone (decode: GEMVs); a prompt runs in chunks of up to [`PREFILL_CHUNK`]
//! tokens through each layer together (GEMMs, which load and widen each weight once per tile
//! of tokens instead of once per token), each token attending over the cache and the chunk's
//! earlier tokens. Every operation of a token is the same in both (the GEMM is bit-identical
//! to the GEMV), so a prompt run at once equals it run token by token, bit for bit.
//! Int8 activations run the same batched layers with one int8 GEMV per token.

use gea_vector::{BlockQ8Matrix, ScanKernel, TopK};

use crate::config::GemmaConfig;
use crate::gemv::{Activations, GemvKernel, Q8View, QMatrix, QView};
use crate::ops::{gelu_tanh, rms_norm, rms_norm_in_place, rope, rope_inv_freq, soft_cap};
use crate::weights::WeightsFile;
use crate::GemmaError;

struct Layer {
    q: QMatrix,
    k: QMatrix,
    v: QMatrix,
    o: QMatrix,
    gate: QMatrix,
    up: QMatrix,
    down: QMatrix,
    input_norm: Vec<f32>,
    pre_ffn_norm: Vec<f32>,
    /// Sandwich norms (families 2 and 3).
    post_norms: Option<(Vec<f32>, Vec<f32>)>,
    /// Query and key norms (family 3).
    qk_norms: Option<(Vec<f32>, Vec<f32>)>,
    sliding: bool,
    inv_freq: Vec<f32>,
}

/// The tied embedding / LM head: as the top-k scan's int8 matrix when it is q8 with blocks of
/// 32 (the built models), else as a generic quantized matrix.
enum Embedding {
    Scan(BlockQ8Matrix),
    Plain(QMatrix),
}

impl Embedding {
    fn view(&self) -> QView<'_> {
        match self {
            Embedding::Scan(m) => QView::Q8(Q8View {
                rows: m.rows(),
                cols: m.cols(),
                block: BlockQ8Matrix::BLOCK,
                q: m.q(),
                scales: m.scales(),
            }),
            Embedding::Plain(m) => m.view(),
        }
    }
}

/// Keys and values of every position run so far, per layer `[position][kv_head][head_dim]`.
#[derive(Clone, Debug, Default)]
pub struct KvCache {
    keys: Vec<Vec<f32>>,
    values: Vec<Vec<f32>>,
    len: usize,
}

impl KvCache {
    /// Positions held.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Keys and values of layer `n` (`[position][kv_head][head_dim]`), for tests.
    pub fn layer(&self, n: usize) -> (&[f32], &[f32]) {
        (&self.keys[n], &self.values[n])
    }

    /// Forgets every position.
    pub fn clear(&mut self) {
        self.keys.iter_mut().for_each(Vec::clear);
        self.values.iter_mut().for_each(Vec::clear);
        self.len = 0;
    }

    /// Keeps the first `len` positions (no-op when it holds fewer): the agent's next prompt
    /// shares a prefix with this one, and only the rest needs to run.
    pub fn truncate(&mut self, len: usize) {
        if len >= self.len {
            return;
        }
        for layer in self.keys.iter_mut().chain(self.values.iter_mut()) {
            let stride = layer.len() / self.len;
            layer.truncate(len * stride);
        }
        self.len = len;
    }
}

/// Tokens per batched chunk of a prompt: many GEMM tiles per weight row, and activations
/// (under 1 MB for Gemma 3 270M) that stay in cache.
pub const PREFILL_CHUNK: usize = 32;

/// A loaded model (immutable; the state of a sequence lives in a [`KvCache`]).
pub struct Gemma {
    config: GemmaConfig,
    embed: Embedding,
    final_norm: Vec<f32>,
    layers: Vec<Layer>,
    activations: Activations,
}

/// Per-token work buffers.
struct Scratch {
    x: Vec<f32>,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    attn: Vec<f32>,
    proj: Vec<f32>,
    gate: Vec<f32>,
    up: Vec<f32>,
    scores: Vec<f32>,
}

/// Work buffers of a chunk of up to `n` tokens, token-major (`[token][value]`).
struct Batch {
    hidden: Vec<f32>,
    x: Vec<f32>,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    attn: Vec<f32>,
    proj: Vec<f32>,
    gate: Vec<f32>,
    up: Vec<f32>,
    scores: Vec<f32>,
}

impl Gemma {
    /// Parses a weights file held in memory.
    pub fn from_bytes(raw: &[u8]) -> Result<Self, GemmaError> {
        Self::from_weights(WeightsFile::parse(raw)?)
    }

    /// Takes the tensors the config needs out of a parsed file, checking every shape.
    pub fn from_weights(mut w: WeightsFile) -> Result<Self, GemmaError> {
        let c = w.config.clone();
        let (h, d, i) = (c.hidden_size, c.head_dim, c.intermediate_size);
        let (qd, kvd) = (c.num_heads * d, c.num_kv_heads * d);
        let embed = match w.take_matrix("embed", c.vocab_size, h)? {
            QMatrix::Q8 {
                rows,
                cols,
                block: BlockQ8Matrix::BLOCK,
                q,
                scales,
            } => Embedding::Scan(BlockQ8Matrix::new(rows, cols, q, scales)?),
            other => Embedding::Plain(other),
        };
        let final_norm = w.take_vector("final_norm", h)?;
        let mut layers = Vec::with_capacity(c.num_layers);
        for n in 0..c.num_layers {
            let name = |s: &str| format!("layers.{n}.{s}");
            let sliding = c.sliding[n];
            let inv_freq = if sliding {
                rope_inv_freq(d, c.rope_local_theta, 1.0)
            } else {
                rope_inv_freq(d, c.rope_theta, c.rope_scaling_factor)
            };
            let post_norms = if c.sandwich_norms() {
                Some((
                    w.take_vector(&name("post_attn_norm"), h)?,
                    w.take_vector(&name("post_ffn_norm"), h)?,
                ))
            } else {
                None
            };
            let qk_norms = if c.qk_norm() {
                Some((
                    w.take_vector(&name("q_norm"), d)?,
                    w.take_vector(&name("k_norm"), d)?,
                ))
            } else {
                None
            };
            layers.push(Layer {
                q: w.take_matrix(&name("q"), qd, h)?,
                k: w.take_matrix(&name("k"), kvd, h)?,
                v: w.take_matrix(&name("v"), kvd, h)?,
                o: w.take_matrix(&name("o"), h, qd)?,
                gate: w.take_matrix(&name("gate"), i, h)?,
                up: w.take_matrix(&name("up"), i, h)?,
                down: w.take_matrix(&name("down"), h, i)?,
                input_norm: w.take_vector(&name("input_norm"), h)?,
                pre_ffn_norm: w.take_vector(&name("pre_ffn_norm"), h)?,
                post_norms,
                qk_norms,
                sliding,
                inv_freq,
            });
        }
        Ok(Gemma {
            config: c,
            embed,
            final_norm,
            layers,
            activations: Activations::F32,
        })
    }

    pub fn config(&self) -> &GemmaConfig {
        &self.config
    }

    /// How the layers' GEMVs treat the activations: [`Activations::F32`] (the default,
    /// matches the f32 reference) or [`Activations::Int8`] (faster, llama.cpp's rounding).
    pub fn set_activations(&mut self, activations: Activations) {
        self.activations = activations;
    }

    pub fn activations(&self) -> Activations {
        self.activations
    }

    /// Whether the LM head is `gea_vector`'s int8 scan matrix (q8 with blocks of 32).
    pub fn head_is_scan(&self) -> bool {
        matches!(self.embed, Embedding::Scan(_))
    }

    /// An empty cache for this model.
    pub fn new_cache(&self) -> KvCache {
        KvCache {
            keys: vec![Vec::new(); self.layers.len()],
            values: vec![Vec::new(); self.layers.len()],
            len: 0,
        }
    }

    fn check_tokens(&self, tokens: &[u32]) -> Result<(), GemmaError> {
        if tokens.is_empty() {
            return Err(GemmaError::EmptyInput);
        }
        let vocab = self.config.vocab_size;
        match tokens.iter().find(|&&t| t as usize >= vocab) {
            Some(&token) => Err(GemmaError::TokenOutOfRange { token, vocab }),
            None => Ok(()),
        }
    }

    fn check_cache(&self, cache: &KvCache) -> Result<(), GemmaError> {
        if cache.keys.len() == self.layers.len() && cache.values.len() == self.layers.len() {
            Ok(())
        } else {
            Err(GemmaError::Shape(format!(
                "cache has {} layers, the model {}",
                cache.keys.len(),
                self.layers.len()
            )))
        }
    }

    /// Runs `tokens` after the cache's positions (appending to it) and returns the final-norm
    /// hidden state of the last token (the LM head's input). Tokens are checked first: on an
    /// error the cache is unchanged.
    pub fn forward(&self, cache: &mut KvCache, tokens: &[u32]) -> Result<Vec<f32>, GemmaError> {
        self.check_tokens(tokens)?;
        self.check_cache(cache)?;
        let h = self.config.hidden_size;
        let mut hidden = vec![0.0; h];
        if let [token] = tokens {
            self.token(cache, *token, &mut hidden, &mut self.scratch())?;
        } else {
            let mut batch = self.batch(tokens.len().min(PREFILL_CHUNK));
            let mut last = 0;
            for chunk in tokens.chunks(PREFILL_CHUNK) {
                self.chunk(cache, chunk, &mut batch)?;
                last = chunk.len() - 1;
            }
            hidden.copy_from_slice(&batch.hidden[last * h..][..h]);
        }
        rms_norm_in_place(&mut hidden, &self.final_norm, self.config.rms_norm_eps);
        Ok(hidden)
    }

    /// [`Self::forward`] one token at a time (the decode path), for tests.
    pub fn forward_stepwise(
        &self,
        cache: &mut KvCache,
        tokens: &[u32],
    ) -> Result<Vec<f32>, GemmaError> {
        self.check_tokens(tokens)?;
        let mut hidden = Vec::new();
        for &t in tokens {
            hidden = self.forward(cache, &[t])?;
        }
        Ok(hidden)
    }

    /// Full logits of every token of `tokens` (run after the cache's positions), for tests.
    pub fn forward_logits(
        &self,
        cache: &mut KvCache,
        tokens: &[u32],
    ) -> Result<Vec<Vec<f32>>, GemmaError> {
        self.check_tokens(tokens)?;
        tokens
            .iter()
            .map(|&t| self.logits(&self.forward(cache, &[t])?))
            .collect()
    }

    /// Every vocabulary entry's logit for a final hidden state (final soft-cap applied).
    pub fn logits(&self, hidden: &[f32]) -> Result<Vec<f32>, GemmaError> {
        let head = self.embed.view();
        let mut out = vec![0.0; head.rows()];
        head.gemv_with(hidden, &mut out, GemvKernel::Fast)?;
        if let Some(cap) = self.config.final_logit_softcap {
            out.iter_mut().for_each(|x| *x = soft_cap(*x, cap));
        }
        Ok(out)
    }

    /// The logits of `ids` only (final soft-cap applied), computed exactly from the head's
    /// rows: what a constrained step needs, without the other 262,000 rows.
    pub fn scores_of(&self, hidden: &[f32], ids: &[u32]) -> Result<Vec<f32>, GemmaError> {
        let head = self.embed.view();
        if let Some(&bad) = ids.iter().find(|&&id| id as usize >= head.rows()) {
            return Err(GemmaError::TokenOutOfRange {
                token: bad,
                vocab: head.rows(),
            });
        }
        let mut row = vec![0.0; head.cols()];
        Ok(ids
            .iter()
            .map(|&id| {
                head.dequantize_row(id as usize, &mut row);
                let x: f32 = row.iter().zip(hidden).map(|(w, h)| w * h).sum();
                match self.config.final_logit_softcap {
                    Some(cap) => soft_cap(x, cap),
                    None => x,
                }
            })
            .collect())
    }

    /// The `k` best `(token, logit)` pairs, best first (ties: lower id). With a q8/32 head this
    /// is `gea_vector`'s int8 scan (the hidden state quantized per block of 32, so logits are
    /// approximate); otherwise the full logits are ranked.
    pub fn top_k(&self, hidden: &[f32], k: usize) -> Result<Vec<(u32, f32)>, GemmaError> {
        match &self.embed {
            Embedding::Scan(m) => {
                Ok(m.top_k_with(hidden, k, ScanKernel::Fast, self.config.final_logit_softcap)?)
            }
            Embedding::Plain(_) => {
                let logits = self.logits(hidden)?;
                let mut top = TopK::new(k, logits.len());
                for (id, &x) in logits.iter().enumerate() {
                    top.push(id as u32, x);
                }
                Ok(top.into_sorted_vec())
            }
        }
    }

    fn scratch(&self) -> Scratch {
        let c = &self.config;
        let (h, qd, kvd) = (
            c.hidden_size,
            c.num_heads * c.head_dim,
            c.num_kv_heads * c.head_dim,
        );
        Scratch {
            x: vec![0.0; h.max(qd)],
            q: vec![0.0; qd],
            k: vec![0.0; kvd],
            v: vec![0.0; kvd],
            attn: vec![0.0; qd],
            proj: vec![0.0; h],
            gate: vec![0.0; c.intermediate_size],
            up: vec![0.0; c.intermediate_size],
            scores: Vec::new(),
        }
    }

    fn batch(&self, n: usize) -> Batch {
        let c = &self.config;
        let (h, qd, kvd) = (
            c.hidden_size,
            c.num_heads * c.head_dim,
            c.num_kv_heads * c.head_dim,
        );
        Batch {
            hidden: vec![0.0; n * h],
            x: vec![0.0; n * h],
            q: vec![0.0; n * qd],
            k: vec![0.0; n * kvd],
            v: vec![0.0; n * kvd],
            attn: vec![0.0; n * qd],
            proj: vec![0.0; n * h],
            gate: vec![0.0; n * c.intermediate_size],
            up: vec![0.0; n * c.intermediate_size],
            scores: Vec::new(),
        }
    }

    /// Query and key norms (family 3) and rope of one token's heads at `position`.
    fn rotate(&self, layer: &Layer, q: &mut [f32], k: &mut [f32], position: usize) {
        let c = &self.config;
        for (heads, norm) in [(q, 0), (k, 1)] {
            for head in heads.chunks_exact_mut(c.head_dim) {
                if let Some(norms) = &layer.qk_norms {
                    let scale = if norm == 0 { &norms.0 } else { &norms.1 };
                    rms_norm_in_place(head, scale, c.rms_norm_eps);
                }
                rope(head, position, &layer.inv_freq);
            }
        }
    }

    /// The tokens of `tokens` (at most the batch's size) through every layer together, after
    /// the cache's positions; `b.hidden` receives their residual streams (before the final
    /// norm). Each token's operations are [`Self::token`]'s.
    fn chunk(&self, cache: &mut KvCache, tokens: &[u32], b: &mut Batch) -> Result<(), GemmaError> {
        let c = &self.config;
        let (h, n, eps, act) = (
            c.hidden_size,
            tokens.len(),
            c.rms_norm_eps,
            self.activations,
        );
        let (qd, kvd, inter) = (
            c.num_heads * c.head_dim,
            c.num_kv_heads * c.head_dim,
            c.intermediate_size,
        );
        let hidden = &mut b.hidden[..n * h];
        let scale = (h as f64).sqrt() as f32;
        for (row, &token) in hidden.chunks_exact_mut(h).zip(tokens) {
            self.embed.view().dequantize_row(token as usize, row);
            row.iter_mut().for_each(|v| *v *= scale);
        }
        let start = cache.len;
        let (x, q, k, v) = (
            &mut b.x[..n * h],
            &mut b.q[..n * qd],
            &mut b.k[..n * kvd],
            &mut b.v[..n * kvd],
        );
        let (attn, proj) = (&mut b.attn[..n * qd], &mut b.proj[..n * h]);
        let (gate, up) = (&mut b.gate[..n * inter], &mut b.up[..n * inter]);
        let norm_rows = |from: &[f32], scale: &[f32], to: &mut [f32]| {
            for (f, t) in from.chunks_exact(h).zip(to.chunks_exact_mut(h)) {
                rms_norm(f, scale, eps, t);
            }
        };
        for (l, layer) in self.layers.iter().enumerate() {
            norm_rows(hidden, &layer.input_norm, x);
            layer.q.view().product_batch(n, x, q, act)?;
            layer.k.view().product_batch(n, x, k, act)?;
            layer.v.view().product_batch(n, x, v, act)?;
            for (t, (qt, kt)) in q
                .chunks_exact_mut(qd)
                .zip(k.chunks_exact_mut(kvd))
                .enumerate()
            {
                self.rotate(layer, qt, kt, start + t);
            }
            cache.keys[l].extend_from_slice(k);
            cache.values[l].extend_from_slice(v);
            for (t, (qt, out)) in q
                .chunks_exact(qd)
                .zip(attn.chunks_exact_mut(qd))
                .enumerate()
            {
                let (keys, values) = (&cache.keys[l], &cache.values[l]);
                self.attend(layer, keys, values, start + t, qt, out, &mut b.scores);
            }
            layer.o.view().product_batch(n, attn, proj, act)?;
            if let Some((post_attn, _)) = &layer.post_norms {
                proj.chunks_exact_mut(h)
                    .for_each(|p| rms_norm_in_place(p, post_attn, eps));
            }
            hidden
                .iter_mut()
                .zip(proj.iter())
                .for_each(|(a, b)| *a += b);
            norm_rows(hidden, &layer.pre_ffn_norm, x);
            layer.gate.view().product_batch(n, x, gate, act)?;
            layer.up.view().product_batch(n, x, up, act)?;
            for (g, u) in gate.iter_mut().zip(up.iter()) {
                *g = gelu_tanh(*g) * u;
            }
            layer.down.view().product_batch(n, gate, proj, act)?;
            if let Some((_, post_ffn)) = &layer.post_norms {
                proj.chunks_exact_mut(h)
                    .for_each(|p| rms_norm_in_place(p, post_ffn, eps));
            }
            hidden
                .iter_mut()
                .zip(proj.iter())
                .for_each(|(a, b)| *a += b);
        }
        cache.len += n;
        Ok(())
    }

    /// One token through every layer; `hidden` receives the residual stream (before the final
    /// norm).
    fn token(
        &self,
        cache: &mut KvCache,
        token: u32,
        hidden: &mut [f32],
        s: &mut Scratch,
    ) -> Result<(), GemmaError> {
        let c = &self.config;
        let h = c.hidden_size;
        let eps = c.rms_norm_eps;
        self.embed.view().dequantize_row(token as usize, hidden);
        let scale = (h as f64).sqrt() as f32;
        hidden.iter_mut().for_each(|v| *v *= scale);
        let position = cache.len;
        for (n, layer) in self.layers.iter().enumerate() {
            let x = &mut s.x[..h];
            rms_norm(hidden, &layer.input_norm, eps, x);
            layer.q.view().product(x, &mut s.q, self.activations)?;
            layer.k.view().product(x, &mut s.k, self.activations)?;
            layer.v.view().product(x, &mut s.v, self.activations)?;
            self.rotate(layer, &mut s.q, &mut s.k, position);
            cache.keys[n].extend_from_slice(&s.k);
            cache.values[n].extend_from_slice(&s.v);
            let (keys, values) = (&cache.keys[n], &cache.values[n]);
            self.attend(
                layer,
                keys,
                values,
                position,
                &s.q,
                &mut s.attn,
                &mut s.scores,
            );
            layer
                .o
                .view()
                .product(&s.attn, &mut s.proj, self.activations)?;
            if let Some((post_attn, _)) = &layer.post_norms {
                rms_norm_in_place(&mut s.proj, post_attn, eps);
            }
            hidden.iter_mut().zip(&s.proj).for_each(|(a, b)| *a += b);
            let x = &mut s.x[..h];
            rms_norm(hidden, &layer.pre_ffn_norm, eps, x);
            layer
                .gate
                .view()
                .product(x, &mut s.gate, self.activations)?;
            layer.up.view().product(x, &mut s.up, self.activations)?;
            for (g, u) in s.gate.iter_mut().zip(&s.up) {
                *g = gelu_tanh(*g) * u;
            }
            layer
                .down
                .view()
                .product(&s.gate, &mut s.proj, self.activations)?;
            if let Some((_, post_ffn)) = &layer.post_norms {
                rms_norm_in_place(&mut s.proj, post_ffn, eps);
            }
            hidden.iter_mut().zip(&s.proj).for_each(|(a, b)| *a += b);
        }
        cache.len += 1;
        Ok(())
    }

    /// Attention of the query heads `q` at `position` over the cached keys and values (which
    /// include this position; later ones are ignored), into `attn`.
    #[allow(clippy::too_many_arguments)]
    fn attend(
        &self,
        layer: &Layer,
        keys: &[f32],
        values: &[f32],
        position: usize,
        q: &[f32],
        attn: &mut [f32],
        scores: &mut Vec<f32>,
    ) {
        let c = &self.config;
        let (d, kvh) = (c.head_dim, c.num_kv_heads);
        let group = c.num_heads / kvh;
        let first = match (layer.sliding, c.sliding_window) {
            (true, Some(window)) => (position + 1).saturating_sub(window),
            _ => 0,
        };
        let scale = c.query_pre_attn_scalar.powf(-0.5) as f32;
        for (head, (q, out)) in q.chunks_exact(d).zip(attn.chunks_exact_mut(d)).enumerate() {
            let kv = head / group;
            scores.clear();
            for p in first..=position {
                let k = &keys[(p * kvh + kv) * d..][..d];
                // SIMD128 dot product; k and q both have head_dim values, so it cannot fail.
                let dot = gea_vector::dot(k, q).unwrap_or(f32::NAN);
                let mut score = dot * scale;
                if let Some(cap) = c.attn_logit_softcap {
                    score = soft_cap(score, cap);
                }
                scores.push(score);
            }
            let max = scores.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
            let mut sum = 0.0f32;
            for x in scores.iter_mut() {
                *x = (*x - max).exp();
                sum += *x;
            }
            out.fill(0.0);
            for (i, &w) in scores.iter().enumerate() {
                let p = first + i;
                let prob = w / sum;
                let v = &values[(p * kvh + kv) * d..][..d];
                for (o, &x) in out.iter_mut().zip(v) {
                    *o += prob * x;
                }
            }
        }
    }
}
