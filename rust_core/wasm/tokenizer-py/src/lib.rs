//! PyO3 binding of `gea_tokenizer`: translation only, no logic. Used by `build_tools` and the
//! native agent; the same core runs in the browser and the edge worker as wasm.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use tokenizer_core::{EncodeOptions, TokenizerError};

fn py_err(e: TokenizerError) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// Gemma's tokenizer, loaded from a `.gtok` vocabulary file.
#[pyclass(frozen, module = "gea_tokenizer")]
struct Tokenizer {
    inner: tokenizer_core::Tokenizer,
}

#[pymethods]
impl Tokenizer {
    /// Parses a `.gtok` file's bytes; ValueError names what is wrong with a bad file.
    #[staticmethod]
    fn from_bytes(data: &[u8]) -> PyResult<Self> {
        tokenizer_core::Tokenizer::from_bytes(data)
            .map(|inner| Self { inner })
            .map_err(py_err)
    }

    /// Token ids of `text`; `allow_special` reads `<end_of_turn>`… as control tokens.
    #[pyo3(signature = (text, add_bos = true, allow_special = false))]
    fn encode(&self, py: Python<'_>, text: &str, add_bos: bool, allow_special: bool) -> Vec<u32> {
        let opts = EncodeOptions {
            add_bos,
            allow_special,
        };
        py.detach(|| self.inner.encode(text, opts))
    }

    /// `encode` of each text.
    #[pyo3(signature = (texts, add_bos = true, allow_special = false))]
    fn encode_batch(
        &self,
        py: Python<'_>,
        texts: Vec<String>,
        add_bos: bool,
        allow_special: bool,
    ) -> Vec<Vec<u32>> {
        let opts = EncodeOptions {
            add_bos,
            allow_special,
        };
        py.detach(|| texts.iter().map(|t| self.inner.encode(t, opts)).collect())
    }

    /// How many ids `encode` would give.
    #[pyo3(signature = (text, add_bos = true, allow_special = false))]
    fn count(&self, py: Python<'_>, text: &str, add_bos: bool, allow_special: bool) -> usize {
        let opts = EncodeOptions {
            add_bos,
            allow_special,
        };
        py.detach(|| self.inner.count(text, opts))
    }

    /// Text of `ids`; ValueError on an id outside the vocabulary.
    #[pyo3(signature = (ids, skip_special = false))]
    fn decode(&self, ids: Vec<u32>, skip_special: bool) -> PyResult<String> {
        self.inner.decode(&ids, skip_special).map_err(py_err)
    }

    fn id_to_token(&self, id: u32) -> Option<&str> {
        self.inner.id_to_token(id)
    }

    fn added_token_id(&self, content: &str) -> Option<u32> {
        self.inner.added_token_id(content)
    }

    fn is_special(&self, id: u32) -> bool {
        self.inner.is_special(id)
    }

    #[getter]
    fn vocab_size(&self) -> u32 {
        self.inner.vocab_size()
    }

    #[getter]
    fn bos_id(&self) -> Option<u32> {
        self.inner.bos_id()
    }

    #[getter]
    fn eos_id(&self) -> Option<u32> {
        self.inner.eos_id()
    }

    #[getter]
    fn pad_id(&self) -> Option<u32> {
        self.inner.pad_id()
    }
}

/// Streaming decode: `push(id)` returns the text that id completes; `finish()` the rest.
#[pyclass(module = "gea_tokenizer")]
struct StreamDecoder {
    tokenizer: Py<Tokenizer>,
    inner: tokenizer_core::StreamDecoder,
}

#[pymethods]
impl StreamDecoder {
    #[new]
    #[pyo3(signature = (tokenizer, skip_special = false))]
    fn new(tokenizer: Py<Tokenizer>, skip_special: bool) -> Self {
        Self {
            tokenizer,
            inner: tokenizer_core::StreamDecoder::new(skip_special),
        }
    }

    fn push(&mut self, py: Python<'_>, id: u32) -> PyResult<String> {
        let tok = self.tokenizer.bind(py).get();
        self.inner.push(&tok.inner, id).map_err(py_err)
    }

    fn finish(&mut self) -> String {
        self.inner.finish()
    }
}

#[pymodule(name = "gea_tokenizer")]
fn py_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Tokenizer>()?;
    m.add_class::<StreamDecoder>()?;
    m.add("FORMAT_VERSION", tokenizer_core::VERSION)?;
    Ok(())
}
