//! Byte-pair merging of one word, with Hugging Face's exact order: repeatedly merge the
//! adjacent pair of lowest rank, leftmost first. Short words (nearly all of them) use a
//! rank array scanned for its minimum; long ones a binary heap over a linked list, so a
//! 100 KB "word" costs O(n log n) instead of O(n²). Tests check both against each other.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Words with at most this many initial symbols use the rank-array version.
const SHORT_WORD: usize = 48;
const NONE: u32 = u32::MAX;

/// `(left, right)` -> `(rank, result)`: an open-addressing table whose slots hold key and
/// value side by side, so a lookup is usually one cache miss. The table (~16 MB for Gemma's
/// 515k merges) is far larger than the CPU caches and these lookups are most of the work of a
/// word that is not cached yet.
#[derive(Debug, Clone, Default)]
pub struct Merges {
    slots: Vec<(u64, u64)>, // (key, rank << 32 | result); EMPTY key = free
    shift: u32,
}

const EMPTY: u64 = u64::MAX;

#[inline]
fn key(a: u32, b: u32) -> u64 {
    ((a as u64) << 32) | b as u64
}

impl Merges {
    pub fn new(merges: &[(u32, u32, u32)]) -> Self {
        // Load factor at most 1/2: short probe runs.
        let bits = (merges.len().max(1) * 2)
            .next_power_of_two()
            .trailing_zeros()
            .max(4);
        let mut m = Self {
            slots: vec![(EMPTY, 0); 1 << bits],
            shift: 64 - bits,
        };
        for (rank, &(a, b, r)) in merges.iter().enumerate() {
            let k = key(a, b);
            let mask = m.slots.len() - 1;
            let mut i = m.home(k);
            while m.slots[i].0 != EMPTY && m.slots[i].0 != k {
                i = (i + 1) & mask;
            }
            m.slots[i] = (k, ((rank as u64) << 32) | r as u64);
        }
        m
    }

    #[inline]
    fn home(&self, k: u64) -> usize {
        (k.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    #[inline]
    fn get(&self, a: u32, b: u32) -> Option<(u32, u32)> {
        let k = key(a, b);
        let mask = self.slots.len() - 1;
        let mut i = self.home(k);
        loop {
            let (sk, v) = self.slots[i];
            if sk == k {
                return Some(((v >> 32) as u32, v as u32));
            }
            if sk == EMPTY {
                return None;
            }
            i = (i + 1) & mask;
        }
    }

    /// `(rank, result)` packed so that comparing two packed values compares ranks.
    #[inline]
    fn packed(&self, a: u32, b: u32) -> u64 {
        self.get(a, b)
            .map_or(u64::MAX, |(r, res)| ((r as u64) << 32) | res as u64)
    }

    /// Merges `symbols` in place (initial token ids of one word) down to its final tokens.
    pub fn apply(&self, symbols: &mut Vec<u32>, scratch: &mut Scratch) {
        if symbols.len() <= SHORT_WORD {
            self.apply_short(symbols, &mut scratch.ranks);
        } else {
            self.apply_heap(symbols, scratch);
        }
    }

    pub fn apply_short(&self, s: &mut Vec<u32>, ranks: &mut Vec<u64>) {
        if s.len() < 2 {
            return;
        }
        ranks.clear();
        ranks.extend(s.windows(2).map(|w| self.packed(w[0], w[1])));
        loop {
            // The first minimum is the leftmost pair of the lowest rank.
            let (mut best, mut at) = (u64::MAX, 0);
            for (i, &r) in ranks.iter().enumerate() {
                if r < best {
                    best = r;
                    at = i;
                }
            }
            if best == u64::MAX {
                return;
            }
            s[at] = best as u32;
            s.remove(at + 1);
            ranks.remove(at);
            if at > 0 {
                ranks[at - 1] = self.packed(s[at - 1], s[at]);
            }
            if at < ranks.len() {
                ranks[at] = self.packed(s[at], s[at + 1]);
            }
        }
    }

    pub fn apply_heap(&self, s: &mut Vec<u32>, scratch: &mut Scratch) {
        let n = s.len();
        if n < 2 {
            return;
        }
        let Scratch {
            prev, next, heap, ..
        } = scratch;
        prev.clear();
        next.clear();
        prev.extend((0..n as u32).map(|i| i.wrapping_sub(1)));
        next.extend((1..=n as u32).map(|i| if i as usize == n { NONE } else { i }));
        heap.clear();
        for i in 0..n - 1 {
            if let Some((rank, _)) = self.get(s[i], s[i + 1]) {
                heap.push(Reverse((rank, i as u32, s[i], s[i + 1])));
            }
        }
        const GONE: u32 = u32::MAX - 1;
        while let Some(Reverse((_, pos, a, b))) = heap.pop() {
            let p = pos as usize;
            let q = next[p];
            // Stale entries: the symbol was merged away or either side changed since the push.
            if s[p] != a || s[p] == GONE || q == NONE || s[q as usize] != b {
                continue;
            }
            let Some((_, result)) = self.get(a, b) else {
                continue;
            };
            s[p] = result;
            let q = q as usize;
            s[q] = GONE;
            let after = next[q];
            next[p] = after;
            if after != NONE {
                prev[after as usize] = p as u32;
                if let Some((rank, _)) = self.get(result, s[after as usize]) {
                    heap.push(Reverse((rank, pos, result, s[after as usize])));
                }
            }
            let before = prev[p];
            if before != NONE {
                let bi = before as usize;
                if let Some((rank, _)) = self.get(s[bi], result) {
                    heap.push(Reverse((rank, before, s[bi], result)));
                }
            }
        }
        s.retain(|&t| t != GONE);
    }
}

/// Buffers reused from word to word.
#[derive(Debug, Default)]
pub struct Scratch {
    ranks: Vec<u64>,
    prev: Vec<u32>,
    next: Vec<u32>,
    heap: BinaryHeap<Reverse<(u32, u32, u32, u32)>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pseudo-random merge table over a small alphabet, so many pairs collide.
    fn table(seed: u64) -> (Merges, u32) {
        let mut x = seed | 1;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut merges = Vec::new();
        let mut next_id = 6u32;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..60 {
            let a = (rnd() % next_id as u64) as u32;
            let b = (rnd() % next_id as u64) as u32;
            if seen.insert((a, b)) {
                merges.push((a, b, next_id));
                next_id += 1;
            }
        }
        (Merges::new(&merges), 6)
    }

    #[test]
    fn heap_equals_rank_array() {
        let mut scratch = Scratch::default();
        for seed in 1..40u64 {
            let (m, alphabet) = table(seed);
            for len in [0usize, 1, 2, 3, 7, 30, 47, 48, 49, 200, 1000] {
                let word: Vec<u32> = (0..len)
                    .map(|i| ((i as u64 * 2654435761 + seed) % alphabet as u64) as u32)
                    .collect();
                let (mut a, mut b) = (word.clone(), word);
                m.apply_short(&mut a, &mut scratch.ranks);
                m.apply_heap(&mut b, &mut scratch);
                assert_eq!(a, b, "seed {seed} len {len}");
            }
        }
    }

    #[test]
    fn lowest_rank_then_leftmost() {
        // 0+0 -> 2 (rank 0), 2+0 -> 3 (rank 1): "0 0 0" -> (0 0) first at the left -> 3.
        let m = Merges::new(&[(0, 0, 2), (2, 0, 3), (0, 2, 4)]);
        let mut s = vec![0, 0, 0];
        m.apply_short(&mut s, &mut Vec::new());
        assert_eq!(s, [3]);
        let mut s = vec![0, 0, 0, 0];
        m.apply_heap(&mut s, &mut Scratch::default());
        assert_eq!(s, [2, 2]);
    }
}
