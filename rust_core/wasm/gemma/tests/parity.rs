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

#[test]
fn scores_of_picks_rows_of_the_reference_logits() {
    for family in 1..=3 {
        let want = expected(family);
        let mut d = Decoder::new(model(family));
        assert_eq!(d.scores_of(&[0]).unwrap_err(), GemmaError::NoTokenYet);
        d.advance(&want.tokens).unwrap();
        let last = want.logits.last().unwrap();
        let ids = [3, 0, last.len() as u32 - 1, 3];
        let got = d.scores_of(&ids).unwrap();
        let picked: Vec<f32> = ids.iter().map(|&i| last[i as usize]).collect();
        assert_close(&got, &picked, &format!("family {family} scores_of"));
        assert!(matches!(
            d.scores_of(&[last.len() as u32]),
            Err(GemmaError::TokenOutOfRange { .. })
        ));
    }
}

#[test]
fn truncate_then_rerun_matches_a_fresh_run() {
    for family in 1..=3 {
        let want = expected(family);
        let mut d = Decoder::new(model(family));
        d.advance(&want.tokens).unwrap();
        for keep in [want.tokens.len() - 1, 3, 1] {
            d.truncate(keep);
            assert_eq!(d.past_length(), keep);
            assert_eq!(d.top_k(1).unwrap_err(), GemmaError::NoTokenYet);
            let logits = d.prefill(&want.tokens[keep..]).unwrap();
            assert_close(
                &logits,
                want.logits.last().unwrap(),
                &format!("family {family} truncate {keep}"),
            );
        }
        d.truncate(want.tokens.len() + 5); // longer than held: nothing changes
        assert_eq!(d.past_length(), want.tokens.len());
    }
}

/// Largest |a − b| over two equally long slices.
fn worst(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max)
}

/// A prompt of the batched path's GEMMs and chunks (80 tokens: chunks of 32, 32 and 16, each
/// wider than the sliding window of 5) equals it run token by token (the decode path): the
/// last hidden state and every cached key and value, with f32 and int8 activations, whole and
/// after a prefix already in the cache.
#[test]
fn batched_prefill_equals_token_by_token() {
    let tokens: Vec<u32> = (0..80u32)
        .map(|i| {
            if i == 0 {
                2
            } else {
                (i * 37 + i * i * 11) % 97
            }
        })
        .collect();
    assert!(gea_gemma::PREFILL_CHUNK < tokens.len());
    for family in 1..=3 {
        for activations in [Activations::F32, Activations::Int8] {
            let mut m = model(family);
            m.set_activations(activations);
            let mut steps = m.new_cache();
            let want = m.forward_stepwise(&mut steps, &tokens).unwrap();
            for prefix in [0, 1, 3, 6, 31, 33, 79] {
                let what = format!("family {family} {activations:?} prefix {prefix}");
                let mut cache = m.new_cache();
                if prefix > 0 {
                    m.forward(&mut cache, &tokens[..prefix]).unwrap();
                }
                let got = m.forward(&mut cache, &tokens[prefix..]).unwrap();
                assert_eq!(cache.len(), tokens.len(), "{what}");
                let mut err = worst(&got, &want);
                for layer in 0..m.config().num_layers {
                    let ((k, v), (wk, wv)) = (cache.layer(layer), steps.layer(layer));
                    err = err.max(worst(k, wk)).max(worst(v, wv));
                }
                assert!(err <= 1e-4, "{what}: max |Δ| = {err}");
            }
        }
    }
}

/// The batched prompt continues correctly: logits of a batched prefill crossing the window,
/// then steps, against the reference, and a chunk appended after steps.
#[test]
fn batched_chunks_after_steps_match_the_reference() {
    for family in 1..=3 {
        let want = expected(family);
        let n = want.tokens.len();
        let mut d = Decoder::new(model(family));
        d.step(want.tokens[0]).unwrap();
        d.step(want.tokens[1]).unwrap();
        let logits = d.prefill(&want.tokens[2..n - 1]).unwrap();
        assert_close(&logits, &want.logits[n - 2], &format!("{family} chunk"));
        let logits = d.step(want.tokens[n - 1]).unwrap();
        assert_close(&logits, &want.logits[n - 1], &format!("{family} step"));
    }
}
