//! FlatIndex and HnswIndex: recall against exact search, deletes, the file format.

use std::sync::OnceLock;
use std::time::Instant;

use crate::*;

/// splitmix64 + Box–Muller: deterministic data without a dependency.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn gauss(&mut self) -> f32 {
        let (u, v) = (self.uniform(), self.uniform());
        ((-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()) as f32
    }
}

const DIM: usize = 384;
const N: usize = 5000;
const QUERIES: usize = 200;
const K: usize = 10;

/// `n` points like sentence embeddings of a corpus with topics: one of 50 random centres, plus
/// a 32-dimensional latent direction (a shared random 384 × 32 map, σ 1), plus small isotropic
/// noise (σ 0.3): clustered, with a low intrinsic dimension inside each cluster.
fn clustered(n: usize, seed: u64) -> Vec<f32> {
    const LATENT: usize = 32;
    let mut shared = Rng(42);
    let centres: Vec<f32> = (0..50 * DIM).map(|_| shared.gauss()).collect();
    let map: Vec<f32> = (0..DIM * LATENT)
        .map(|_| shared.gauss() / (LATENT as f32).sqrt() * 3.0)
        .collect();
    let mut rng = Rng(seed);
    let mut out = Vec::with_capacity(n * DIM);
    for _ in 0..n {
        let c = (rng.next_u64() % 50) as usize;
        let z: Vec<f32> = (0..LATENT).map(|_| rng.gauss()).collect();
        for j in 0..DIM {
            let latent: f32 = (0..LATENT).map(|t| map[j * LATENT + t] * z[t]).sum();
            out.push(centres[c * DIM + j] + latent + 0.3 * rng.gauss());
        }
    }
    out
}

struct Data {
    base: Vec<f32>,
    queries: Vec<f32>,
    exact: Vec<Vec<u32>>,
}

fn data() -> &'static Data {
    static DATA: OnceLock<Data> = OnceLock::new();
    DATA.get_or_init(|| {
        let base = clustered(N, 1);
        let queries = clustered(QUERIES, 2);
        let mut flat = FlatIndex::new(DIM, Storage::F32).unwrap();
        let ids: Vec<u32> = (0..N as u32).map(|i| i * 3 + 7).collect();
        flat.add_batch(&ids, &base).unwrap();
        let exact = queries
            .chunks_exact(DIM)
            .map(|q| flat.search(q, K).unwrap().iter().map(|h| h.0).collect())
            .collect();
        Data {
            base,
            queries,
            exact,
        }
    })
}

fn ids() -> Vec<u32> {
    (0..N as u32).map(|i| i * 3 + 7).collect()
}

fn recall(got: &[Vec<(u32, f32)>], exact: &[Vec<u32>]) -> f64 {
    let hits: usize = got
        .iter()
        .zip(exact)
        .map(|(g, e)| g.iter().filter(|h| e.contains(&h.0)).count())
        .sum();
    hits as f64 / (exact.len() * K) as f64
}

fn search_all(
    search: impl Fn(&[f32]) -> Result<Vec<(u32, f32)>, VectorError>,
) -> (Vec<Vec<(u32, f32)>>, f64) {
    let start = Instant::now();
    let got: Vec<_> = data()
        .queries
        .chunks_exact(DIM)
        .map(|q| search(q).unwrap())
        .collect();
    let qps = QUERIES as f64 / start.elapsed().as_secs_f64();
    (got, qps)
}

fn hnsw(storage: Storage) -> &'static HnswIndex {
    static F32: OnceLock<HnswIndex> = OnceLock::new();
    static I8: OnceLock<HnswIndex> = OnceLock::new();
    let cell = if storage == Storage::F32 { &F32 } else { &I8 };
    cell.get_or_init(|| {
        let start = Instant::now();
        let mut index = HnswIndex::new(
            DIM,
            HnswParams {
                storage,
                ..HnswParams::default()
            },
        )
        .unwrap();
        index.add_batch(&ids(), &data().base).unwrap();
        eprintln!(
            "HNSW {storage:?}: built {N} × {DIM} in {:.2} s",
            start.elapsed().as_secs_f64()
        );
        index
    })
}

#[test]
fn flat_f32_matches_a_brute_force_reference() {
    let d = data();
    let mut flat = FlatIndex::new(DIM, Storage::F32).unwrap();
    flat.add_batch(&ids(), &d.base).unwrap();
    let (got, qps) = search_all(|q| flat.search(q, K));
    eprintln!("flat f32: {qps:.0} QPS over {N} × {DIM}");
    for (q, hits) in d.queries.chunks_exact(DIM).zip(&got) {
        let qn = normalize(q, DIM).unwrap();
        for &(id, score) in hits {
            let i = ((id - 7) / 3) as usize;
            let v = normalize(&d.base[i * DIM..(i + 1) * DIM], DIM).unwrap();
            let want: f64 = qn.iter().zip(&v).map(|(a, b)| f64::from(*a * *b)).sum();
            assert!((f64::from(score) - want).abs() < 1e-5, "{score} vs {want}");
        }
        for w in hits.windows(2) {
            assert!(w[0].1 >= w[1].1);
        }
    }
}

#[test]
fn flat_int8_recall_and_scores() {
    let d = data();
    let mut flat = FlatIndex::new(DIM, Storage::Int8).unwrap();
    flat.add_batch(&ids(), &d.base).unwrap();
    let (got, qps) = search_all(|q| flat.search(q, K));
    let r = recall(&got, &d.exact);
    eprintln!("flat int8: recall@10 {r:.4}, {qps:.0} QPS");
    assert!(r >= 0.9, "flat int8 recall@10 {r}");
}

#[test]
fn hnsw_f32_recall_at_default_ef_search() {
    let index = hnsw(Storage::F32);
    let (got, qps) = search_all(|q| index.search(q, K));
    let r = recall(&got, &data().exact);
    eprintln!(
        "HNSW f32 (ef_search {}): recall@10 {r:.4}, {qps:.0} QPS",
        index.ef_search()
    );
    assert!(r >= 0.95, "HNSW recall@10 {r}");
}

#[test]
fn hnsw_int8_with_f32_rescoring_recall() {
    let index = hnsw(Storage::Int8);
    let (got, qps) = search_all(|q| index.search(q, K));
    let r = recall(&got, &data().exact);
    eprintln!("HNSW int8 + rescoring: recall@10 {r:.4}, {qps:.0} QPS");
    assert!(r >= 0.95, "HNSW int8 recall@10 {r}");
    // Rescored: the scores are the exact f32 cosines.
    let flat = {
        let mut f = FlatIndex::new(DIM, Storage::F32).unwrap();
        f.add_batch(&ids(), &data().base).unwrap();
        f
    };
    let q = &data().queries[..DIM];
    let exact = flat.search(q, N).unwrap();
    for (id, score) in index.search(q, K).unwrap() {
        let want = exact.iter().find(|h| h.0 == id).unwrap().1;
        assert_eq!(score.to_bits(), want.to_bits());
    }
}

#[test]
fn deleted_ids_are_never_returned() {
    let d = data();
    let mut index = hnsw(Storage::F32).clone();
    let mut flat = FlatIndex::new(DIM, Storage::F32).unwrap();
    flat.add_batch(&ids(), &d.base).unwrap();
    // Delete every query's exact top 5 and one vector in three.
    let mut gone = std::collections::HashSet::new();
    for e in &d.exact {
        gone.extend(e[..5].iter().copied());
    }
    gone.extend(ids().into_iter().step_by(3));
    let mut gone: Vec<u32> = gone.into_iter().collect();
    gone.sort_unstable();
    for &id in &gone {
        assert!(index.remove(id));
        assert!(flat.remove(id));
        assert!(!index.remove(id));
    }
    assert_eq!(index.len(), N - gone.len());
    assert_eq!(flat.len(), N - gone.len());
    let exact: Vec<Vec<u32>> = d
        .queries
        .chunks_exact(DIM)
        .map(|q| flat.search(q, K).unwrap().iter().map(|h| h.0).collect())
        .collect();
    let (got, _) = search_all(|q| index.search(q, K));
    for hits in &got {
        assert_eq!(hits.len(), K);
        assert!(hits.iter().all(|h| gone.binary_search(&h.0).is_err()));
    }
    let r = recall(&got, &exact);
    assert!(r >= 0.9, "recall@10 after deletes {r}");
    // k larger than what is left returns every live vector.
    let mut small = HnswIndex::new(4, HnswParams::default()).unwrap();
    for i in 0..10u32 {
        small.add(i, &[1.0, i as f32, 0.5, -1.0]).unwrap();
    }
    for i in 0..10u32 {
        if i % 2 == 0 {
            small.remove(i);
        }
    }
    let all = small.search(&[1.0, 2.0, 0.5, -1.0], 100).unwrap();
    let mut got: Vec<u32> = all.iter().map(|h| h.0).collect();
    got.sort_unstable();
    assert_eq!(got, [1, 3, 5, 7, 9]);
    // A deleted id can be added again.
    small.add(0, &[1.0, 0.0, 0.0, 0.0]).unwrap();
    assert_eq!(small.search(&[1.0, 0.0, 0.0, 0.0], 1).unwrap()[0].0, 0);
}

fn same_hits(a: &[(u32, f32)], b: &[(u32, f32)]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.0 == y.0 && x.1.to_bits() == y.1.to_bits())
}

#[test]
fn round_trips_give_identical_results_and_bytes() {
    let d = data();
    for storage in [Storage::F32, Storage::Int8] {
        let index = hnsw(storage);
        let bytes = index.serialize();
        let back = HnswIndex::load(&bytes).unwrap();
        assert_eq!(back.serialize(), bytes);
        assert_eq!(back.len(), index.len());
        assert_eq!(back.params(), index.params());
        for q in d.queries.chunks_exact(DIM).take(50) {
            assert!(same_hits(
                &index.search(q, K).unwrap(),
                &back.search(q, K).unwrap()
            ));
        }
        let mut flat = FlatIndex::new(DIM, storage).unwrap();
        flat.add_batch(&ids()[..500], &d.base[..500 * DIM]).unwrap();
        flat.remove(ids()[3]);
        let bytes = flat.serialize();
        let back = FlatIndex::load(&bytes).unwrap();
        assert_eq!(back.serialize(), bytes);
        for q in d.queries.chunks_exact(DIM).take(50) {
            assert!(same_hits(
                &flat.search(q, K).unwrap(),
                &back.search(q, K).unwrap()
            ));
        }
    }
}

#[test]
fn builds_are_deterministic_and_continue_after_load() {
    let d = data();
    let params = HnswParams {
        seed: 99,
        ..HnswParams::default()
    };
    let build = |n: usize| {
        let mut h = HnswIndex::new(DIM, params).unwrap();
        h.add_batch(&ids()[..n], &d.base[..n * DIM]).unwrap();
        h
    };
    let full = build(300);
    assert_eq!(full.serialize(), build(300).serialize());
    let mut resumed = HnswIndex::load(&build(200).serialize()).unwrap();
    resumed
        .add_batch(&ids()[200..300], &d.base[200 * DIM..300 * DIM])
        .unwrap();
    assert_eq!(resumed.serialize(), full.serialize());
    let other = HnswIndex::new(
        DIM,
        HnswParams {
            seed: 100,
            ..params
        },
    )
    .unwrap();
    assert_ne!(
        other.serialize(),
        HnswIndex::new(DIM, params).unwrap().serialize()
    );
}

fn small_files() -> Vec<(&'static str, Vec<u8>)> {
    let mut rng = Rng(5);
    let data: Vec<f32> = (0..40 * 8).map(|_| rng.gauss()).collect();
    let ids: Vec<u32> = (100..140).collect();
    let mut out = Vec::new();
    for storage in [Storage::F32, Storage::Int8] {
        let mut h = HnswIndex::new(
            8,
            HnswParams {
                m: 4,
                storage,
                ..HnswParams::default()
            },
        )
        .unwrap();
        h.add_batch(&ids, &data).unwrap();
        h.remove(105);
        out.push(("hnsw", h.serialize()));
        let mut f = FlatIndex::new(8, storage).unwrap();
        f.add_batch(&ids, &data).unwrap();
        out.push(("flat", f.serialize()));
    }
    out
}

fn load(kind: &str, bytes: &[u8]) -> Result<(), VectorError> {
    if kind == "hnsw" {
        HnswIndex::load(bytes).map(|_| ())
    } else {
        FlatIndex::load(bytes).map(|_| ())
    }
}

#[test]
fn every_truncation_and_every_flipped_byte_is_an_error() {
    for (kind, bytes) in small_files() {
        load(kind, &bytes).unwrap();
        for len in 0..bytes.len() {
            let err = load(kind, &bytes[..len]).unwrap_err();
            assert!(
                matches!(err, VectorError::Truncated { .. } | VectorError::BadMagic),
                "{kind} cut to {len}: {err}"
            );
            if len >= 8 {
                assert!(err.to_string().contains("truncated"), "{err}");
            }
        }
        for i in 0..bytes.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut bad = bytes.clone();
                bad[i] ^= flip;
                assert!(
                    load(kind, &bad).is_err(),
                    "{kind}: byte {i} ^ {flip:#x} loaded"
                );
            }
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(load(kind, &longer).is_err());
    }
}

#[test]
fn format_errors_name_the_problem() {
    let files = small_files();
    let (_, hnsw_bytes) = &files[0];
    let (_, flat_bytes) = &files[1];
    let msg = |r: Result<(), VectorError>| r.unwrap_err().to_string();
    assert!(msg(load("flat", b"hello world, not an index file")).contains("bad magic"));
    let mut v2 = flat_bytes.clone();
    v2[8] = 2;
    assert_eq!(
        FlatIndex::load(&v2).unwrap_err(),
        VectorError::UnsupportedVersion {
            found: 2,
            supported: 1
        }
    );
    assert!(msg(load("flat", &v2)).contains("version 2 is not supported"));
    let mut flipped = flat_bytes.clone();
    flipped[40] ^= 0x10;
    assert!(msg(load("flat", &flipped)).contains("checksum mismatch"));
    assert!(msg(load("flat", hnsw_bytes)).contains("holds a HNSW index, expected a flat index"));
    assert!(msg(load("hnsw", flat_bytes)).contains("holds a flat index, expected a HNSW index"));
    assert!(msg(load("hnsw", &hnsw_bytes[..hnsw_bytes.len() - 1])).contains("truncated"));
}

#[test]
fn dimension_and_input_errors() {
    let mut flat = FlatIndex::new(4, Storage::F32).unwrap();
    let mut h = HnswIndex::new(4, HnswParams::default()).unwrap();
    flat.add(1, &[1.0, 2.0, 3.0, 4.0]).unwrap();
    h.add(1, &[1.0, 2.0, 3.0, 4.0]).unwrap();
    let mismatch = VectorError::DimensionMismatch {
        expected: 4,
        got: 3,
    };
    assert_eq!(flat.search(&[1.0, 2.0, 3.0], 1).unwrap_err(), mismatch);
    assert_eq!(h.search(&[1.0, 2.0, 3.0], 1).unwrap_err(), mismatch);
    assert_eq!(flat.add(2, &[1.0, 2.0, 3.0]).unwrap_err(), mismatch);
    assert_eq!(h.add(2, &[1.0, 2.0, 3.0]).unwrap_err(), mismatch);
    assert_eq!(
        mismatch.to_string(),
        "dimension mismatch: the index has dimension 4, the vector has 3"
    );
    assert_eq!(
        h.add(1, &[1.0; 4]).unwrap_err(),
        VectorError::DuplicateId { id: 1 }
    );
    assert_eq!(flat.add(3, &[0.0; 4]).unwrap_err(), VectorError::ZeroVector);
    assert_eq!(
        h.add(3, &[0.0, f32::NAN, 0.0, 0.0]).unwrap_err(),
        VectorError::NonFiniteVector { index: 1 }
    );
    assert_eq!(
        h.search(&[f32::INFINITY, 0.0, 0.0, 0.0], 1).unwrap_err(),
        VectorError::NonFiniteVector { index: 0 }
    );
    // A batch is checked whole: nothing is added on error.
    assert!(matches!(
        flat.add_batch(&[5, 6], &[1.0; 7]),
        Err(VectorError::BatchLength { .. })
    ));
    assert_eq!(
        h.add_batch(&[5, 5], &[1.0; 8]).unwrap_err(),
        VectorError::DuplicateId { id: 5 }
    );
    assert!(h
        .add_batch(&[5, 6], &[1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0])
        .is_err());
    assert_eq!((flat.len(), h.len()), (1, 1));
    assert!(FlatIndex::new(0, Storage::F32).is_err());
    assert!(HnswIndex::new(MAX_I8_DIM + 1, HnswParams::default()).is_err());
    let bad_m = HnswParams {
        m: 1,
        ..HnswParams::default()
    };
    assert_eq!(
        HnswIndex::new(4, bad_m).unwrap_err().to_string(),
        "m must be between 2 and 128, got 1"
    );
    assert!(h.set_ef_search(0).is_err());
    assert_eq!(
        h.set_ef_search(2_000_000).unwrap_err().to_string(),
        "ef_search must be between 1 and 1000000, got 2000000"
    );
    assert_eq!(h.search_with_ef(&[1.0; 4], 1, 1_000_000).unwrap().len(), 1);
    h.set_ef_search(7).unwrap();
    assert_eq!(h.ef_search(), 7);
    // Empty indexes and k = 0.
    assert!(HnswIndex::new(4, HnswParams::default())
        .unwrap()
        .search(&[1.0; 4], 3)
        .unwrap()
        .is_empty());
    assert!(flat.search(&[1.0; 4], 0).unwrap().is_empty());
}

#[test]
fn cosine_not_raw_dot() {
    // Scaling a vector or the query does not change the scores.
    let mut flat = FlatIndex::new(3, Storage::F32).unwrap();
    flat.add(1, &[10.0, 0.0, 0.0]).unwrap();
    flat.add(2, &[0.1, 0.1, 0.0]).unwrap();
    let hits = flat.search(&[0.001, 0.0, 0.0], 2).unwrap();
    assert_eq!(hits[0], (1, 1.0));
    assert!((hits[1].1 - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
}
