//! Reader of the `GEAWGT01` weights file written by `build_tools/wasm_weights.py`.
//!
//! Layout (little-endian): magic `GEAWGT01`, u32 header length, a UTF-8 JSON header (the model
//! config and a table of tensors `{"name", "kind", "rows", "cols", "block", "q": [offset,
//! nbytes], "scales": [..], "offsets": [..]}`), zero padding to 64 bytes, then the tensors
//! (offsets are from the start of this data section). Kinds: `f32`, `q8`, `q4o`. Every size and
//! offset is checked against the file and the shape; nothing here panics on a bad file.

use crate::config::GemmaConfig;
use crate::gemv::QMatrix;
use crate::json::Json;
use crate::GemmaError;

pub const MAGIC: &[u8; 8] = b"GEAWGT01";
pub const ALIGN: usize = 64;

/// One tensor of the file, decoded into owned arrays.
#[derive(Clone, Debug)]
pub enum Tensor {
    /// Plain float32 `rows × cols` (norm scales: `rows == 1`).
    F32 {
        rows: usize,
        cols: usize,
        data: Vec<f32>,
    },
    /// A `q8` or `q4o` matrix.
    Quant(QMatrix),
}

/// The parsed file: config and tensors in file order.
#[derive(Debug)]
pub struct WeightsFile {
    pub config: GemmaConfig,
    tensors: Vec<(String, Tensor)>,
}

fn header_err(message: impl Into<String>) -> GemmaError {
    GemmaError::Header(message.into())
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

struct Data<'a> {
    bytes: &'a [u8],
}

impl Data<'_> {
    /// The blob `meta[field] = [offset, nbytes]`, which must hold exactly `want` bytes.
    fn blob(&self, meta: &Json, name: &str, field: &str, want: usize) -> Result<&[u8], GemmaError> {
        let pair = meta
            .get(field)
            .and_then(Json::as_array)
            .ok_or_else(|| header_err(format!("tensor {name} lacks {field:?}")))?;
        let (offset, size) = match pair {
            [o, s] => (o.as_usize(), s.as_usize()),
            _ => (None, None),
        };
        let (Some(offset), Some(size)) = (offset, size) else {
            return Err(header_err(format!(
                "tensor {name}.{field} must be [offset, nbytes]"
            )));
        };
        if size != want {
            return Err(GemmaError::Shape(format!(
                "{name}.{field} has {size} bytes, its shape needs {want}"
            )));
        }
        offset
            .checked_add(size)
            .and_then(|end| self.bytes.get(offset..end))
            .ok_or_else(|| GemmaError::Truncated(format!("{name}.{field}")))
    }
}

fn usize_of(meta: &Json, name: &str, key: &str) -> Result<usize, GemmaError> {
    meta.get(key)
        .and_then(Json::as_usize)
        .ok_or_else(|| header_err(format!("tensor {name} lacks an integer {key:?}")))
}

fn tensor(meta: &Json, data: &Data) -> Result<(String, Tensor), GemmaError> {
    let name = meta
        .get("name")
        .and_then(Json::as_str)
        .ok_or_else(|| header_err("a tensor lacks its \"name\""))?
        .to_string();
    let kind = meta
        .get("kind")
        .and_then(Json::as_str)
        .ok_or_else(|| header_err(format!("tensor {name} lacks its \"kind\"")))?;
    let rows = usize_of(meta, &name, "rows")?;
    let cols = usize_of(meta, &name, "cols")?;
    let block = usize_of(meta, &name, "block")?;
    let too_large = || GemmaError::Shape(format!("{name}: {rows} × {cols} is too large"));
    let n = rows.checked_mul(cols).ok_or_else(too_large)?;
    let nbytes = |per: usize| n.checked_mul(per).ok_or_else(too_large);
    if kind != "f32" && (block == 0 || cols % block != 0) {
        return Err(GemmaError::Shape(format!(
            "{name}: cols {cols} is not a multiple of block {block}"
        )));
    }
    // One f32 per block (q8 and q4o only: their block was checked to be non-zero above).
    let scale_bytes = || {
        n.checked_div(block)
            .and_then(|blocks| blocks.checked_mul(4))
            .ok_or_else(too_large)
    };
    let tensor = match kind {
        "f32" => Tensor::F32 {
            rows,
            cols,
            data: f32s(data.blob(meta, &name, "q", nbytes(4)?)?),
        },
        "q8" => {
            let q = data.blob(meta, &name, "q", n)?;
            let scales = f32s(data.blob(meta, &name, "scales", scale_bytes()?)?);
            let q = q.iter().map(|&b| b as i8).collect();
            Tensor::Quant(QMatrix::q8(&name, rows, cols, block, q, scales)?)
        }
        "q4o" => {
            if cols % 2 != 0 {
                return Err(GemmaError::Shape(format!(
                    "{name}: 4-bit cols {cols} is odd"
                )));
            }
            let q = data.blob(meta, &name, "q", n / 2)?.to_vec();
            let scales = f32s(data.blob(meta, &name, "scales", scale_bytes()?)?);
            let offsets = f32s(data.blob(meta, &name, "offsets", scale_bytes()?)?);
            Tensor::Quant(QMatrix::q4o(&name, rows, cols, block, q, scales, offsets)?)
        }
        other => {
            return Err(GemmaError::UnknownKind {
                name,
                kind: other.to_string(),
            })
        }
    };
    Ok((name, tensor))
}

impl WeightsFile {
    /// Parses a whole file held in memory.
    pub fn parse(raw: &[u8]) -> Result<Self, GemmaError> {
        let prefix = raw.len().min(MAGIC.len());
        if raw[..prefix] != MAGIC[..prefix] {
            return Err(GemmaError::BadMagic);
        }
        let Some(len_bytes) = raw.get(8..12) else {
            return Err(GemmaError::Truncated("magic and header length".into()));
        };
        let header_len =
            u32::from_le_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]) as usize;
        let header = raw
            .get(12..12 + header_len)
            .ok_or_else(|| GemmaError::Truncated("header".into()))?;
        let start = (12 + header_len).div_ceil(ALIGN) * ALIGN;
        let data = Data {
            bytes: raw.get(start..).unwrap_or(&[]),
        };
        let doc = Json::parse(header)?;
        match doc.get("format").and_then(Json::as_usize) {
            Some(1) => {}
            _ => return Err(header_err("unsupported or missing \"format\" (expected 1)")),
        }
        let config = GemmaConfig::from_json(
            doc.get("config")
                .ok_or_else(|| header_err("header lacks \"config\""))?,
        )?;
        let tensors = doc
            .get("tensors")
            .and_then(Json::as_array)
            .ok_or_else(|| header_err("header lacks the \"tensors\" array"))?
            .iter()
            .map(|meta| tensor(meta, &data))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(WeightsFile { config, tensors })
    }

    /// Names of the tensors still held, in file order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.iter().map(|(n, _)| n.as_str())
    }

    /// Removes and returns tensor `name`.
    pub fn take(&mut self, name: &str) -> Result<Tensor, GemmaError> {
        let index = self
            .tensors
            .iter()
            .position(|(n, _)| n == name)
            .ok_or_else(|| GemmaError::MissingTensor(name.to_string()))?;
        Ok(self.tensors.swap_remove(index).1)
    }

    /// Removes tensor `name`, which must be a quantized `rows × cols` matrix.
    pub fn take_matrix(
        &mut self,
        name: &str,
        rows: usize,
        cols: usize,
    ) -> Result<QMatrix, GemmaError> {
        match self.take(name)? {
            Tensor::Quant(m) if m.rows() == rows && m.cols() == cols => Ok(m),
            Tensor::Quant(m) => Err(GemmaError::Shape(format!(
                "{name} is {} × {}, the config needs {rows} × {cols}",
                m.rows(),
                m.cols()
            ))),
            Tensor::F32 { .. } => Err(GemmaError::Shape(format!(
                "{name} is f32, a quantized matrix was expected"
            ))),
        }
    }

    /// Removes tensor `name`, which must be an f32 vector of `len` values (a norm scale).
    pub fn take_vector(&mut self, name: &str, len: usize) -> Result<Vec<f32>, GemmaError> {
        match self.take(name)? {
            Tensor::F32 {
                rows: 1,
                cols,
                data,
            } if cols == len => Ok(data),
            _ => Err(GemmaError::Shape(format!(
                "{name} must be an f32 vector of {len} values"
            ))),
        }
    }
}
