use super::BLOCK;

/// Same operations, in the same order, as `simd128::dot`: lane-wise multiply then add into two
/// 4-lane accumulators, accumulators added lane-wise, lanes reduced as (l0 + l1) + (l2 + l3),
/// then the tail added sequentially.
pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc0 = [0.0f32; 4];
    let mut acc1 = [0.0f32; 4];
    let body = a.len() / BLOCK * BLOCK;
    for (ca, cb) in a[..body]
        .chunks_exact(BLOCK)
        .zip(b[..body].chunks_exact(BLOCK))
    {
        for l in 0..4 {
            acc0[l] += ca[l] * cb[l];
            acc1[l] += ca[4 + l] * cb[4 + l];
        }
    }
    let acc: [f32; 4] = core::array::from_fn(|l| acc0[l] + acc1[l]);
    let mut sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (x, y) in a[body..].iter().zip(&b[body..]) {
        sum += x * y;
    }
    sum
}
