//! PyO3 binding of `gea_vector`'s indexes: translation only, no logic. Used by `build_tools`
//! to build the corpus index; the same core loads the bytes in the browser and the edge worker.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use vector_core::{HnswParams, Storage, VectorError};

fn py_err(e: VectorError) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// Little-endian f32 values from `bytes` (what `array('f').tobytes()` / numpy `<f4` give).
fn f32s(data: &[u8], what: &str) -> PyResult<Vec<f32>> {
    if data.len() % 4 != 0 {
        return Err(PyValueError::new_err(format!(
            "{what} must be float32 little-endian bytes (a multiple of 4), got {} bytes",
            data.len()
        )));
    }
    Ok(data
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

fn storage(int8: bool) -> Storage {
    if int8 {
        Storage::Int8
    } else {
        Storage::F32
    }
}

type Hits = Vec<(u32, f32)>;

/// Searches each `dim`-sized query in `queries`.
fn batch(
    queries: &[f32],
    dim: usize,
    search: impl Fn(&[f32]) -> Result<Hits, VectorError>,
) -> Result<Vec<Hits>, VectorError> {
    if queries.len() % dim != 0 {
        return Err(VectorError::DimensionMismatch {
            expected: dim,
            got: queries.len() % dim,
        });
    }
    queries.chunks_exact(dim).map(search).collect()
}

/// Exact cosine search over f32 or int8 vectors.
#[pyclass(module = "gea_vector")]
struct FlatIndex {
    inner: vector_core::FlatIndex,
}

#[pymethods]
impl FlatIndex {
    #[new]
    #[pyo3(signature = (dim, int8 = false))]
    fn new(dim: usize, int8: bool) -> PyResult<Self> {
        vector_core::FlatIndex::new(dim, storage(int8))
            .map(|inner| Self { inner })
            .map_err(py_err)
    }

    /// Loads `serialize()`'s bytes; ValueError names what is wrong with a bad file.
    #[staticmethod]
    fn load(py: Python<'_>, data: &[u8]) -> PyResult<Self> {
        py.detach(|| vector_core::FlatIndex::load(data))
            .map(|inner| Self { inner })
            .map_err(py_err)
    }

    fn serialize<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &py.detach(|| self.inner.serialize()))
    }

    fn add(&mut self, id: u32, vector: Vec<f32>) -> PyResult<()> {
        self.inner.add(id, &vector).map_err(py_err)
    }

    /// `data`: `len(ids) × dim` float32 little-endian values.
    fn add_batch(&mut self, py: Python<'_>, ids: Vec<u32>, data: &[u8]) -> PyResult<()> {
        let data = f32s(data, "data")?;
        let inner = &mut self.inner;
        py.detach(|| inner.add_batch(&ids, &data)).map_err(py_err)
    }

    fn remove(&mut self, id: u32) -> bool {
        self.inner.remove(id)
    }

    fn search(&self, py: Python<'_>, query: Vec<f32>, k: usize) -> PyResult<Hits> {
        py.detach(|| self.inner.search(&query, k)).map_err(py_err)
    }

    /// `queries`: `n × dim` float32 little-endian values; one result list per query.
    fn search_batch(&self, py: Python<'_>, queries: &[u8], k: usize) -> PyResult<Vec<Hits>> {
        let queries = f32s(queries, "queries")?;
        let dim = self.inner.dim();
        py.detach(|| batch(&queries, dim, |q| self.inner.search(q, k)))
            .map_err(py_err)
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __contains__(&self, id: u32) -> bool {
        self.inner.contains(id)
    }

    #[getter]
    fn dim(&self) -> usize {
        self.inner.dim()
    }

    #[getter]
    fn int8(&self) -> bool {
        self.inner.storage() == Storage::Int8
    }
}

/// Approximate cosine search: an HNSW graph, deterministic for a given seed.
#[pyclass(module = "gea_vector")]
struct HnswIndex {
    inner: vector_core::HnswIndex,
}

#[pymethods]
impl HnswIndex {
    #[new]
    #[pyo3(signature = (dim, m = None, ef_construction = None, ef_search = None, int8 = false, seed = None))]
    fn new(
        dim: usize,
        m: Option<usize>,
        ef_construction: Option<usize>,
        ef_search: Option<usize>,
        int8: bool,
        seed: Option<u64>,
    ) -> PyResult<Self> {
        let d = HnswParams::default();
        let params = HnswParams {
            m: m.unwrap_or(d.m),
            ef_construction: ef_construction.unwrap_or(d.ef_construction),
            ef_search: ef_search.unwrap_or(d.ef_search),
            seed: seed.unwrap_or(d.seed),
            storage: storage(int8),
        };
        vector_core::HnswIndex::new(dim, params)
            .map(|inner| Self { inner })
            .map_err(py_err)
    }

    #[staticmethod]
    fn load(py: Python<'_>, data: &[u8]) -> PyResult<Self> {
        py.detach(|| vector_core::HnswIndex::load(data))
            .map(|inner| Self { inner })
            .map_err(py_err)
    }

    fn serialize<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &py.detach(|| self.inner.serialize()))
    }

    fn add(&mut self, id: u32, vector: Vec<f32>) -> PyResult<()> {
        self.inner.add(id, &vector).map_err(py_err)
    }

    fn add_batch(&mut self, py: Python<'_>, ids: Vec<u32>, data: &[u8]) -> PyResult<()> {
        let data = f32s(data, "data")?;
        let inner = &mut self.inner;
        py.detach(|| inner.add_batch(&ids, &data)).map_err(py_err)
    }

    fn remove(&mut self, id: u32) -> bool {
        self.inner.remove(id)
    }

    #[pyo3(signature = (query, k, ef = None))]
    fn search(
        &self,
        py: Python<'_>,
        query: Vec<f32>,
        k: usize,
        ef: Option<usize>,
    ) -> PyResult<Hits> {
        let ef = ef.unwrap_or(self.inner.ef_search());
        py.detach(|| self.inner.search_with_ef(&query, k, ef))
            .map_err(py_err)
    }

    #[pyo3(signature = (queries, k, ef = None))]
    fn search_batch(
        &self,
        py: Python<'_>,
        queries: &[u8],
        k: usize,
        ef: Option<usize>,
    ) -> PyResult<Vec<Hits>> {
        let queries = f32s(queries, "queries")?;
        let ef = ef.unwrap_or(self.inner.ef_search());
        let dim = self.inner.dim();
        py.detach(|| batch(&queries, dim, |q| self.inner.search_with_ef(q, k, ef)))
            .map_err(py_err)
    }

    fn set_ef_search(&mut self, ef: usize) -> PyResult<()> {
        self.inner.set_ef_search(ef).map_err(py_err)
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __contains__(&self, id: u32) -> bool {
        self.inner.contains(id)
    }

    #[getter]
    fn dim(&self) -> usize {
        self.inner.dim()
    }

    #[getter]
    fn int8(&self) -> bool {
        self.inner.params().storage == Storage::Int8
    }

    #[getter]
    fn m(&self) -> usize {
        self.inner.params().m
    }

    #[getter]
    fn ef_construction(&self) -> usize {
        self.inner.params().ef_construction
    }

    #[getter]
    fn ef_search(&self) -> usize {
        self.inner.ef_search()
    }
}

#[pymodule(name = "gea_vector")]
fn py_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<FlatIndex>()?;
    m.add_class::<HnswIndex>()?;
    m.add("FORMAT_VERSION", vector_core::FORMAT_VERSION)?;
    Ok(())
}
