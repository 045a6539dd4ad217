"""The Rust vector indexes as the native extension `gea_vector` (rust_core/wasm/vector-py):
recall against numpy's exact search, deletes, the file format and its errors, and the same
bytes loading in the wasm build (web/build/wasm/vector.js, run in Node) in both directions.
The Rust-side tests are in rust_core/wasm/vector (cargo test), the wasm API in
tests/js/vector_index.test.mjs.
"""

import json
import subprocess
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from gea_vector import FORMAT_VERSION, FlatIndex, HnswIndex

from build_tools.paths import WEB_BUILD

DIM = 384
N = 5000
QUERIES = 200
K = 10
WASM_JS = WEB_BUILD / "wasm" / "vector.js"

F32 = npt.NDArray[np.float32]


def clustered(n: int, seed: int) -> F32:
    """Like sentence embeddings of a corpus with topics: 50 centres, a 32-d latent direction
    through a shared random map, small isotropic noise."""
    shared = np.random.default_rng(42)
    centres = shared.standard_normal((50, DIM))
    latent_map = shared.standard_normal((32, DIM)) * 3 / np.sqrt(32)
    rng = np.random.default_rng(seed)
    which = rng.integers(0, 50, n)
    x = centres[which] + rng.standard_normal((n, 32)) @ latent_map
    x += 0.3 * rng.standard_normal((n, DIM))
    return np.asarray(x, dtype=np.float32)  # little-endian on every supported host (x86_64)


@pytest.fixture(scope="module")
def base() -> F32:
    return clustered(N, 1)


@pytest.fixture(scope="module")
def queries() -> F32:
    return clustered(QUERIES, 2)


IDS = [7 + 3 * i for i in range(N)]


@pytest.fixture(scope="module")
def exact(base: F32, queries: F32) -> list[list[int]]:
    """numpy's exact cosine top 10 (float64)."""
    b = base.astype(np.float64)
    q = queries.astype(np.float64)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    top = np.argsort(-(q @ b.T), axis=1)[:, :K]
    return [[IDS[i] for i in row] for row in top]


def recall(got: list[list[tuple[int, float]]], exact: list[list[int]]) -> float:
    hits = sum(len({h[0] for h in g} & set(e)) for g, e in zip(got, exact, strict=True))
    return hits / (len(exact) * K)


@pytest.fixture(scope="module", params=[False, True], ids=["f32", "int8"])
def hnsw(request: pytest.FixtureRequest, base: F32) -> HnswIndex:
    index = HnswIndex(DIM, int8=request.param)
    index.add_batch(IDS, base.tobytes())
    return index


def test_flat_f32_is_numpy_exact(base: F32, queries: F32, exact: list[list[int]]) -> None:
    flat = FlatIndex(DIM)
    flat.add_batch(IDS, base.tobytes())
    assert (len(flat), flat.dim, flat.int8) == (N, DIM, False)
    got = flat.search_batch(queries.tobytes(), K)
    assert recall(got, exact) >= 0.999
    q = queries[0].astype(np.float64) / np.linalg.norm(queries[0])
    for id_, score in got[0]:
        v = base[(id_ - 7) // 3].astype(np.float64)
        assert score == pytest.approx(float(q @ v / np.linalg.norm(v)), abs=1e-5)
    assert flat.search(queries[0].tolist(), K) == got[0]


def test_flat_int8_recall(base: F32, queries: F32, exact: list[list[int]]) -> None:
    flat = FlatIndex(DIM, int8=True)
    flat.add_batch(IDS, base.tobytes())
    assert recall(flat.search_batch(queries.tobytes(), K), exact) >= 0.9


def test_hnsw_recall_floor_at_default_ef_search(
    hnsw: HnswIndex, queries: F32, exact: list[list[int]]
) -> None:
    assert (hnsw.m, hnsw.ef_construction, hnsw.ef_search) == (16, 200, 64)
    r = recall(hnsw.search_batch(queries.tobytes(), K), exact)
    assert r >= 0.95, f"HNSW recall@10 {r} at efSearch {hnsw.ef_search}"
    # A larger ef only helps; set_ef_search changes the default.
    assert recall(hnsw.search_batch(queries.tobytes(), K, ef=200), exact) >= r
    assert hnsw.search(queries[0].tolist(), K, ef=64) == hnsw.search(queries[0].tolist(), K)


def test_round_trip_python_bytes_python(hnsw: HnswIndex, queries: F32) -> None:
    data = hnsw.serialize()
    assert data[:8] == b"GEAVINDX"
    assert int.from_bytes(data[8:12], "little") == FORMAT_VERSION == 1
    back = HnswIndex.load(data)
    assert back.serialize() == data
    assert (len(back), back.dim, back.int8, back.ef_search) == (
        len(hnsw),
        hnsw.dim,
        hnsw.int8,
        hnsw.ef_search,
    )
    qb = queries[:50].tobytes()
    assert back.search_batch(qb, K) == hnsw.search_batch(qb, K)


def test_deleted_ids_are_never_returned(base: F32, queries: F32, exact: list[list[int]]) -> None:
    index = HnswIndex(DIM, seed=3)
    index.add_batch(IDS[:2000], base[:2000].tobytes())
    flat = FlatIndex(DIM)
    flat.add_batch(IDS[:2000], base[:2000].tobytes())
    gone = {h[0] for q in queries[:50] for h in flat.search(q.tolist(), 3)}
    for id_ in gone:
        assert index.remove(id_)
        assert id_ not in index
    assert not index.remove(next(iter(gone)))
    assert len(index) == 2000 - len(gone)
    for hits in HnswIndex.load(index.serialize()).search_batch(queries[:50].tobytes(), K):
        assert len(hits) == K
        assert not gone & {h[0] for h in hits}


def small_index() -> HnswIndex:
    index = HnswIndex(4, m=4)
    index.add_batch([1, 2, 3], np.eye(3, 4, dtype="<f4").tobytes())
    return index


def test_errors_are_value_errors_with_clear_messages() -> None:
    index = small_index()
    with pytest.raises(
        ValueError, match="dimension mismatch: the index has dimension 4, the vector has 3"
    ):
        index.search([1.0, 2.0, 3.0], 1)
    with pytest.raises(ValueError, match="dimension mismatch"):
        index.add(9, [1.0] * 5)
    with pytest.raises(ValueError, match="id 2 is already in the index"):
        index.add(2, [1.0] * 4)
    with pytest.raises(ValueError, match="norm 0"):
        FlatIndex(4).add(1, [0.0] * 4)
    with pytest.raises(ValueError, match="multiple of 4"):
        index.add_batch([5], b"\0" * 15)
    with pytest.raises(
        ValueError, match=r"batch data must hold ids . dim = 2 . 4 = 8 floats, got 4"
    ):
        index.add_batch([5, 6], np.ones(4, "<f4").tobytes())
    with pytest.raises(ValueError, match="m must be between 2 and 128, got 1"):
        HnswIndex(4, m=1)
    with pytest.raises(ValueError, match="dimension must be at least 1"):
        FlatIndex(0)
    with pytest.raises(ValueError, match="ef_search must be between 1 and 1000000, got 0"):
        index.set_ef_search(0)
    assert len(index) == 3

    data = index.serialize()
    for cut in (0, 5, 20, len(data) // 2, len(data) - 1):
        with pytest.raises(ValueError, match=r"truncated|bad magic"):
            HnswIndex.load(data[:cut])
    with pytest.raises(ValueError, match="not a vector index file"):
        HnswIndex.load(b"PK\x03\x04 a zip file, not an index")
    v2 = bytearray(data)
    v2[8] = 2
    with pytest.raises(ValueError, match="format version 2 is not supported"):
        HnswIndex.load(bytes(v2))
    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= 0x55
        with pytest.raises(ValueError, match="index file"):
            HnswIndex.load(bytes(bad))
    with pytest.raises(ValueError, match="holds a HNSW index, expected a flat index"):
        FlatIndex.load(data)


def test_same_bytes_load_in_wasm_and_back(tmp_path: Path, base: F32, queries: F32) -> None:
    """Python → bytes → wasm (Node) and wasm → bytes → Python give the same results, and the
    same build gives the same bytes in both (deterministic, SIMD128 = the native lanes kernel)."""
    assert WASM_JS.is_file(), f"{WASM_JS} is missing: run `python -m build_tools build`"
    n = 1000
    for int8 in (False, True):
        index = HnswIndex(DIM, int8=int8)
        index.add_batch(IDS[:n], base[:n].tobytes())
        (tmp_path / "python.idx").write_bytes(index.serialize())
        (tmp_path / "base.f32").write_bytes(base[:n].tobytes())
        (tmp_path / "queries.f32").write_bytes(queries[:20].tobytes())
        script = f"""
import {{ readFileSync, writeFileSync }} from "node:fs";
const m = await import({json.dumps(WASM_JS.as_uri())});
m.initSync({{ module: readFileSync({json.dumps(str(WASM_JS.with_name("vector_bg.wasm")))}) }});
const dir = {json.dumps(str(tmp_path))};
const f32 = (name) => {{
  const b = readFileSync(dir + "/" + name);
  return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
}};
const loaded = m.HnswIndex.load(readFileSync(dir + "/python.idx"));
const built = new m.HnswIndex({DIM}, undefined, undefined, undefined, {json.dumps(int8)});
built.addBatch(Uint32Array.from({json.dumps(IDS[:n])}), f32("base.f32"));
writeFileSync(dir + "/wasm.idx", built.serialize());
const q = f32("queries.f32");
const out = [];
for (let i = 0; i < 20; i++) {{
  const r = loaded.search(q.subarray(i * {DIM}, (i + 1) * {DIM}), {K});
  out.push(Array.from(r.ids, (id, j) => [id, r.scores[j]]));
}}
writeFileSync(dir + "/hits.json", JSON.stringify(out));
"""
        subprocess.run(["node", "--input-type=module", "-e", script], check=True)
        wasm_hits = json.loads((tmp_path / "hits.json").read_text())
        py_hits = index.search_batch(queries[:20].tobytes(), K)
        assert [[tuple(h) for h in hits] for hits in wasm_hits] == py_hits
        wasm_bytes = (tmp_path / "wasm.idx").read_bytes()
        from_wasm = HnswIndex.load(wasm_bytes)
        assert from_wasm.search_batch(queries[:20].tobytes(), K) == py_hits
        assert wasm_bytes == index.serialize()


def test_installed_extensions_are_built_from_the_current_sources() -> None:
    """`python -m build_tools native` keeps one stamp per extension (so this file tests the
    Rust code in the tree, not a stale build)."""
    from build_tools.native_ext import EXTENSIONS, source_digest, stamp_path

    assert [(e.module, e.binding) for e in EXTENSIONS] == [
        ("gea_tokenizer", "tokenizer-py"),
        ("gea_vector", "vector-py"),
    ]
    assert len({stamp_path(e) for e in EXTENSIONS}) == len(EXTENSIONS)
    assert len({source_digest(e) for e in EXTENSIONS}) == len(EXTENSIONS)
    for ext in EXTENSIONS:
        stamp = stamp_path(ext)
        assert stamp.is_file(), f"{ext.module} is not built: run `python -m build_tools native`"
        assert stamp.read_text().strip() == source_digest(ext), (
            f"{ext.module} is older than its sources: run `python -m build_tools native`"
        )
