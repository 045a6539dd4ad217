//! Portable emulation of `simd128`, bit-identical to it: the same f32 operations in the same
//! order (see the module docs of `gemv`).

use super::{Q4oView, Q8View, CHUNK, TILE};

/// One chunk of 16 values into the four lanes: `t[l] = (v0·x0 + v1·x1) + (v2·x2 + v3·x3)`
/// with `vk = values[4k + l]`, then `inner[l] += t[l]`.
#[inline(always)]
fn chunk(values: &[f32; CHUNK], x: &[f32], inner: &mut [f32; 4]) {
    for (l, lane) in inner.iter_mut().enumerate() {
        let p = |k: usize| values[4 * k + l] * x[4 * k + l];
        *lane += (p(0) + p(1)) + (p(2) + p(3));
    }
}

#[inline(always)]
fn reduce(acc: [f32; 4]) -> f32 {
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

pub(super) fn q8(m: &Q8View, x: &[f32], out: &mut [f32]) {
    let nb = m.cols / m.block;
    for (r, o) in out.iter_mut().enumerate() {
        let w = &m.q[r * m.cols..][..m.cols];
        let d = &m.scales[r * nb..][..nb];
        let mut acc = [0.0f32; 4];
        for (b, (wb, xb)) in w
            .chunks_exact(m.block)
            .zip(x.chunks_exact(m.block))
            .enumerate()
        {
            let mut inner = [0.0f32; 4];
            for (wc, xc) in wb.chunks_exact(CHUNK).zip(xb.chunks_exact(CHUNK)) {
                let values: [f32; CHUNK] = core::array::from_fn(|j| f32::from(wc[j]));
                chunk(&values, xc, &mut inner);
            }
            for (a, i) in acc.iter_mut().zip(inner) {
                *a += d[b] * i;
            }
        }
        *o = reduce(acc);
    }
}

pub(super) fn q4o(m: &Q4oView, x: &[f32], out: &mut [f32], xsum: &[f32]) {
    let nb = m.cols / m.block;
    for (r, o) in out.iter_mut().enumerate() {
        let packed = &m.q[r * m.cols / 2..][..m.cols / 2];
        let (s, offs) = (&m.scales[r * nb..][..nb], &m.offsets[r * nb..][..nb]);
        let mut acc = [0.0f32; 4];
        let mut off = 0.0f32;
        for (b, (pb, xb)) in packed
            .chunks_exact(m.block / 2)
            .zip(x.chunks_exact(m.block))
            .enumerate()
        {
            let mut inner = [0.0f32; 4];
            for (pc, xc) in pb.chunks_exact(CHUNK / 2).zip(xb.chunks_exact(CHUNK)) {
                let values: [f32; CHUNK] = core::array::from_fn(|j| {
                    let byte = pc[j / 2];
                    f32::from(if j % 2 == 0 { byte & 15 } else { byte >> 4 })
                });
                chunk(&values, xc, &mut inner);
            }
            for (a, i) in acc.iter_mut().zip(inner) {
                *a += s[b] * i;
            }
            off += offs[b] * xsum[b];
        }
        *o = reduce(acc) - off;
    }
}

/// The GEMM: per row, tiles of [`TILE`] activations (`x[t]` at `t · cols`), each chunk's
/// values computed once per tile; every (row, activation) sum is [`q8`]'s.
pub(super) fn q8_gemm(m: &Q8View, n: usize, x: &[f32], out: &mut [f32]) {
    let nb = m.cols / m.block;
    for r in 0..m.rows {
        let w = &m.q[r * m.cols..][..m.cols];
        let d = &m.scales[r * nb..][..nb];
        for t0 in (0..n).step_by(TILE) {
            let tile = TILE.min(n - t0);
            let mut acc = [[0.0f32; 4]; TILE];
            for (b, &db) in d.iter().enumerate() {
                let mut inner = [[0.0f32; 4]; TILE];
                for c in 0..m.block / CHUNK {
                    let j = b * m.block + c * CHUNK;
                    let values: [f32; CHUNK] = core::array::from_fn(|i| f32::from(w[j + i]));
                    for (t, lanes) in inner[..tile].iter_mut().enumerate() {
                        chunk(&values, &x[(t0 + t) * m.cols + j..][..CHUNK], lanes);
                    }
                }
                for (a, i) in acc.iter_mut().zip(inner) {
                    for (a, i) in a.iter_mut().zip(i) {
                        *a += db * i;
                    }
                }
            }
            for (t, &a) in acc[..tile].iter().enumerate() {
                out[(t0 + t) * m.rows + r] = reduce(a);
            }
        }
    }
}

/// The q4o GEMM, as [`q8_gemm`]; `xsum` holds each activation's block sums (`t · nb + b`).
pub(super) fn q4o_gemm(m: &Q4oView, n: usize, x: &[f32], out: &mut [f32], xsum: &[f32]) {
    let nb = m.cols / m.block;
    for r in 0..m.rows {
        let packed = &m.q[r * m.cols / 2..][..m.cols / 2];
        let (s, offs) = (&m.scales[r * nb..][..nb], &m.offsets[r * nb..][..nb]);
        for t0 in (0..n).step_by(TILE) {
            let tile = TILE.min(n - t0);
            let mut acc = [[0.0f32; 4]; TILE];
            let mut off = [0.0f32; TILE];
            for b in 0..nb {
                let mut inner = [[0.0f32; 4]; TILE];
                for c in 0..m.block / CHUNK {
                    let j = b * m.block + c * CHUNK;
                    let values: [f32; CHUNK] = core::array::from_fn(|i| {
                        let byte = packed[(j + i) / 2];
                        f32::from(if i % 2 == 0 { byte & 15 } else { byte >> 4 })
                    });
                    for (t, lanes) in inner[..tile].iter_mut().enumerate() {
                        chunk(&values, &x[(t0 + t) * m.cols + j..][..CHUNK], lanes);
                    }
                }
                for (a, i) in acc.iter_mut().zip(inner) {
                    for (a, i) in a.iter_mut().zip(i) {
                        *a += s[b] * i;
                    }
                }
                for (t, o) in off[..tile].iter_mut().enumerate() {
                    *o += offs[b] * xsum[(t0 + t) * nb + b];
                }
            }
            for t in 0..tile {
                out[(t0 + t) * m.rows + r] = reduce(acc[t]) - off[t];
            }
        }
    }
}
