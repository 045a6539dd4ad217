//! Byte scans over the input text: the " " -> "▁" normalisation and the search for bytes that
//! can start an added token or a word. SIMD128 on wasm32 (16 bytes per compare) with the
//! scalar version as the reference; `simd_matches_scalar` lets the wasm tests check one
//! against the other on real text.

/// A set of bytes, with the list kept when it is small enough for the SIMD compare.
#[derive(Debug, Clone)]
pub struct ByteSet {
    member: [bool; 256],
    #[cfg_attr(
        not(all(target_arch = "wasm32", target_feature = "simd128")),
        allow(dead_code)
    )]
    few: Vec<u8>,
}

/// SIMD compares one splat per byte of the set: beyond this many the table is faster.
#[cfg_attr(
    not(all(target_arch = "wasm32", target_feature = "simd128")),
    allow(dead_code)
)]
const SIMD_MAX_BYTES: usize = 6;

impl ByteSet {
    pub fn new(bytes: impl IntoIterator<Item = u8>) -> Self {
        let mut member = [false; 256];
        for b in bytes {
            member[b as usize] = true;
        }
        let few = (0..=255u8).filter(|&b| member[b as usize]).collect();
        Self { member, few }
    }

    #[inline]
    pub fn contains(&self, b: u8) -> bool {
        self.member[b as usize]
    }
}

pub fn find_scalar(hay: &[u8], from: usize, set: &ByteSet) -> Option<usize> {
    hay.get(from..)?
        .iter()
        .position(|&b| set.contains(b))
        .map(|i| i + from)
}

/// The first index ≥ `from` whose byte is in `set`.
#[inline]
pub fn find(hay: &[u8], from: usize, set: &ByteSet) -> Option<usize> {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        if set.few.len() <= SIMD_MAX_BYTES {
            return simd::find(hay, from, set);
        }
    }
    find_scalar(hay, from, set)
}

pub fn replace_spaces_scalar(text: &str, out: &mut String) {
    for (i, part) in text.split(' ').enumerate() {
        if i > 0 {
            out.push('▁');
        }
        out.push_str(part);
    }
}

/// Appends `text` to `out` with every " " replaced by "▁" (Gemma's normaliser).
#[inline]
pub fn replace_spaces(text: &str, out: &mut String) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        simd::replace_spaces(text, out);
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    replace_spaces_scalar(text, out);
}

/// Whether the SIMD scans agree with the scalar ones on `text` (true off wasm32).
pub fn simd_matches_scalar(text: &str, set: &ByteSet) -> bool {
    let (mut a, mut b) = (String::new(), String::new());
    replace_spaces(text, &mut a);
    replace_spaces_scalar(text, &mut b);
    let hay = text.as_bytes();
    let mut from = 0;
    loop {
        let (x, y) = (find(hay, from, set), find_scalar(hay, from, set));
        if x != y {
            return false;
        }
        match x {
            Some(i) => from = i + 1,
            None => return a == b,
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use super::{find_scalar, ByteSet, SIMD_MAX_BYTES};
    use core::arch::wasm32::*;

    #[inline]
    fn load(chunk: &[u8]) -> v128 {
        debug_assert!(chunk.len() >= 16);
        // SAFETY: the caller passes at least 16 readable bytes; v128_load allows any alignment.
        unsafe { v128_load(chunk.as_ptr() as *const v128) }
    }

    pub fn find(hay: &[u8], from: usize, set: &ByteSet) -> Option<usize> {
        let mut splats = [u8x16_splat(0); SIMD_MAX_BYTES];
        for (s, &b) in splats.iter_mut().zip(&set.few) {
            *s = u8x16_splat(b);
        }
        let splats = &splats[..set.few.len()];
        let mut i = from;
        while i + 16 <= hay.len() {
            let v = load(&hay[i..]);
            let mut hit = u8x16_splat(0);
            for &s in splats {
                hit = v128_or(hit, u8x16_eq(v, s));
            }
            let mask = u8x16_bitmask(hit);
            if mask != 0 {
                return Some(i + mask.trailing_zeros() as usize);
            }
            i += 16;
        }
        find_scalar(hay, i.min(hay.len()), set)
    }

    pub fn replace_spaces(text: &str, out: &mut String) {
        let bytes = text.as_bytes();
        let space = u8x16_splat(b' ');
        let mut start = 0; // first byte not yet copied
        let mut i = 0;
        while i + 16 <= bytes.len() {
            let mut mask = u8x16_bitmask(u8x16_eq(load(&bytes[i..]), space));
            while mask != 0 {
                let at = i + mask.trailing_zeros() as usize;
                // Spaces are ASCII, so `start..at` ends on a character boundary.
                out.push_str(&text[start..at]);
                out.push('▁');
                start = at + 1;
                mask &= mask - 1;
            }
            i += 16;
        }
        super::replace_spaces_scalar(&text[start..], out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_agree_and_replace() {
        let set = ByteSet::new([b'<', b'\n', 0xE2]);
        for text in [
            "",
            "a b",
            "  lead and trail  ",
            "x<y\nz ▁ é 漢字 <end_of_turn>",
            "no",
        ] {
            assert!(simd_matches_scalar(text, &set));
            let mut out = String::new();
            replace_spaces(text, &mut out);
            assert_eq!(out, text.replace(' ', "▁"));
        }
        let hay = "abc<def\n".as_bytes();
        assert_eq!(find(hay, 0, &set), Some(3));
        assert_eq!(find(hay, 4, &set), Some(7));
        assert_eq!(find(hay, 8, &set), None);
        assert_eq!(find(hay, 99, &set), None);
    }
}
