//! The decoder against `build_tools/reference_model.py` on tiny Gemma 1/2/3 models: fixtures
//! written by `tests/test_gemma_wasm_fixture.py` (weights files and the reference's logits on
//! their dequantized weights).

use gea_gemma::{Activations, Decoder, Gemma, GemmaError, WeightsFile};

const TOLERANCE: f32 = 1e-3;
const INT8_TOLERANCE: f32 = 0.5;

fn data(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

struct Expected {
    tokens: Vec<u32>,
    logits: Vec<Vec<f32>>,
}

fn u32_at(raw: &[u8], offset: usize) -> u32 {
    u32::from_le_bytes(raw[offset..offset + 4].try_into().unwrap())
}

fn expected(family: u32) -> Expected {
    let raw = data(&format!("family{family}.expected.bin"));
    assert_eq!(&raw[..8], b"GEAEXP01");
    let (n, vocab) = (u32_at(&raw, 8) as usize, u32_at(&raw, 12) as usize);
    let tokens = (0..n).map(|i| u32_at(&raw, 16 + 4 * i)).collect();
    let start = 16 + 4 * n;
    let logits = (0..n)
        .map(|p| {
            (0..vocab)
                .map(|v| f32::from_bits(u32_at(&raw, start + 4 * (p * vocab + v))))
                .collect()
        })
        .collect();
    Expected { tokens, logits }
}

fn model(family: u32) -> Gemma {
    Gemma::from_bytes(&data(&format!("family{family}.bin"))).unwrap()
}

fn assert_close(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    let worst = got
        .iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst <= TOLERANCE, "{what}: max |Δ| = {worst}");
}

#[test]
fn every_position_matches_the_reference() {
    for family in 1..=3 {
        let m = model(family);
        assert_eq!(m.config().family, family);
        let want = expected(family);
        let mut cache = m.new_cache();
        let got = m.forward_logits(&mut cache, &want.tokens).unwrap();
        assert_eq!(cache.len(), want.tokens.len());
        for (p, (g, w)) in got.iter().zip(&want.logits).enumerate() {
            assert_close(g, w, &format!("family {family} position {p}"));
        }
    }
}

#[test]
fn prefill_then_steps_through_the_cache_past_the_window() {
    for family in 1..=3 {
        let want = expected(family);
        let mut d = Decoder::new(model(family));
        for split in [1, 4, 7] {
            d.reset();
            assert_eq!(d.past_length(), 0);
            let logits = d.prefill(&want.tokens[..split]).unwrap();
            assert_close(
                &logits,
                &want.logits[split - 1],
                &format!("{family} prefill {split}"),
            );
            for p in split..want.tokens.len() {
                let logits = d.step(want.tokens[p]).unwrap();
                assert_close(&logits, &want.logits[p], &format!("{family} step {p}"));
            }
            assert_eq!(d.past_length(), want.tokens.len());
        }
    }
}

#[test]
fn top_k_ranks_the_last_logits() {
    for family in 1..=3 {
        let want = expected(family);
        let mut d = Decoder::new(model(family));
        assert_eq!(d.top_k(3).unwrap_err(), GemmaError::NoTokenYet);
        d.advance(&want.tokens).unwrap();
        let last = want.logits.last().unwrap();
        let top = d.top_k(5).unwrap();
        assert_eq!(top.len(), 5);
        let mut order: Vec<u32> = (0..last.len() as u32).collect();
        order.sort_by(|&a, &b| last[b as usize].total_cmp(&last[a as usize]));
        if d.model().head_is_scan() {
            // The int8 scan quantizes the hidden state: scores are close, not equal.
            for &(id, score) in &top {
                assert!(
                    (score - last[id as usize]).abs() < 0.05,
                    "family {family} id {id}"
                );
            }
            assert_eq!(top[0].0, order[0], "family {family}");
        } else {
            let ids: Vec<u32> = top.iter().map(|e| e.0).collect();
            assert_eq!(ids, order[..5]);
            for &(id, score) in &top {
                assert!((score - last[id as usize]).abs() <= TOLERANCE);
            }
        }
        assert!(top.windows(2).all(|w| w[0].1 >= w[1].1));
    }
}

#[test]
fn the_built_layouts_are_read() {
    assert!(!model(1).head_is_scan());
    assert!(model(2).head_is_scan() && model(3).head_is_scan());
    let c = model(2).config().clone();
    assert_eq!(
        (c.sliding_window, c.final_logit_softcap),
        (Some(5), Some(30.0))
    );
    assert_eq!(c.sliding, [true, false, true]);
}

#[test]
fn bad_tokens_leave_the_cache_unchanged() {
    let mut d = Decoder::new(model(3));
    d.prefill(&[2, 5]).unwrap();
    let err = d.prefill(&[3, 97]).unwrap_err();
    assert_eq!(
        err,
        GemmaError::TokenOutOfRange {
            token: 97,
            vocab: 97
        }
    );
    assert_eq!(d.prefill(&[]).unwrap_err(), GemmaError::EmptyInput);
    assert_eq!(d.past_length(), 2);
    assert!(err.to_string().contains("out of range"));
}

#[test]
fn truncated_files_are_refused_without_panicking() {
    let raw = data("family2.bin");
    for cut in (0..raw.len()).step_by(97).chain([raw.len() - 1]) {
        let got = WeightsFile::parse(&raw[..cut]);
        assert!(
            matches!(got, Err(GemmaError::Truncated(_) | GemmaError::Json { .. })),
            "cut at {cut}: {:?}",
            got.err()
        );
    }
    assert!(WeightsFile::parse(&raw).is_ok());
}

/// The file with the first occurrence of `from` in its header replaced by `to` (same length).
fn patched(from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut raw = data("family3.bin");
    let header_len = u32_at(&raw, 8) as usize;
    let header = &raw[12..12 + header_len];
    let at = header
        .windows(from.len())
        .position(|w| w == from.as_bytes())
        .unwrap_or_else(|| panic!("{from} not in the header"));
    raw[12 + at..12 + at + to.len()].copy_from_slice(to.as_bytes());
    raw
}

#[test]
fn malformed_headers_are_named() {
    let mut bad = data("family1.bin");
    bad[0] = b'X';
    assert_eq!(WeightsFile::parse(&bad).unwrap_err(), GemmaError::BadMagic);
    assert_eq!(
        WeightsFile::parse(b"GEAW").unwrap_err(),
        GemmaError::Truncated("magic and header length".into())
    );
    let unknown = WeightsFile::parse(&patched("\"kind\": \"q8\"", "\"kind\": \"q9\""));
    assert!(
        matches!(&unknown, Err(GemmaError::UnknownKind { kind, .. }) if kind == "q9"),
        "{unknown:?}"
    );
    let shape = WeightsFile::parse(&patched("\"rows\": 97", "\"rows\": 96"));
    assert!(matches!(shape, Err(GemmaError::Shape(_))), "{shape:?}");
    let json = WeightsFile::parse(&patched("\"format\": 1", "\"format\" 1,"));
    assert!(matches!(json, Err(GemmaError::Json { .. })), "{json:?}");
    let missing = Gemma::from_bytes(&patched(
        "\"name\": \"final_norm\"",
        "\"name\": \"final_nrom\"",
    ));
    assert_eq!(
        missing.err(),
        Some(GemmaError::MissingTensor("final_norm".into()))
    );
    let config = Gemma::from_bytes(&patched("\"num_kv_heads\": 1", "\"num_kv_heads\": 3"));
    assert!(
        matches!(config, Err(GemmaError::Config(_))),
        "{:?}",
        config.err()
    );
}

/// Int8 activations (llama.cpp's rounding) stay close to the f32 reference; the f32 mode is
/// the default and is restored by setting it back.
#[test]
fn int8_activations_stay_close_to_the_reference() {
    for family in 1..=3 {
        let want = expected(family);
        let mut m = model(family);
        assert_eq!(m.activations(), Activations::F32);
        m.set_activations(Activations::Int8);
        let mut cache = m.new_cache();
        let got = m.forward_logits(&mut cache, &want.tokens).unwrap();
        let mut worst = 0.0f32;
        for (g, w) in got.iter().zip(&want.logits) {
            for (a, b) in g.iter().zip(w) {
                worst = worst.max((a - b).abs());
            }
        }
        eprintln!("family {family}: int8 activations, max |Δ| = {worst}");
        assert!(
            worst > 0.0 && worst < INT8_TOLERANCE,
            "family {family}: {worst}"
        );
        let mut d = Decoder::new(m);
        d.set_activations(Activations::F32);
        let logits = d.prefill(&want.tokens).unwrap();
        assert_close(&logits, want.logits.last().unwrap(), "back to f32");
    }
}
