//! The binary vocabulary (`.gtok`, written by `build_tools/tokenizer_vocab.py`): parsing with
//! every length and id checked, and a writer for tests and Rust callers.
//!
//! Layout (little-endian u32), version 1: a 64-byte header — magic `GEATOKEN`, version,
//! header size, payload length, payload CRC-32, vocab size, merge count, added-token count,
//! bos, eos, unk, pad (`NO_ID` when absent), flags, 8 reserved bytes — then the payload: piece
//! offsets `[vocab + 1]`, merges `[count × (left, right, result)]` in rank order, added tokens
//! `[count × (id, flags)]`, piece bytes (UTF-8).

use crate::error::{bad, TokenizerError};
use gea_checksum::crc32;

pub const MAGIC: &[u8; 8] = b"GEATOKEN";
pub const VERSION: u32 = 1;
pub const HEADER_LEN: usize = 64;
pub const NO_ID: u32 = u32::MAX;

pub const FLAG_BYTE_FALLBACK: u32 = 1;
pub const FLAG_ADD_BOS: u32 = 2;
pub const FLAG_REPLACE_SPACE: u32 = 4;
const KNOWN_FLAGS: u32 = FLAG_BYTE_FALLBACK | FLAG_ADD_BOS | FLAG_REPLACE_SPACE;
pub const ADDED_SPECIAL: u32 = 1;

/// Everything a `.gtok` file holds, decoded and validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vocabulary {
    /// All pieces' UTF-8, back to back; piece `i` is `blob[offsets[i]..offsets[i + 1]]`.
    blob: String,
    offsets: Vec<u32>,
    /// `(left, right, result)` in rank order (index = rank).
    pub merges: Vec<(u32, u32, u32)>,
    /// `(id, special)`: pieces matched whole in the raw text before normalisation.
    pub added: Vec<(u32, bool)>,
    pub bos: Option<u32>,
    pub eos: Option<u32>,
    pub unk: Option<u32>,
    pub pad: Option<u32>,
    pub byte_fallback: bool,
    pub add_bos: bool,
    pub replace_space: bool,
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn u32s(&mut self, n: usize, what: &str) -> Result<Vec<u32>, TokenizerError> {
        let bytes = n
            .checked_mul(4)
            .and_then(|len| self.data.get(self.pos..self.pos.checked_add(len)?))
            .ok_or_else(|| bad(format!("truncated in the {what} table")))?;
        self.pos += bytes.len();
        Ok(bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }
}

fn opt_id(id: u32, vocab: u32, what: &str) -> Result<Option<u32>, TokenizerError> {
    match id {
        NO_ID => Ok(None),
        i if i < vocab => Ok(Some(i)),
        i => Err(bad(format!(
            "{what} id {i} is outside the vocabulary ({vocab})"
        ))),
    }
}

impl Vocabulary {
    /// Parses and validates a `.gtok` file. Any defect is an error naming it, never a panic.
    pub fn from_bytes(data: &[u8]) -> Result<Self, TokenizerError> {
        if data.len() < HEADER_LEN {
            return Err(bad(format!(
                "{} bytes is shorter than the {HEADER_LEN}-byte header (truncated?)",
                data.len()
            )));
        }
        if &data[..8] != MAGIC {
            return Err(bad(
                "not a Gemma Edge Agent tokenizer file (magic is not GEATOKEN)",
            ));
        }
        let h: Vec<u32> = data[8..56]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let (version, header_len, payload_len, crc) = (h[0], h[1], h[2], h[3]);
        let (vocab, n_merges, n_added) = (h[4], h[5], h[6]);
        if version != VERSION {
            return Err(bad(format!(
                "format version {version}; this build reads version {VERSION} (rebuild the model)"
            )));
        }
        if header_len as usize != HEADER_LEN {
            return Err(bad(format!(
                "header size {header_len}, expected {HEADER_LEN}"
            )));
        }
        let payload = &data[HEADER_LEN..];
        if payload.len() != payload_len as usize {
            return Err(bad(format!(
                "payload is {} bytes, the header says {payload_len} (truncated or padded)",
                payload.len()
            )));
        }
        let actual = crc32(payload);
        if actual != crc {
            return Err(bad(format!(
                "checksum mismatch (CRC-32 {actual:08x}, header says {crc:08x}): the file is corrupt"
            )));
        }
        let flags = h[11];
        if flags & !KNOWN_FLAGS != 0 {
            return Err(bad(format!("unknown flags {flags:#x}")));
        }
        if flags & FLAG_BYTE_FALLBACK == 0 {
            return Err(bad(
                "byte fallback is off; Gemma's tokenizers always use it",
            ));
        }
        if vocab == 0 || vocab == NO_ID {
            return Err(bad(format!("vocabulary size {vocab}")));
        }
        let mut r = Reader {
            data: payload,
            pos: 0,
        };
        let offsets = r.u32s(vocab as usize + 1, "piece offset")?;
        let merges_flat = r.u32s(n_merges as usize * 3, "merge")?;
        let added_flat = r.u32s(n_added as usize * 2, "added token")?;
        let blob = std::str::from_utf8(&payload[r.pos..])
            .map_err(|e| bad(format!("piece bytes are not UTF-8 ({e})")))?;
        if offsets[0] != 0 || *offsets.last().unwrap_or(&0) as usize != blob.len() {
            return Err(bad("piece offsets do not cover the piece bytes"));
        }
        for (i, w) in offsets.windows(2).enumerate() {
            if w[0] > w[1] || !blob.is_char_boundary(w[1] as usize) {
                return Err(bad(format!("piece {i} has bad offsets")));
            }
        }
        let blob = blob.to_owned();
        let in_vocab = |id: u32, what: &str| {
            if id < vocab {
                Ok(id)
            } else {
                Err(bad(format!(
                    "{what} names id {id}, outside the vocabulary ({vocab})"
                )))
            }
        };
        let mut merges = Vec::with_capacity(n_merges as usize);
        for m in merges_flat.chunks_exact(3) {
            merges.push((
                in_vocab(m[0], "a merge")?,
                in_vocab(m[1], "a merge")?,
                in_vocab(m[2], "a merge")?,
            ));
        }
        let mut added = Vec::with_capacity(n_added as usize);
        for a in added_flat.chunks_exact(2) {
            let id = in_vocab(a[0], "an added token")?;
            if offsets[id as usize] == offsets[id as usize + 1] {
                return Err(bad(format!("added token {id} is empty")));
            }
            added.push((id, a[1] & ADDED_SPECIAL != 0));
        }
        Ok(Self {
            blob,
            offsets,
            merges,
            added,
            bos: opt_id(h[7], vocab, "bos")?,
            eos: opt_id(h[8], vocab, "eos")?,
            unk: opt_id(h[9], vocab, "unk")?,
            pad: opt_id(h[10], vocab, "pad")?,
            byte_fallback: true,
            add_bos: flags & FLAG_ADD_BOS != 0,
            replace_space: flags & FLAG_REPLACE_SPACE != 0,
        })
    }

    /// A vocabulary from its parts (tests and Rust callers; `build_tools` writes the file).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        pieces: &[&str],
        merges: Vec<(u32, u32, u32)>,
        added: Vec<(u32, bool)>,
        bos: Option<u32>,
        eos: Option<u32>,
        unk: Option<u32>,
        pad: Option<u32>,
        add_bos: bool,
    ) -> Self {
        let mut offsets = vec![0u32];
        let mut blob = String::new();
        for p in pieces {
            blob.push_str(p);
            offsets.push(blob.len() as u32);
        }
        Self {
            blob,
            offsets,
            merges,
            added,
            bos,
            eos,
            unk,
            pad,
            byte_fallback: true,
            add_bos,
            replace_space: true,
        }
    }

    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Piece `id`'s text (`id < len()`).
    #[inline]
    pub fn piece(&self, id: u32) -> &str {
        let i = id as usize;
        &self.blob[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    /// The `.gtok` bytes of this vocabulary (what `build_tools` writes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut payload = Vec::new();
        let push = |v: u32, out: &mut Vec<u8>| out.extend_from_slice(&v.to_le_bytes());
        for &o in &self.offsets {
            push(o, &mut payload);
        }
        for &(a, b, c) in &self.merges {
            for v in [a, b, c] {
                push(v, &mut payload);
            }
        }
        for &(id, special) in &self.added {
            push(id, &mut payload);
            push(if special { ADDED_SPECIAL } else { 0 }, &mut payload);
        }
        payload.extend_from_slice(self.blob.as_bytes());
        let flags = (if self.byte_fallback {
            FLAG_BYTE_FALLBACK
        } else {
            0
        }) | (if self.add_bos { FLAG_ADD_BOS } else { 0 })
            | (if self.replace_space {
                FLAG_REPLACE_SPACE
            } else {
                0
            });
        let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
        out.extend_from_slice(MAGIC);
        let id = |o: Option<u32>| o.unwrap_or(NO_ID);
        for v in [
            VERSION,
            HEADER_LEN as u32,
            payload.len() as u32,
            crc32(&payload),
            self.len() as u32,
            self.merges.len() as u32,
            self.added.len() as u32,
            id(self.bos),
            id(self.eos),
            id(self.unk),
            id(self.pad),
            flags,
        ] {
            push(v, &mut out);
        }
        out.resize(HEADER_LEN, 0);
        out.extend_from_slice(&payload);
        out
    }
}
