//! The model config, read from the weights header's `"config"` object (the same fields as
//! `build_tools/gemma_config.py`'s `GemmaConfig.to_json`) and checked like it.

use crate::json::Json;
use crate::GemmaError;

/// One Gemma decoder (family 1, 2 or 3).
#[derive(Debug, Clone, PartialEq)]
pub struct GemmaConfig {
    pub family: u32,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_layers: usize,
    pub num_heads: usize,
    pub num_kv_heads: usize,
    pub head_dim: usize,
    pub rms_norm_eps: f32,
    /// Rotary base of the full-attention layers.
    pub rope_theta: f64,
    /// Rotary base of the sliding-window layers.
    pub rope_local_theta: f64,
    /// `true` for a sliding-window layer, `false` for full attention, one per layer.
    pub sliding: Vec<bool>,
    pub sliding_window: Option<usize>,
    /// Attention scores are scaled by its inverse square root.
    pub query_pre_attn_scalar: f64,
    pub attn_logit_softcap: Option<f32>,
    pub final_logit_softcap: Option<f32>,
    /// Linear rope scaling, full-attention layers only.
    pub rope_scaling_factor: f64,
    pub max_position_embeddings: usize,
    pub bos_token_id: u32,
    pub eos_token_ids: Vec<u32>,
}

fn field<'a>(doc: &'a Json, key: &str) -> Result<&'a Json, GemmaError> {
    doc.get(key)
        .ok_or_else(|| GemmaError::Header(format!("config lacks {key:?}")))
}

fn usize_field(doc: &Json, key: &str) -> Result<usize, GemmaError> {
    field(doc, key)?
        .as_usize()
        .ok_or_else(|| GemmaError::Header(format!("config {key:?} must be a non-negative integer")))
}

fn f64_field(doc: &Json, key: &str) -> Result<f64, GemmaError> {
    field(doc, key)?
        .as_f64()
        .ok_or_else(|| GemmaError::Header(format!("config {key:?} must be a number")))
}

/// A number, or `None` for a missing or `null` field.
fn optional_f64(doc: &Json, key: &str) -> Result<Option<f64>, GemmaError> {
    match doc.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| GemmaError::Header(format!("config {key:?} must be a number or null"))),
    }
}

fn u32_of(v: &Json, key: &str) -> Result<u32, GemmaError> {
    v.as_usize()
        .and_then(|x| u32::try_from(x).ok())
        .ok_or_else(|| GemmaError::Header(format!("config {key:?} must hold token ids")))
}

impl GemmaConfig {
    /// Reads and validates the header's config object.
    pub fn from_json(doc: &Json) -> Result<Self, GemmaError> {
        let types = field(doc, "layer_types")?
            .as_array()
            .ok_or_else(|| GemmaError::Header("config \"layer_types\" must be an array".into()))?;
        let sliding = types
            .iter()
            .map(|t| match t.as_str() {
                Some("sliding_attention") => Ok(true),
                Some("full_attention") => Ok(false),
                _ => Err(GemmaError::Config(format!("unknown layer type {t:?}"))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let eos = match doc.get("eos_token_ids") {
            None => Vec::new(),
            Some(v) => v
                .as_array()
                .ok_or_else(|| {
                    GemmaError::Header("config \"eos_token_ids\" must be an array".into())
                })?
                .iter()
                .map(|x| u32_of(x, "eos_token_ids"))
                .collect::<Result<Vec<_>, _>>()?,
        };
        let family = usize_field(doc, "family")?;
        let config = GemmaConfig {
            family: u32::try_from(family).unwrap_or(0),
            vocab_size: usize_field(doc, "vocab_size")?,
            hidden_size: usize_field(doc, "hidden_size")?,
            intermediate_size: usize_field(doc, "intermediate_size")?,
            num_layers: usize_field(doc, "num_layers")?,
            num_heads: usize_field(doc, "num_heads")?,
            num_kv_heads: usize_field(doc, "num_kv_heads")?,
            head_dim: usize_field(doc, "head_dim")?,
            rms_norm_eps: f64_field(doc, "rms_norm_eps")? as f32,
            rope_theta: f64_field(doc, "rope_theta")?,
            rope_local_theta: f64_field(doc, "rope_local_theta")?,
            sliding,
            sliding_window: match doc.get("sliding_window") {
                None | Some(Json::Null) => None,
                Some(v) => Some(v.as_usize().ok_or_else(|| {
                    GemmaError::Header(
                        "config \"sliding_window\" must be an integer or null".into(),
                    )
                })?),
            },
            query_pre_attn_scalar: f64_field(doc, "query_pre_attn_scalar")?,
            attn_logit_softcap: optional_f64(doc, "attn_logit_softcap")?.map(|x| x as f32),
            final_logit_softcap: optional_f64(doc, "final_logit_softcap")?.map(|x| x as f32),
            rope_scaling_factor: optional_f64(doc, "rope_scaling_factor")?.unwrap_or(1.0),
            max_position_embeddings: match doc.get("max_position_embeddings") {
                None => 8192,
                Some(_) => usize_field(doc, "max_position_embeddings")?,
            },
            bos_token_id: match doc.get("bos_token_id") {
                None => 2,
                Some(v) => u32_of(v, "bos_token_id")?,
            },
            eos_token_ids: eos,
        };
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), GemmaError> {
        let mut problems = Vec::new();
        if !(1..=3).contains(&self.family) {
            problems.push(format!("family must be 1, 2 or 3, got {}", self.family));
        }
        for (name, value) in [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("intermediate_size", self.intermediate_size),
            ("num_layers", self.num_layers),
            ("num_heads", self.num_heads),
            ("head_dim", self.head_dim),
        ] {
            if value == 0 {
                problems.push(format!("{name} must be positive"));
            }
        }
        // Bounds far above any Gemma, so that sizes computed from them cannot overflow.
        for (name, value, limit) in [
            ("vocab_size", self.vocab_size, 1 << 24),
            ("hidden_size", self.hidden_size, 1 << 16),
            ("intermediate_size", self.intermediate_size, 1 << 18),
            ("num_layers", self.num_layers, 1 << 10),
            ("num_heads", self.num_heads, 1 << 10),
            ("head_dim", self.head_dim, 1 << 12),
        ] {
            if value > limit {
                problems.push(format!("{name} {value} is larger than {limit}"));
            }
        }
        if self.num_kv_heads == 0 || self.num_heads % self.num_kv_heads != 0 {
            problems.push(format!(
                "num_heads ({}) must be a multiple of num_kv_heads ({})",
                self.num_heads, self.num_kv_heads
            ));
        }
        if self.head_dim % 2 != 0 {
            problems.push(format!("head_dim must be even, got {}", self.head_dim));
        }
        if self.sliding.len() != self.num_layers {
            problems.push(format!(
                "layer_types has {} entries for {} layers",
                self.sliding.len(),
                self.num_layers
            ));
        }
        if self.sliding.contains(&true) && self.sliding_window.unwrap_or(0) == 0 {
            problems.push("sliding-window layers need a sliding_window size".into());
        }
        if u32::try_from(self.vocab_size).is_err() {
            problems.push("vocab_size must fit in u32".into());
        }
        let positive = |x: Option<f32>| x.is_none_or(|c| c.is_finite() && c > 0.0);
        if !positive(self.attn_logit_softcap) || !positive(self.final_logit_softcap) {
            problems.push("soft-caps must be finite and positive".into());
        }
        if !(self.query_pre_attn_scalar > 0.0 && self.rms_norm_eps >= 0.0) {
            problems.push("query_pre_attn_scalar must be positive and rms_norm_eps ≥ 0".into());
        }
        if !(self.rope_theta > 0.0 && self.rope_local_theta > 0.0 && self.rope_scaling_factor > 0.0)
        {
            problems.push("rope bases and scaling factor must be positive".into());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(GemmaError::Config(problems.join("; ")))
        }
    }

    /// Query/key norms (Gemma 3).
    pub fn qk_norm(&self) -> bool {
        self.family == 3
    }

    /// Norms after attention and after the MLP as well as before (Gemma 2 and 3).
    pub fn sandwich_norms(&self) -> bool {
        self.family >= 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"family": 2, "vocab_size": 97, "hidden_size": 32,
        "intermediate_size": 48, "num_layers": 2, "num_heads": 4, "num_kv_heads": 2,
        "head_dim": 16, "rms_norm_eps": 1e-06, "rope_theta": 10000.0,
        "rope_local_theta": 10000.0, "layer_types": ["sliding_attention", "full_attention"],
        "sliding_window": 5, "query_pre_attn_scalar": 24.0, "attn_logit_softcap": 50.0,
        "final_logit_softcap": null, "rope_scaling_factor": 1.0,
        "max_position_embeddings": 8192, "bos_token_id": 2, "eos_token_ids": [1, 106],
        "pad_token_id": 0, "name": "gemma", "extra": {}}"#;

    #[test]
    fn reads_the_python_fields() {
        let c = GemmaConfig::from_json(&Json::parse(DOC.as_bytes()).unwrap()).unwrap();
        assert_eq!(c.family, 2);
        assert_eq!(c.sliding, [true, false]);
        assert_eq!(c.sliding_window, Some(5));
        assert_eq!(c.attn_logit_softcap, Some(50.0));
        assert_eq!(c.final_logit_softcap, None);
        assert_eq!(c.eos_token_ids, [1, 106]);
        assert!(c.sandwich_norms() && !c.qk_norm());
    }

    #[test]
    fn inconsistent_configs_are_refused() {
        for (from, to) in [
            ("\"num_kv_heads\": 2", "\"num_kv_heads\": 3"),
            ("\"family\": 2", "\"family\": 4"),
            ("\"sliding_window\": 5", "\"sliding_window\": null"),
            ("\"num_layers\": 2", "\"num_layers\": 3"),
            ("\"head_dim\": 16", "\"head_dim\": 15"),
            ("\"vocab_size\": 97", "\"vocab_size\": 16777217"),
            ("\"sliding_attention\"", "\"local\""),
        ] {
            let doc = DOC.replace(from, to);
            let got = GemmaConfig::from_json(&Json::parse(doc.as_bytes()).unwrap());
            assert!(matches!(got, Err(GemmaError::Config(_))), "{to}: {got:?}");
        }
        let doc = DOC.replace("\"hidden_size\": 32,", "");
        let got = GemmaConfig::from_json(&Json::parse(doc.as_bytes()).unwrap());
        assert!(matches!(got, Err(GemmaError::Header(_))), "{got:?}");
    }
}
