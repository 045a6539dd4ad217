//! Gemma's tokenizer.json has no effective pre-tokenizer (its split on " " runs after " " became
//! "▁"), so BPE sees whole lines as one word. Cutting them into words before each "▁" that
//! follows another character lets each word's tokens be cached — and gives the same ids
//! provided no vocabulary piece spans the cut. The few pieces that can (Gemma 3 has one:
//! ">▁</") are checked at each cut; a vocabulary with many of them is not cut at all.

use crate::scan::{find, ByteSet};

const SPACE: &[u8] = "▁".as_bytes();
/// More crossing pieces than this and checking each cut would cost more than caching saves.
const MAX_CROSSING: usize = 64;

#[derive(Debug, Clone)]
pub struct WordSplitter {
    /// Pieces with a "▁" right after another character: (piece, byte offsets of such "▁").
    crossing: Vec<(Box<[u8]>, Vec<usize>)>,
    enabled: bool,
    lead: ByteSet,
}

impl WordSplitter {
    pub fn new<'a>(pieces: impl Iterator<Item = &'a str>) -> Self {
        let mut crossing = Vec::new();
        for p in pieces {
            let b = p.as_bytes();
            let cuts: Vec<usize> = (1..b.len())
                .filter(|&j| b[j..].starts_with(SPACE) && !b[..j].ends_with(SPACE))
                .collect();
            if !cuts.is_empty() {
                crossing.push((b.into(), cuts));
            }
        }
        let enabled = crossing.len() <= MAX_CROSSING;
        Self {
            crossing,
            enabled,
            lead: ByteSet::new([SPACE[0]]),
        }
    }

    /// Whether a piece could span the cut before byte `at` of `text`.
    fn spanned(&self, text: &[u8], at: usize) -> bool {
        self.crossing.iter().any(|(piece, cuts)| {
            cuts.iter()
                .any(|&j| at >= j && text.get(at - j..at - j + piece.len()) == Some(&piece[..]))
        })
    }

    /// Calls `f` with each word of `text` (normalised text: spaces already "▁").
    pub fn split<'a>(&self, text: &'a str, mut f: impl FnMut(&'a str)) {
        if !self.enabled {
            f(text);
            return;
        }
        let b = text.as_bytes();
        let mut start = 0;
        let mut at = 1;
        while let Some(i) = find(b, at, &self.lead) {
            if b[i..].starts_with(SPACE) && !b[..i].ends_with(SPACE) && !self.spanned(b, i) {
                f(&text[start..i]);
                start = i;
            }
            at = i + 1;
        }
        if start < b.len() {
            f(&text[start..]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &WordSplitter, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        s.split(text, |w| out.push(w.to_owned()));
        out
    }

    #[test]
    fn cuts_before_space_runs_but_not_inside_crossing_pieces() {
        let s = WordSplitter::new(["a", ">▁</"].into_iter());
        assert_eq!(words(&s, "▁▁hello▁world"), ["▁▁hello", "▁world"]);
        assert_eq!(words(&s, "x▁▁y▁"), ["x", "▁▁y", "▁"]);
        assert_eq!(words(&s, "<b>▁</b>▁c"), ["<b>▁</b>", "▁c"]);
        assert_eq!(words(&s, "é▁漢"), ["é", "▁漢"]);
        assert!(words(&s, "").is_empty());
        let many: Vec<String> = (0..100).map(|i| format!("{i}▁x")).collect();
        let off = WordSplitter::new(many.iter().map(String::as_str));
        assert_eq!(words(&off, "a▁b"), ["a▁b"]);
    }
}
