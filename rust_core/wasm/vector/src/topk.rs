//! Streaming top-k selection: a fixed-capacity binary min-heap (the worst kept item at the
//! root), so a scan over millions of scores keeps only `k` of them and allocates once.

/// One kept candidate. `key` is the score used for ordering: NaN ranks as −∞ and −0.0 as +0.0,
/// so that the order is total and agrees with sorting by `f32::total_cmp` on keys.
#[derive(Clone, Copy, Debug)]
struct Entry {
    key: f32,
    id: u32,
    score: f32,
}

/// Ordering key of a score (see [`Entry`]).
#[inline(always)]
fn key(score: f32) -> f32 {
    if score.is_nan() {
        f32::NEG_INFINITY
    } else {
        score + 0.0 // −0.0 + 0.0 = +0.0
    }
}

/// `a` ranks below `b`: lower key, or the same key and a higher id.
#[inline(always)]
fn worse(a: &Entry, b: &Entry) -> bool {
    a.key < b.key || (a.key == b.key && a.id > b.id)
}

/// The `k` best `(id, score)` pairs pushed so far: highest score first, ties broken by the
/// lower id, NaN scores ranked as −∞ (kept only while fewer than `k` others exist).
#[derive(Clone, Debug)]
pub struct TopK {
    k: usize,
    heap: Vec<Entry>,
}

impl TopK {
    /// A selector keeping `k` items; allocates `capacity_hint.min(k)` slots once (pass the
    /// number of candidates, so that `k` larger than it does not over-allocate).
    pub fn new(k: usize, capacity_hint: usize) -> Self {
        TopK {
            k,
            heap: Vec::with_capacity(k.min(capacity_hint)),
        }
    }

    /// Offers one candidate. O(1) when it does not enter the top `k`, O(log k) otherwise.
    #[inline(always)]
    pub fn push(&mut self, id: u32, score: f32) {
        let entry = Entry {
            key: key(score),
            id,
            score,
        };
        if self.heap.len() < self.k {
            self.heap.push(entry);
            self.sift_up(self.heap.len() - 1);
        } else if let Some(root) = self.heap.first() {
            // Most candidates stop at the first comparison.
            if entry.key >= root.key && worse(root, &entry) {
                self.heap[0] = entry;
                self.sift_down(0);
            }
        }
    }

    /// The kept items, best first.
    pub fn into_sorted_vec(self) -> Vec<(u32, f32)> {
        let mut items = self.heap;
        items.sort_unstable_by(|a, b| b.key.total_cmp(&a.key).then(a.id.cmp(&b.id)));
        items.into_iter().map(|e| (e.id, e.score)).collect()
    }

    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let parent = (i - 1) / 2;
            if worse(&self.heap[i], &self.heap[parent]) {
                self.heap.swap(i, parent);
                i = parent;
            } else {
                break;
            }
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        let n = self.heap.len();
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut worst = i;
            if l < n && worse(&self.heap[l], &self.heap[worst]) {
                worst = l;
            }
            if r < n && worse(&self.heap[r], &self.heap[worst]) {
                worst = r;
            }
            if worst == i {
                break;
            }
            self.heap.swap(i, worst);
            i = worst;
        }
    }
}

/// Reference order used by the tests: all `(id, score)` pairs sorted the way [`TopK`] ranks.
#[cfg(test)]
pub(crate) fn sort_all(scores: &[f32]) -> Vec<(u32, f32)> {
    let mut all: Vec<(u32, f32)> = scores
        .iter()
        .enumerate()
        .map(|(i, &s)| (i as u32, s))
        .collect();
    all.sort_by(|a, b| key(b.1).total_cmp(&key(a.1)).then(a.0.cmp(&b.0)));
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn top(scores: &[f32], k: usize) -> Vec<(u32, f32)> {
        let mut t = TopK::new(k, scores.len());
        for (i, &s) in scores.iter().enumerate() {
            t.push(i as u32, s);
        }
        t.into_sorted_vec()
    }

    fn same(a: &[(u32, f32)], b: &[(u32, f32)]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| x.0 == y.0 && x.1.to_bits() == y.1.to_bits())
    }

    #[test]
    fn matches_a_full_sort_with_ties_and_specials() {
        let scores = [
            3.0,
            1.0,
            3.0,
            f32::NAN,
            -0.0,
            0.0,
            f32::NEG_INFINITY,
            7.5,
            1.0,
            f32::INFINITY,
            -2.0,
            f32::NAN,
            3.0,
        ];
        for k in 0..=scores.len() + 3 {
            let want: Vec<_> = sort_all(&scores).into_iter().take(k).collect();
            assert!(same(&top(&scores, k), &want), "k={k}");
        }
        let top3 = top(&scores, 3);
        assert_eq!(top3.iter().map(|e| e.0).collect::<Vec<_>>(), [9, 7, 0]);
    }

    #[test]
    fn order_of_arrival_does_not_matter() {
        let scores: Vec<f32> = (0..500).map(|i| ((i * 37) % 101) as f32).collect();
        let mut t = TopK::new(10, 500);
        for i in (0..500).rev() {
            t.push(i as u32, scores[i]);
        }
        let want: Vec<_> = sort_all(&scores).into_iter().take(10).collect();
        assert!(same(&t.into_sorted_vec(), &want));
    }

    #[test]
    fn k_zero_and_empty() {
        assert!(top(&[1.0, 2.0], 0).is_empty());
        assert!(top(&[], 5).is_empty());
    }
}
