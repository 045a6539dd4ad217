//! Exact search: every stored vector scored against the query, top-k kept.

use std::collections::HashMap;

use crate::dot::dot_fast;
use crate::dot_i8::dot_i8_fast;
use crate::format::{self, corrupt, IndexKind, Writer};
use crate::topk::TopK;
use crate::vectors::{check_dim, normalize, quantize_i8, Storage};
use crate::VectorError;

/// Exact cosine search over f32 or int8 vectors (L2-normalised on add and on query).
///
/// int8 scores are `scale_q · scale_v · Σ q_i v_i` with the query quantised like the vectors.
/// Results are best first, ties to the lower id. Deleting swaps the last vector into the
/// freed slot, so the stored order is not the insertion order (results do not depend on it).
#[derive(Clone, Debug)]
pub struct FlatIndex {
    dim: usize,
    storage: Storage,
    ids: Vec<u32>,
    /// f32 storage: `len × dim` normalised values.
    data: Vec<f32>,
    /// int8 storage: `len × dim` values and one scale per vector.
    q: Vec<i8>,
    scales: Vec<f32>,
    slots: HashMap<u32, usize>,
}

/// A query prepared for the index's storage.
enum Query {
    F32(Vec<f32>),
    I8(Vec<i8>, f32),
}

impl FlatIndex {
    /// An empty index of `dim` (1 ..= 65536) dimensions.
    pub fn new(dim: usize, storage: Storage) -> Result<Self, VectorError> {
        check_dim(dim)?;
        Ok(FlatIndex {
            dim,
            storage,
            ids: Vec::new(),
            data: Vec::new(),
            q: Vec::new(),
            scales: Vec::new(),
            slots: HashMap::new(),
        })
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn storage(&self) -> Storage {
        self.storage
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn contains(&self, id: u32) -> bool {
        self.slots.contains_key(&id)
    }

    /// Adds one vector under `id`; errors on a duplicate id, a wrong length, NaN/inf or norm 0.
    pub fn add(&mut self, id: u32, vector: &[f32]) -> Result<(), VectorError> {
        self.add_batch(&[id], vector)
    }

    /// Adds `ids.len()` vectors laid out one after the other in `data`. Checks everything
    /// first: on error nothing is added.
    pub fn add_batch(&mut self, ids: &[u32], data: &[f32]) -> Result<(), VectorError> {
        let unit = check_batch(self.dim, ids, data, |id| self.slots.contains_key(&id))?;
        if self.ids.len() + ids.len() >= u32::MAX as usize {
            return Err(VectorError::TooManyVectors);
        }
        for (&id, v) in ids.iter().zip(unit.chunks_exact(self.dim)) {
            self.slots.insert(id, self.ids.len());
            self.ids.push(id);
            match self.storage {
                Storage::F32 => self.data.extend_from_slice(v),
                Storage::Int8 => {
                    let s = quantize_i8(v, &mut self.q);
                    self.scales.push(s);
                }
            }
        }
        Ok(())
    }

    /// Removes `id`; returns whether it was there.
    pub fn remove(&mut self, id: u32) -> bool {
        let Some(slot) = self.slots.remove(&id) else {
            return false;
        };
        let last = self.ids.len() - 1;
        let dim = self.dim;
        self.ids.swap_remove(slot);
        match self.storage {
            Storage::F32 => {
                self.data.copy_within(last * dim.., slot * dim);
                self.data.truncate(last * dim);
            }
            Storage::Int8 => {
                self.q.copy_within(last * dim.., slot * dim);
                self.q.truncate(last * dim);
                self.scales.swap_remove(slot);
            }
        }
        if slot != last {
            self.slots.insert(self.ids[slot], slot);
        }
        true
    }

    fn prepare(&self, query: &[f32]) -> Result<Query, VectorError> {
        let unit = normalize(query, self.dim)?;
        Ok(match self.storage {
            Storage::F32 => Query::F32(unit),
            Storage::Int8 => {
                let mut q = Vec::with_capacity(self.dim);
                let s = quantize_i8(&unit, &mut q);
                Query::I8(q, s)
            }
        })
    }

    /// The `k` most similar vectors as `(id, cosine)`, best first (ties: lower id first).
    pub fn search(&self, query: &[f32], k: usize) -> Result<Vec<(u32, f32)>, VectorError> {
        let query = self.prepare(query)?;
        let mut top = TopK::new(k, self.len());
        match &query {
            Query::F32(q) => {
                for (&id, v) in self.ids.iter().zip(self.data.chunks_exact(self.dim)) {
                    top.push(id, dot_fast(q, v));
                }
            }
            Query::I8(q, sq) => {
                let rows = self.q.chunks_exact(self.dim).zip(&self.scales);
                for (&id, (v, &sv)) in self.ids.iter().zip(rows) {
                    top.push(id, (sq * sv) * dot_i8_fast(q, v) as f32);
                }
            }
        }
        Ok(top.into_sorted_vec())
    }

    /// The index as a version-1 file (see [`crate::format`]).
    pub fn serialize(&self) -> Vec<u8> {
        let mut w = Writer::new(IndexKind::Flat, self.storage, self.dim, self.len());
        w.u32s(&self.ids);
        match self.storage {
            Storage::F32 => w.f32s(&self.data),
            Storage::Int8 => {
                w.f32s(&self.scales);
                w.i8s(&self.q);
            }
        }
        w.finish()
    }

    /// Loads [`Self::serialize`]'s bytes, checking everything.
    pub fn load(bytes: &[u8]) -> Result<Self, VectorError> {
        let mut p = format::parse(bytes, IndexKind::Flat)?;
        let (dim, count) = (p.dim, p.count);
        let ids = p.payload.u32s(count, "ids")?;
        let n = format::elements(count, dim)?;
        let mut index = FlatIndex::new(dim, p.storage)?;
        match p.storage {
            Storage::F32 => index.data = p.payload.f32s(n, "vectors")?,
            Storage::Int8 => {
                index.scales = p.payload.f32s(count, "scales")?;
                index.q = p.payload.i8s(n, "int8 vectors")?;
            }
        }
        p.payload.end()?;
        index.slots.reserve(count);
        for (slot, &id) in ids.iter().enumerate() {
            if index.slots.insert(id, slot).is_some() {
                return Err(corrupt(format!("id {id} appears twice")));
            }
        }
        index.ids = ids;
        Ok(index)
    }
}

/// Checks a batch (lengths, duplicates inside it and against `exists`) and returns its vectors
/// normalised, one after the other.
pub(crate) fn check_batch(
    dim: usize,
    ids: &[u32],
    data: &[f32],
    exists: impl Fn(u32) -> bool,
) -> Result<Vec<f32>, VectorError> {
    if ids.len() == 1 && data.len() != dim {
        return Err(VectorError::DimensionMismatch {
            expected: dim,
            got: data.len(),
        });
    }
    if ids.len().checked_mul(dim) != Some(data.len()) {
        return Err(VectorError::BatchLength {
            ids: ids.len(),
            dim,
            got: data.len(),
        });
    }
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    for &id in ids {
        if exists(id) || !seen.insert(id) {
            return Err(VectorError::DuplicateId { id });
        }
    }
    let mut unit = Vec::with_capacity(data.len());
    for v in data.chunks_exact(dim) {
        unit.extend(normalize(v, dim)?);
    }
    Ok(unit)
}
