//! The index file format, shared by [`crate::FlatIndex`] and [`crate::HnswIndex`]; the same
//! bytes load in Rust, in wasm and in Python (all three run this code).
//!
//! Layout (little-endian), version 1:
//!
//! ```text
//! 0   magic        8 bytes  "GEAVINDX"
//! 8   version      u32      1
//! 12  kind         u8       1 = flat, 2 = HNSW
//! 13  storage      u8       0 = f32, 1 = int8
//! 14  reserved     u16      0
//! 16  dim          u32
//! 20  count        u32      stored vectors (HNSW: tombstones included)
//! 24  payload_len  u64
//! 32  payload      payload_len bytes (the kind's parameters and data)
//! ..  crc32        u32      CRC-32 (zlib's) of every byte before it
//! ```
//!
//! Loading checks, in order: magic, version, length, checksum, then every field and length of
//! the payload, so a truncated, corrupt or version-mismatched file is an error naming the
//! problem, never a panic or an index that answers garbage.

use gea_checksum::crc32;

use crate::vectors::{check_dim, Storage};
use crate::VectorError;

pub const MAGIC: &[u8; 8] = b"GEAVINDX";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
pub(crate) const HEADER_LEN: usize = 32;
const CRC_LEN: usize = 4;

/// Which index a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexKind {
    Flat,
    Hnsw,
}

impl IndexKind {
    fn code(self) -> u8 {
        match self {
            IndexKind::Flat => 1,
            IndexKind::Hnsw => 2,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            IndexKind::Flat => "flat",
            IndexKind::Hnsw => "HNSW",
        }
    }
}

pub(crate) fn corrupt(what: impl Into<String>) -> VectorError {
    VectorError::Corrupt { what: what.into() }
}

/// Builds a file: header, payload, checksum.
pub(crate) struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub fn new(kind: IndexKind, storage: Storage, dim: usize, count: usize) -> Self {
        let mut buf = Vec::with_capacity(HEADER_LEN + 64 + count * (dim + 8));
        buf.extend_from_slice(MAGIC);
        buf.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        buf.push(kind.code());
        buf.push(storage.code());
        buf.extend_from_slice(&0u16.to_le_bytes());
        // dim ≤ MAX_I8_DIM and count < u32::MAX are invariants of the indexes.
        buf.extend_from_slice(&(dim as u32).to_le_bytes());
        buf.extend_from_slice(&(count as u32).to_le_bytes());
        buf.extend_from_slice(&0u64.to_le_bytes()); // payload_len, patched in finish()
        Writer { buf }
    }

    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn u32s(&mut self, v: &[u32]) {
        self.buf.reserve(4 * v.len());
        v.iter().for_each(|x| self.u32(*x));
    }

    pub fn f32s(&mut self, v: &[f32]) {
        self.buf.reserve(4 * v.len());
        v.iter()
            .for_each(|x| self.buf.extend_from_slice(&x.to_le_bytes()));
    }

    pub fn i8s(&mut self, v: &[i8]) {
        self.buf.extend(v.iter().map(|&x| x as u8));
    }

    pub fn finish(mut self) -> Vec<u8> {
        let payload_len = (self.buf.len() - HEADER_LEN) as u64;
        self.buf[24..32].copy_from_slice(&payload_len.to_le_bytes());
        let crc = crc32(&self.buf);
        self.buf.extend_from_slice(&crc.to_le_bytes());
        self.buf
    }
}

/// The checked header of a file and a reader over its payload.
pub(crate) struct Parsed<'a> {
    pub storage: Storage,
    pub dim: usize,
    pub count: usize,
    pub payload: Reader<'a>,
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Checks magic, version, length, checksum, kind, storage and dimension.
pub(crate) fn parse(bytes: &[u8], expected: IndexKind) -> Result<Parsed<'_>, VectorError> {
    let prefix = bytes.len().min(MAGIC.len());
    if bytes[..prefix] != MAGIC[..prefix] {
        return Err(VectorError::BadMagic);
    }
    if bytes.len() < HEADER_LEN + CRC_LEN {
        return Err(VectorError::Truncated {
            needed: HEADER_LEN + CRC_LEN,
            got: bytes.len(),
        });
    }
    let version = le_u32(bytes, 8);
    if version != FORMAT_VERSION {
        return Err(VectorError::UnsupportedVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let mut len8 = [0u8; 8];
    len8.copy_from_slice(&bytes[24..32]);
    let payload_len = u64::from_le_bytes(len8);
    let total = usize::try_from(payload_len)
        .ok()
        .and_then(|p| p.checked_add(HEADER_LEN + CRC_LEN));
    match total {
        Some(total) if total == bytes.len() => {}
        Some(total) if total > bytes.len() => {
            return Err(VectorError::Truncated {
                needed: total,
                got: bytes.len(),
            })
        }
        Some(total) => {
            return Err(corrupt(format!(
                "{} bytes after the end of the index (the header says {total} bytes)",
                bytes.len() - total
            )))
        }
        None => {
            return Err(VectorError::Truncated {
                needed: usize::MAX,
                got: bytes.len(),
            })
        }
    }
    let body = bytes.len() - CRC_LEN;
    let stored = le_u32(bytes, body);
    let computed = crc32(&bytes[..body]);
    if stored != computed {
        return Err(VectorError::ChecksumMismatch { stored, computed });
    }
    let found = match bytes[12] {
        1 => IndexKind::Flat,
        2 => IndexKind::Hnsw,
        other => return Err(corrupt(format!("unknown index kind {other}"))),
    };
    if found != expected {
        return Err(VectorError::WrongKind {
            expected: expected.name(),
            found: found.name(),
        });
    }
    let storage = Storage::from_code(bytes[13])
        .ok_or_else(|| corrupt(format!("unknown storage {}", bytes[13])))?;
    if bytes[14] != 0 || bytes[15] != 0 {
        return Err(corrupt("reserved header bytes are not 0"));
    }
    let dim = le_u32(bytes, 16) as usize;
    check_dim(dim).map_err(|e| corrupt(e.to_string()))?;
    let count = le_u32(bytes, 20) as usize;
    if count == u32::MAX as usize {
        return Err(corrupt("vector count u32::MAX is reserved"));
    }
    Ok(Parsed {
        storage,
        dim,
        count,
        payload: Reader {
            rest: &bytes[HEADER_LEN..body],
        },
    })
}

/// Bounds-checked reads of the payload.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], VectorError> {
        if n > self.rest.len() {
            return Err(corrupt(format!(
                "{what} needs {n} bytes, only {} are left in the payload",
                self.rest.len()
            )));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn bytes_for(n: usize, size: usize, what: &str) -> Result<usize, VectorError> {
        n.checked_mul(size)
            .ok_or_else(|| corrupt(format!("{what} is too large")))
    }

    pub fn u32(&mut self, what: &str) -> Result<u32, VectorError> {
        Ok(le_u32(self.take(4, what)?, 0))
    }

    pub fn u64(&mut self, what: &str) -> Result<u64, VectorError> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8, what)?);
        Ok(u64::from_le_bytes(b))
    }

    pub fn u32s(&mut self, n: usize, what: &str) -> Result<Vec<u32>, VectorError> {
        let raw = self.take(Self::bytes_for(n, 4, what)?, what)?;
        Ok(raw.chunks_exact(4).map(|c| le_u32(c, 0)).collect())
    }

    pub fn u8s(&mut self, n: usize, what: &str) -> Result<&'a [u8], VectorError> {
        self.take(n, what)
    }

    /// `n` f32 values, each finite.
    pub fn f32s(&mut self, n: usize, what: &str) -> Result<Vec<f32>, VectorError> {
        let raw = self.take(Self::bytes_for(n, 4, what)?, what)?;
        let v: Vec<f32> = raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(corrupt(format!("{what}: value {i} is NaN or infinite")));
        }
        Ok(v)
    }

    pub fn i8s(&mut self, n: usize, what: &str) -> Result<Vec<i8>, VectorError> {
        Ok(self.take(n, what)?.iter().map(|&b| b as i8).collect())
    }

    /// Errors unless every payload byte was read.
    pub fn end(self) -> Result<(), VectorError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(corrupt(format!(
                "{} unread bytes at the end of the payload",
                self.rest.len()
            )))
        }
    }
}

/// `count × dim`, checked.
pub(crate) fn elements(count: usize, dim: usize) -> Result<usize, VectorError> {
    count
        .checked_mul(dim)
        .ok_or_else(|| corrupt("count × dim overflows"))
}
