//! HNSW (Malkov & Yashunin): a layered proximity graph, searched greedily from the top layer.
//!
//! Similarity is the dot product of L2-normalised vectors (cosine), higher is better. Levels
//! come from a seeded splitmix64 generator, so the same adds in the same order build the same
//! graph everywhere. Neighbours are chosen with the paper's heuristic (keep a candidate only if
//! it is closer to the base than to every neighbour kept so far). Deleted vectors become
//! tombstones: still walked through (the graph stays connected) but never returned.
//! With int8 storage the graph is built and walked on int8 scores and the final `ef`
//! candidates are rescored exactly in f32.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use crate::dot::dot_fast;
use crate::dot_i8::dot_i8_fast;
use crate::flat::check_batch;
use crate::format::{self, corrupt, IndexKind, Writer};
use crate::topk::TopK;
use crate::vectors::{check_dim, normalize, quantize_i8, Storage};
use crate::VectorError;

const NONE: u32 = u32::MAX;
/// Largest `ef_construction` / `ef_search` (beyond it the beam is the whole index anyway).
const MAX_EF: usize = 1_000_000;
/// Highest level a node can get (levels above are clamped).
const MAX_LEVEL: usize = 16;

/// Build and search parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HnswParams {
    /// Links per node on the upper layers (layer 0 keeps `2·m`). 2 ..= 128.
    pub m: usize,
    /// Candidate list size while inserting. ≥ 1.
    pub ef_construction: usize,
    /// Candidate list size while searching (at least `k` is used). ≥ 1; settable later.
    pub ef_search: usize,
    /// Seed of the level generator.
    pub seed: u64,
    /// Vectors for the graph walk: f32, or int8 with exact f32 rescoring.
    pub storage: Storage,
}

impl Default for HnswParams {
    fn default() -> Self {
        HnswParams {
            m: 16,
            ef_construction: 200,
            ef_search: 64,
            seed: 0x0005_eed0_f9ea,
            storage: Storage::F32,
        }
    }
}

fn check_params(p: &HnswParams) -> Result<(), VectorError> {
    if !(2..=128).contains(&p.m) {
        return Err(VectorError::InvalidParameter {
            name: "m",
            value: p.m,
            expected: "between 2 and 128",
        });
    }
    check_ef("ef_construction", p.ef_construction)?;
    check_ef("ef_search", p.ef_search)
}

fn check_ef(name: &'static str, ef: usize) -> Result<(), VectorError> {
    if ef == 0 || ef > MAX_EF {
        return Err(VectorError::InvalidParameter {
            name,
            value: ef,
            expected: "between 1 and 1000000",
        });
    }
    Ok(())
}

/// A scored node; ordered by similarity, then by the lower slot (deterministic ties).
#[derive(Clone, Copy, Debug)]
struct Cand {
    sim: f32,
    slot: u32,
}

impl PartialEq for Cand {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Cand {}
impl PartialOrd for Cand {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Cand {
    /// Greater = better: higher similarity, then lower slot.
    fn cmp(&self, other: &Self) -> Ordering {
        self.sim
            .total_cmp(&other.sim)
            .then(other.slot.cmp(&self.slot))
    }
}

/// Worst-first wrapper for the result heap.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Worst(std::cmp::Reverse<Cand>);

/// A query in the walk's representation.
enum Walk<'a> {
    F32(&'a [f32]),
    I8(Vec<i8>, f32),
}

/// A fixed-size visited set.
struct Visited(Vec<u64>);

impl Visited {
    fn new(n: usize) -> Self {
        Visited(vec![0; n.div_ceil(64)])
    }

    /// Marks `i`; returns whether it was already marked.
    #[inline(always)]
    fn mark(&mut self, i: u32) -> bool {
        let (w, b) = ((i / 64) as usize, 1u64 << (i % 64));
        let seen = self.0[w] & b != 0;
        self.0[w] |= b;
        seen
    }
}

/// The HNSW index. See the module documentation.
#[derive(Clone, Debug)]
pub struct HnswIndex {
    dim: usize,
    params: HnswParams,
    rng: u64,
    /// Per slot: external id, level, tombstone.
    ids: Vec<u32>,
    levels: Vec<u8>,
    deleted: Vec<bool>,
    /// `links[slot][level]`: neighbour slots.
    links: Vec<Vec<Vec<u32>>>,
    /// Normalised f32 vectors (`slots × dim`), always kept for exact scores.
    data: Vec<f32>,
    /// int8 storage: quantised vectors and scales.
    q: Vec<i8>,
    scales: Vec<f32>,
    entry: u32,
    max_level: usize,
    /// Live ids → slot.
    live: HashMap<u32, u32>,
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl HnswIndex {
    pub fn new(dim: usize, params: HnswParams) -> Result<Self, VectorError> {
        check_dim(dim)?;
        check_params(&params)?;
        Ok(HnswIndex {
            dim,
            params,
            rng: params.seed,
            ids: Vec::new(),
            levels: Vec::new(),
            deleted: Vec::new(),
            links: Vec::new(),
            data: Vec::new(),
            q: Vec::new(),
            scales: Vec::new(),
            entry: NONE,
            max_level: 0,
            live: HashMap::new(),
        })
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn params(&self) -> HnswParams {
        self.params
    }

    /// Live (not deleted) vectors.
    pub fn len(&self) -> usize {
        self.live.len()
    }

    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    /// Stored vectors, tombstones included.
    pub fn slots(&self) -> usize {
        self.ids.len()
    }

    pub fn contains(&self, id: u32) -> bool {
        self.live.contains_key(&id)
    }

    pub fn ef_search(&self) -> usize {
        self.params.ef_search
    }

    pub fn set_ef_search(&mut self, ef: usize) -> Result<(), VectorError> {
        check_ef("ef_search", ef)?;
        self.params.ef_search = ef;
        Ok(())
    }

    fn max_links(&self, level: usize) -> usize {
        if level == 0 {
            2 * self.params.m
        } else {
            self.params.m
        }
    }

    fn random_level(&mut self) -> usize {
        let ml = 1.0 / (self.params.m as f64).ln();
        let u = ((splitmix64(&mut self.rng) >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
        ((-u.ln() * ml) as usize).min(MAX_LEVEL)
    }

    fn vector(&self, slot: u32) -> &[f32] {
        let s = slot as usize * self.dim;
        &self.data[s..s + self.dim]
    }

    #[inline(always)]
    fn sim(&self, walk: &Walk<'_>, slot: u32) -> f32 {
        match walk {
            Walk::F32(q) => dot_fast(q, self.vector(slot)),
            Walk::I8(q, sq) => {
                let s = slot as usize * self.dim;
                (sq * self.scales[slot as usize]) * dot_i8_fast(q, &self.q[s..s + self.dim]) as f32
            }
        }
    }

    /// Similarity of two stored nodes in the walk's representation.
    #[inline(always)]
    fn sim_nodes(&self, a: u32, b: u32) -> f32 {
        match self.params.storage {
            Storage::F32 => dot_fast(self.vector(a), self.vector(b)),
            Storage::Int8 => {
                let (sa, sb) = (a as usize * self.dim, b as usize * self.dim);
                let isum = dot_i8_fast(&self.q[sa..sa + self.dim], &self.q[sb..sb + self.dim]);
                (self.scales[a as usize] * self.scales[b as usize]) * isum as f32
            }
        }
    }

    fn query_walk<'a>(&self, unit: &'a [f32]) -> Walk<'a> {
        match self.params.storage {
            Storage::F32 => Walk::F32(unit),
            Storage::Int8 => {
                let mut q = Vec::with_capacity(self.dim);
                let s = quantize_i8(unit, &mut q);
                Walk::I8(q, s)
            }
        }
    }

    /// Greedy descent on one layer from `cur`.
    fn greedy(&self, walk: &Walk<'_>, mut cur: Cand, level: usize) -> Cand {
        loop {
            let mut changed = false;
            for &n in &self.links[cur.slot as usize][level] {
                let c = Cand {
                    sim: self.sim(walk, n),
                    slot: n,
                };
                if c > cur {
                    cur = c;
                    changed = true;
                }
            }
            if !changed {
                return cur;
            }
        }
    }

    /// Beam search of one layer; returns up to `ef` nodes, best first. With `skip_deleted`,
    /// tombstones are walked through but not returned.
    fn search_layer(
        &self,
        walk: &Walk<'_>,
        entry: &[Cand],
        ef: usize,
        level: usize,
        skip_deleted: bool,
    ) -> Vec<Cand> {
        let mut visited = Visited::new(self.ids.len());
        let cap = ef.min(self.ids.len()) + 1;
        let mut candidates: BinaryHeap<Cand> = BinaryHeap::with_capacity(cap);
        let mut results: BinaryHeap<Worst> = BinaryHeap::with_capacity(cap);
        for &e in entry {
            if visited.mark(e.slot) {
                continue;
            }
            candidates.push(e);
            if !(skip_deleted && self.deleted[e.slot as usize]) {
                results.push(Worst(std::cmp::Reverse(e)));
                if results.len() > ef {
                    results.pop();
                }
            }
        }
        while let Some(c) = candidates.pop() {
            if results.len() >= ef {
                if let Some(Worst(std::cmp::Reverse(worst))) = results.peek() {
                    if c < *worst {
                        break;
                    }
                }
            }
            for &n in &self.links[c.slot as usize][level] {
                if visited.mark(n) {
                    continue;
                }
                let cand = Cand {
                    sim: self.sim(walk, n),
                    slot: n,
                };
                let admit = results.len() < ef
                    || results
                        .peek()
                        .is_some_and(|Worst(std::cmp::Reverse(w))| cand > *w);
                if admit {
                    candidates.push(cand);
                    if !(skip_deleted && self.deleted[n as usize]) {
                        results.push(Worst(std::cmp::Reverse(cand)));
                        if results.len() > ef {
                            results.pop();
                        }
                    }
                }
            }
        }
        let mut out: Vec<Cand> = results.into_iter().map(|Worst(r)| r.0).collect();
        out.sort_unstable_by(|a, b| b.cmp(a));
        out
    }

    /// The paper's neighbour heuristic over `cands` (best first, similarities to the base).
    fn select(&self, cands: &[Cand], m: usize) -> Vec<u32> {
        let mut kept: Vec<u32> = Vec::with_capacity(m);
        for c in cands {
            if kept.len() >= m {
                break;
            }
            if kept.iter().all(|&r| self.sim_nodes(c.slot, r) <= c.sim) {
                kept.push(c.slot);
            }
        }
        kept
    }

    /// Adds one vector under `id` (errors as [`crate::FlatIndex::add`]).
    pub fn add(&mut self, id: u32, vector: &[f32]) -> Result<(), VectorError> {
        self.add_batch(&[id], vector)
    }

    /// Adds vectors one after the other, in order; everything is checked first.
    pub fn add_batch(&mut self, ids: &[u32], data: &[f32]) -> Result<(), VectorError> {
        let unit = check_batch(self.dim, ids, data, |id| self.live.contains_key(&id))?;
        if self.ids.len() + ids.len() >= u32::MAX as usize {
            return Err(VectorError::TooManyVectors);
        }
        for (&id, v) in ids.iter().zip(unit.chunks_exact(self.dim)) {
            self.insert(id, v);
        }
        Ok(())
    }

    fn insert(&mut self, id: u32, unit: &[f32]) {
        let slot = self.ids.len() as u32;
        let level = self.random_level();
        self.ids.push(id);
        self.levels.push(level as u8);
        self.deleted.push(false);
        self.links.push(vec![Vec::new(); level + 1]);
        self.data.extend_from_slice(unit);
        if self.params.storage == Storage::Int8 {
            let s = quantize_i8(unit, &mut self.q);
            self.scales.push(s);
        }
        self.live.insert(id, slot);
        if self.entry == NONE {
            self.entry = slot;
            self.max_level = level;
            return;
        }
        let walk = self.query_walk(unit);
        let mut cur = Cand {
            sim: self.sim(&walk, self.entry),
            slot: self.entry,
        };
        for l in (level + 1..=self.max_level).rev() {
            cur = self.greedy(&walk, cur, l);
        }
        let mut eps = vec![cur];
        for l in (0..=level.min(self.max_level)).rev() {
            let found = self.search_layer(&walk, &eps, self.params.ef_construction, l, false);
            let chosen = self.select(&found, self.params.m);
            for &n in &chosen {
                self.link(n, slot, l);
            }
            self.links[slot as usize][l] = chosen;
            eps = found;
        }
        if level > self.max_level {
            self.entry = slot;
            self.max_level = level;
        }
    }

    /// Adds `new` to `node`'s links at `level`, pruning with the heuristic when over budget.
    fn link(&mut self, node: u32, new: u32, level: usize) {
        let max = self.max_links(level);
        let list = &self.links[node as usize][level];
        if list.len() < max {
            self.links[node as usize][level].push(new);
            return;
        }
        let mut cands: Vec<Cand> = list
            .iter()
            .chain(core::iter::once(&new))
            .map(|&s| Cand {
                sim: self.sim_nodes(node, s),
                slot: s,
            })
            .collect();
        cands.sort_unstable_by(|a, b| b.cmp(a));
        let kept = self.select(&cands, max);
        self.links[node as usize][level] = kept;
    }

    /// Deletes `id` (a tombstone); returns whether it was live.
    pub fn remove(&mut self, id: u32) -> bool {
        match self.live.remove(&id) {
            Some(slot) => {
                self.deleted[slot as usize] = true;
                true
            }
            None => false,
        }
    }

    /// The `k` most similar live vectors as `(id, cosine)`, best first, with the index's
    /// `ef_search`.
    pub fn search(&self, query: &[f32], k: usize) -> Result<Vec<(u32, f32)>, VectorError> {
        self.search_with_ef(query, k, self.params.ef_search)
    }

    /// [`Self::search`] with a given `ef` (`max(ef, k)` candidates are kept).
    pub fn search_with_ef(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
    ) -> Result<Vec<(u32, f32)>, VectorError> {
        check_ef("ef_search", ef)?;
        let unit = normalize(query, self.dim)?;
        if self.entry == NONE || k == 0 || self.live.is_empty() {
            return Ok(Vec::new());
        }
        let walk = self.query_walk(&unit);
        let mut cur = Cand {
            sim: self.sim(&walk, self.entry),
            slot: self.entry,
        };
        for l in (1..=self.max_level).rev() {
            cur = self.greedy(&walk, cur, l);
        }
        let found = self.search_layer(&walk, &[cur], ef.max(k), 0, true);
        let mut top = TopK::new(k, found.len());
        for c in found {
            let score = match self.params.storage {
                Storage::F32 => c.sim,
                Storage::Int8 => dot_fast(&unit, self.vector(c.slot)),
            };
            top.push(self.ids[c.slot as usize], score);
        }
        Ok(top.into_sorted_vec())
    }

    /// The index as a version-1 file (see [`crate::format`]); int8 values are recomputed on
    /// load from the f32 vectors.
    pub fn serialize(&self) -> Vec<u8> {
        let n = self.ids.len();
        let mut w = Writer::new(IndexKind::Hnsw, self.params.storage, self.dim, n);
        w.u32(self.params.m as u32);
        w.u32(self.params.ef_construction as u32);
        w.u32(self.params.ef_search as u32);
        w.u64(self.params.seed);
        w.u64(self.rng);
        w.u32(self.entry);
        w.u32(self.max_level as u32);
        w.u32s(&self.ids);
        for s in 0..n {
            w.u8(self.levels[s]);
            w.u8(u8::from(self.deleted[s]));
        }
        w.f32s(&self.data);
        for node in &self.links {
            for list in node {
                w.u32(list.len() as u32);
                w.u32s(list);
            }
        }
        w.finish()
    }

    /// Loads [`Self::serialize`]'s bytes, checking every field, link and length.
    pub fn load(bytes: &[u8]) -> Result<Self, VectorError> {
        let mut p = format::parse(bytes, IndexKind::Hnsw)?;
        let (dim, count) = (p.dim, p.count);
        let r = &mut p.payload;
        let m = r.u32("m")? as usize;
        let ef_construction = r.u32("ef_construction")? as usize;
        let ef_search = r.u32("ef_search")? as usize;
        let seed = r.u64("seed")?;
        let params = HnswParams {
            m,
            ef_construction,
            ef_search,
            seed,
            storage: p.storage,
        };
        let mut index = HnswIndex::new(dim, params).map_err(|e| corrupt(e.to_string()))?;
        index.rng = r.u64("generator state")?;
        let entry = r.u32("entry point")?;
        let max_level = r.u32("top level")? as usize;
        let ids = r.u32s(count, "ids")?;
        let flags = r.u8s(format::elements(count, 2)?, "levels")?;
        let mut levels = Vec::with_capacity(count);
        let mut deleted = Vec::with_capacity(count);
        for f in flags.chunks_exact(2) {
            if f[0] as usize > MAX_LEVEL || f[0] as usize > max_level {
                return Err(corrupt(format!("node level {} is out of range", f[0])));
            }
            if f[1] > 1 {
                return Err(corrupt("a deleted flag is neither 0 nor 1"));
            }
            levels.push(f[0]);
            deleted.push(f[1] == 1);
        }
        let data = r.f32s(format::elements(count, dim)?, "vectors")?;
        let mut links = Vec::with_capacity(count);
        for &level in &levels {
            let mut node = Vec::with_capacity(level as usize + 1);
            for l in 0..=level as usize {
                let len = r.u32("link count")? as usize;
                if len > index.max_links(l) {
                    return Err(corrupt(format!("a node has {len} links on layer {l}")));
                }
                let list = r.u32s(len, "links")?;
                if let Some(bad) = list.iter().find(|&&s| s as usize >= count) {
                    return Err(corrupt(format!("link to node {bad} of {count}")));
                }
                if list.iter().any(|&s| levels[s as usize] < l as u8) {
                    return Err(corrupt(format!("link to a node below layer {l}")));
                }
                node.push(list);
            }
            links.push(node);
        }
        p.payload.end()?;
        if count == 0 {
            if entry != NONE || max_level != 0 {
                return Err(corrupt("an empty index has an entry point"));
            }
        } else if entry as usize >= count || levels[entry as usize] as usize != max_level {
            return Err(corrupt("the entry point is not a node of the top level"));
        }
        let mut live = HashMap::with_capacity(count);
        for (slot, (&id, &dead)) in ids.iter().zip(&deleted).enumerate() {
            if !dead && live.insert(id, slot as u32).is_some() {
                return Err(corrupt(format!("live id {id} appears twice")));
            }
        }
        if p.storage == Storage::Int8 {
            index.q.reserve(data.len());
            for v in data.chunks_exact(dim) {
                let s = quantize_i8(v, &mut index.q);
                index.scales.push(s);
            }
        }
        index.ids = ids;
        index.levels = levels;
        index.deleted = deleted;
        index.links = links;
        index.data = data;
        index.entry = entry;
        index.max_level = max_level;
        index.live = live;
        Ok(index)
    }
}
