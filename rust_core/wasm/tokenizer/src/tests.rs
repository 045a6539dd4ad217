//! The whole tokenizer on a small hand-made vocabulary (the real Gemma vocabulary is checked
//! against Hugging Face from Python, through the native extension).

use super::*;

/// Pieces: bytes <0x00>..<0xFF> at 4..260, then letters, "▁", merges for "▁the", "▁▁".
fn tiny() -> Tokenizer {
    let mut pieces: Vec<String> = ["<pad>", "<eos>", "<bos>", "<unk>"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    pieces.extend((0..=255u8).map(|b| format!("<0x{b:02X}>")));
    let base = pieces.len() as u32;
    let extra = [
        "▁",
        "t",
        "h",
        "e",
        "x",
        "é",
        "▁t",
        "▁th",
        "▁the",
        "▁▁",
        "he",
        "<end_of_turn>",
        "\n",
        "\n\n",
        "<unused0>",
        "e▁",
        "x▁",
    ];
    pieces.extend(extra.iter().map(|s| s.to_string()));
    let id = |s: &str| base + extra.iter().position(|&e| e == s).unwrap() as u32;
    let merges = vec![
        (id("e"), id("▁"), id("e▁")),
        (id("▁"), id("t"), id("▁t")),
        (id("▁t"), id("h"), id("▁th")),
        (id("▁th"), id("e"), id("▁the")),
        (id("h"), id("e"), id("he")),
        (id("▁"), id("▁"), id("▁▁")),
    ];
    let added = vec![
        (id("<end_of_turn>"), true),
        (id("\n"), false),
        (id("\n\n"), false),
        (id("<unused0>"), false),
        (2, true),
    ];
    let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
    Tokenizer::new(Vocabulary::new(
        &refs,
        merges,
        added,
        Some(2),
        Some(1),
        Some(3),
        Some(0),
        true,
    ))
}

const PLAIN: EncodeOptions = EncodeOptions {
    add_bos: false,
    allow_special: false,
};

fn pieces(t: &Tokenizer, ids: &[u32]) -> Vec<String> {
    ids.iter()
        .map(|&i| t.id_to_token(i).unwrap().to_owned())
        .collect()
}

#[test]
fn encodes_merges_bytes_and_added_tokens() {
    let t = tiny();
    let ids = t.encode(" the\n\nhé he", PLAIN);
    assert_eq!(pieces(&t, &ids), ["▁the", "\n\n", "h", "é", "▁", "he"]);
    // "q" is not a piece: byte fallback.
    assert_eq!(pieces(&t, &t.encode("q", PLAIN)), ["<0x71>"]);
    assert_eq!(
        pieces(&t, &t.encode("漢", PLAIN)),
        ["<0xE6>", "<0xBC>", "<0xA2>"]
    );
    let with_bos = t.encode(
        "x",
        EncodeOptions {
            add_bos: true,
            allow_special: false,
        },
    );
    assert_eq!(with_bos, [2, t.encode("x", PLAIN)[0]]);
    assert_eq!(
        t.encode(
            "",
            EncodeOptions {
                add_bos: true,
                allow_special: false
            }
        ),
        [2]
    );
    assert!(t.encode("", PLAIN).is_empty());
}

#[test]
fn a_crossing_piece_keeps_its_word_together() {
    let t = tiny();
    // "e▁" (rank 0) spans the cut before "▁": the splitter must not cut inside it.
    assert_eq!(pieces(&t, &t.encode("he x", PLAIN)), ["h", "e▁", "x"]);
    assert_eq!(pieces(&t, &t.encode(" the x", PLAIN)), ["▁th", "e▁", "x"]);
}

#[test]
fn special_tokens_only_when_allowed() {
    let t = tiny();
    let allowed = EncodeOptions {
        add_bos: false,
        allow_special: true,
    };
    let eot = t.added_token_id("<end_of_turn>").unwrap();
    assert_eq!(t.encode("<end_of_turn>", allowed), [eot]);
    let plain = t.encode("<end_of_turn>", PLAIN);
    assert!(!plain.contains(&eot) && plain.len() > 5);
    assert_eq!(t.decode(&plain, false).unwrap(), "<end_of_turn>");
    // Non-special added tokens are always matched.
    assert_eq!(
        t.encode("<unused0>", PLAIN),
        [t.added_token_id("<unused0>").unwrap()]
    );
    assert!(t.is_special(eot) && !t.is_special(t.added_token_id("\n").unwrap()));
}

#[test]
fn count_equals_encode_len() {
    let t = tiny();
    for s in ["", " the the", "<end_of_turn>x", "\n\n\n", "😀 é"] {
        for opts in [
            PLAIN,
            EncodeOptions {
                add_bos: true,
                allow_special: true,
            },
        ] {
            assert_eq!(t.count(s, opts), t.encode(s, opts).len(), "{s:?}");
        }
    }
}

#[test]
fn decode_round_trips_and_marks_broken_bytes() {
    let t = tiny();
    for s in [
        "",
        " the x",
        "  lead",
        "héq 漢字 😀\n\n\nend",
        "<end_of_turn>",
        "\u{FFFD}\u{0}",
    ] {
        assert_eq!(t.decode(&t.encode(s, PLAIN), false).unwrap(), s);
    }
    let b = |x: u8| 4 + x as u32;
    // An invalid run becomes one U+FFFD per byte; a valid one its character.
    assert_eq!(
        t.decode(&[b(0xE6), b(0xBC)], false).unwrap(),
        "\u{FFFD}\u{FFFD}"
    );
    assert_eq!(t.decode(&[b(0xE6), b(0xBC), b(0xA2)], false).unwrap(), "漢");
    assert_eq!(t.decode(&[2, b(0x41)], true).unwrap(), "A");
    assert_eq!(t.decode(&[2, b(0x41)], false).unwrap(), "<bos>A");
    assert_eq!(
        t.decode(&[1, 99_999], false),
        Err(TokenizerError::UnknownId {
            id: 99_999,
            vocab_size: t.vocab_size()
        })
    );
}

#[test]
fn stream_decoder_concatenates_to_decode() {
    let t = tiny();
    let ids = t.encode("a 漢 b😀 the\n", PLAIN);
    for skip in [false, true] {
        let mut d = StreamDecoder::new(skip);
        let mut text = String::new();
        for &id in &ids {
            let piece = d.push(&t, id).unwrap();
            assert!(!piece.contains('\u{FFFD}'));
            text.push_str(&piece);
        }
        text.push_str(&d.finish());
        assert_eq!(text, t.decode(&ids, skip).unwrap());
    }
    let mut d = StreamDecoder::new(false);
    assert_eq!(d.push(&t, 4 + 0xE6).unwrap(), "");
    assert_eq!(d.pending_bytes(), 1);
    assert_eq!(d.finish(), "\u{FFFD}");
}

#[test]
fn file_round_trip_and_every_defect_is_an_error() {
    let t = tiny();
    let bytes = t.vocab.to_bytes();
    let again = Tokenizer::from_bytes(&bytes).unwrap();
    assert_eq!(again.encode(" the x", PLAIN), t.encode(" the x", PLAIN));

    let err = |data: &[u8]| match Tokenizer::from_bytes(data) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("accepted a bad file"),
    };
    assert!(err(&bytes[..10]).contains("shorter than"));
    assert!(err(&bytes[..bytes.len() - 1]).contains("truncated"));
    assert!(
        err(b"GGUF0000000000000000000000000000000000000000000000000000000000000000")
            .contains("magic")
    );
    let mut corrupt = bytes.clone();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 1;
    assert!(err(&corrupt).contains("checksum"));
    let mut version = bytes.clone();
    version[8] = 9;
    assert!(err(&version).contains("version 9"));
    // Every truncation is refused without a panic.
    for cut in 0..bytes.len() {
        assert!(Tokenizer::from_bytes(&bytes[..cut]).is_err());
    }
}

#[test]
fn random_input_never_panics_and_round_trips() {
    let t = tiny();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    // No literal "▁": it decodes as " " (in Hugging Face too), so it cannot round-trip.
    let alphabet: Vec<char> = " the\n<>_end_of_turné漢😀\u{FFFD}\u{0}x".chars().collect();
    for _ in 0..3000 {
        let len = (rnd() % 40) as usize;
        let s: String = (0..len)
            .map(|_| alphabet[(rnd() % alphabet.len() as u64) as usize])
            .collect();
        let ids = t.encode(&s, PLAIN);
        assert_eq!(t.decode(&ids, false).unwrap(), s);
        assert_eq!(t.count(&s, PLAIN), ids.len());
        let marked = s.replace('x', "▁");
        assert_eq!(
            t.decode(&t.encode(&marked, PLAIN), false).unwrap(),
            s.replace('x', " ")
        );
        // Random bytes as a vocabulary file: an error, never a panic.
        let junk: Vec<u8> = (0..(rnd() % 200)).map(|_| rnd() as u8).collect();
        assert!(Tokenizer::from_bytes(&junk).is_err());
    }
}
