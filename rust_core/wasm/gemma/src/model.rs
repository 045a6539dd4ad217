//! The Gemma 1/2/3 forward pass over a KV cache, token by token (causal attention makes a
//! prompt run one token at a time equal to running it at once), following
//! `build_tools/reference_model.py`: embedding × √hidden, per layer RMSNorm → attention (QK
//! norm for family 3, rotate-half rope with the local or global base, sliding-window + causal
//! mask, GQA, soft-capped scores for family 2) → optional post-norm → residual → RMSNorm →
//! GELU-tanh gated MLP → optional post-norm → residual; final norm; tied LM head.

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

    /// Forgets every position.
    pub fn clear(&mut self) {
        self.keys.iter_mut().for_each(Vec::clear);
        self.values.iter_mut().for_each(Vec::clear);
        self.len = 0;
    }
}

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
        let mut scratch = self.scratch();
        let mut hidden = vec![0.0; self.config.hidden_size];
        for &token in tokens {
            self.token(cache, token, &mut hidden, &mut scratch)?;
        }
        rms_norm_in_place(&mut hidden, &self.final_norm, self.config.rms_norm_eps);
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
            let d = c.head_dim;
            for (heads, norm) in [(&mut s.q, 0), (&mut s.k, 1)] {
                for head in heads.chunks_exact_mut(d) {
                    if let Some(norms) = &layer.qk_norms {
                        let scale = if norm == 0 { &norms.0 } else { &norms.1 };
                        rms_norm_in_place(head, scale, eps);
                    }
                    rope(head, position, &layer.inv_freq);
                }
            }
            cache.keys[n].extend_from_slice(&s.k);
            cache.values[n].extend_from_slice(&s.v);
            self.attend(layer, &cache.keys[n], &cache.values[n], position, s);
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

    /// Attention of the query heads in `s.q` at `position` over the cached keys and values
    /// (which already include this position), into `s.attn`.
    fn attend(
        &self,
        layer: &Layer,
        keys: &[f32],
        values: &[f32],
        position: usize,
        s: &mut Scratch,
    ) {
        let c = &self.config;
        let (d, kvh) = (c.head_dim, c.num_kv_heads);
        let group = c.num_heads / kvh;
        let first = match (layer.sliding, c.sliding_window) {
            (true, Some(window)) => (position + 1).saturating_sub(window),
            _ => 0,
        };
        let scale = c.query_pre_attn_scalar.powf(-0.5) as f32;
        for (head, (q, out)) in
            s.q.chunks_exact(d)
                .zip(s.attn.chunks_exact_mut(d))
                .enumerate()
        {
            let kv = head / group;
            s.scores.clear();
            for p in first..=position {
                let k = &keys[(p * kvh + kv) * d..][..d];
                // SIMD128 dot product; k and q both have head_dim values, so it cannot fail.
                let dot = gea_vector::dot(k, q).unwrap_or(f32::NAN);
                let mut score = dot * scale;
                if let Some(cap) = c.attn_logit_softcap {
                    score = soft_cap(score, cap);
                }
                s.scores.push(score);
            }
            let max = s.scores.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
            let mut sum = 0.0f32;
            for x in s.scores.iter_mut() {
                *x = (*x - max).exp();
                sum += *x;
            }
            out.fill(0.0);
            for (i, &w) in s.scores.iter().enumerate() {
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
