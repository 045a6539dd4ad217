use super::BLOCK;

/// What `simd128::dot` does: per 16 values, sign-extend each half to i16x8, `i32x4.dot_i16x8_s`
/// (lane `l` gets `x[2l]·y[2l] + x[2l+1]·y[2l+1]`) for the low and the high half, both added
/// into one i32x4 accumulator; lanes summed, then the tail added sequentially.
pub(super) fn dot(a: &[i8], b: &[i8]) -> i32 {
    let mut acc = [0i32; 4];
    let body = a.len() / BLOCK * BLOCK;
    for (ca, cb) in a[..body]
        .chunks_exact(BLOCK)
        .zip(b[..body].chunks_exact(BLOCK))
    {
        for half in 0..2 {
            for (l, lane) in acc.iter_mut().enumerate() {
                let i = half * 8 + 2 * l;
                *lane += i32::from(ca[i]) * i32::from(cb[i])
                    + i32::from(ca[i + 1]) * i32::from(cb[i + 1]);
            }
        }
    }
    let mut sum = acc[0] + acc[1] + acc[2] + acc[3];
    for (&x, &y) in a[body..].iter().zip(&b[body..]) {
        sum += i32::from(x) * i32::from(y);
    }
    sum
}
