"""`python -m build_tools model SOURCE`: any Gemma (GGUF or HF folder) -> models_cache/<model-id>/.

The folder holds one ONNX decoder per variant (with its external weights), tokenizer.json (the
reference) and tokenizer.gtok (what the Rust tokenizer loads), the chat template, model.json
(config, special tokens, prompt format, variants, fidelity) and the license files, all listed
with size and sha256 in manifest.json. It is assembled in a temporary folder beside the final
one and renamed into place only when complete.
"""

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from build_tools import default_model
from build_tools.errors import BuildError
from build_tools.fidelity import EVAL_TEXT, Fidelity, compare
from build_tools.gemma_config import GemmaConfig
from build_tools.gemma_weights import LINEARS, GemmaWeights
from build_tools.manifest import verify_manifest, write_manifest
from build_tools.onnx_export import Head, build_graph, save_model
from build_tools.paths import MODELS_CACHE
from build_tools.quantize import QuantizedMatrix, quantize_asymmetric, quantize_symmetric8
from build_tools.tokenizer_vocab import VERSION as GTOK_VERSION
from build_tools.tokenizer_vocab import write_tokenizer_vocab
from build_tools.wasm_weights import write_wasm_weights

if TYPE_CHECKING:
    from build_tools.finetune.adapter import Adapter

# Gemma's chat format. Gemma has no system role: a system message is prepended to the first
# user turn. The base models have no template of their own; this one is what the -it models use.
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{%- set first = true -%}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'system' -%}{%- set system = message['content'] -%}"
    "{%- else -%}"
    "<start_of_turn>{{ 'model' if message['role'] == 'assistant' else message['role'] }}\n"
    "{%- if system is defined and loop.index0 <= 1 %}{{ system }}\n\n{% endif -%}"
    "{{ message['content'] | trim }}<end_of_turn>\n"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt %}<start_of_turn>model\n{% endif -%}"
)

# Bumped when a build gains files or fields that runtime code relies on: older builds are redone.
MODEL_FORMAT = 3
TOKENIZER_VOCAB = "tokenizer.gtok"

SPECIAL_TOKENS = {
    "pad": 0,
    "eos": 1,
    "bos": 2,
    "unk": 3,
    "start_of_turn": 105,
    "end_of_turn": 106,
}


@dataclass(frozen=True)
class Source:
    kind: str  # "gguf" | "hf"
    path: Path
    model_id: str
    instruction_tuned: bool
    licenses: tuple[Path, ...]


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    backends: tuple[str, ...]


VARIANTS = {
    "exact": Variant(
        "exact",
        "GGUF blocks transcoded exactly (Q8_0/Q5_0/Q6_K -> 8-bit, Q4_K -> 4-bit MatMulNBits); "
        "8-bit absmax blocks for float sources",
        ("native", "wasm"),
    ),
    "int4": Variant(
        "int4",
        "4-bit min/max blocks of 16 for the layers' 5-bit and float weights; Q4_K, attn_v, "
        "ffn_down, embedding and LM head as in `exact`",
        ("webgpu", "native"),
    ),
}
DEFAULT_VARIANTS = ("exact", "int4")
# The default 270M's ReAct fine-tune (docs/AGENT_TASKS.md): the `exact` weights with the
# committed LoRA adapter merged in. The matrices the adapter changes are stored as 8-bit absmax
# blocks of 32 (re-rounding them onto 4-bit blocks would lose much of the delta); the rest stay
# the GGUF's exact blocks. It is the default variant wherever the adapter applies.
AGENT_VARIANT = Variant(
    "agent",
    "`exact` with the ReAct LoRA adapter merged in (changed matrices as 8-bit blocks of 32); "
    "prompted with the short `tuned` prompt",
    ("native", "wasm"),
)


def resolve_source(source: str, model_id: str | None = None) -> Source:
    if source == "default":
        return Source(
            "gguf",
            default_model.default_gguf(),
            model_id or default_model.MODEL_ID,
            False,
            tuple(default_model.license_files()),
        )
    path = Path(source).expanduser()
    if not path.exists():
        raise BuildError(
            f"model source not found: {path} (expected `default`, a .gguf or a folder)"
        )
    name = path.stem if path.is_file() else path.name
    slug = re.sub(r"[^a-z0-9.]+", "-", name.lower()).strip("-.") or "gemma"
    tuned = bool(re.search(r"(^|[-_.])it($|[-_.])", name.lower()))
    licenses = tuple(
        p for p in (path.parent if path.is_file() else path).glob("*") if _is_license(p)
    )
    if path.is_file():
        return Source("gguf", path, model_id or slug, tuned, licenses)
    return Source("hf", path, model_id or slug, tuned, licenses)


def _is_license(p: Path) -> bool:
    return p.is_file() and p.name.upper().split(".")[0] in {
        "LICENSE",
        "NOTICE",
        "GEMMA_TERMS",
        "USE_POLICY",
    }


def load_source(src: Source) -> tuple[GemmaConfig, GemmaWeights, dict[str, QuantizedMatrix]]:
    """Config, float weights, and exact quantized forms where the source has them."""
    if src.kind == "gguf":
        from build_tools.gguf_source import load_gguf, open_gguf, transcoded_linears

        reader = open_gguf(src.path)
        bar = tqdm(desc="reading GGUF", unit="tensor", leave=False)
        config, weights = load_gguf(reader, progress=lambda _: bar.update())
        bar.close()
        return config, weights, transcoded_linears(reader)
    from build_tools.hf_source import load_hf_folder

    config, weights = load_hf_folder(src.path)
    return config, weights, {}


# Where the GGUF already chose more bits (llama.cpp's Q4_K_M gives attn_v and ffn_down 6-8
# bits), `int4` keeps them: requantizing those to 4 bits cost 9 points of top-1 agreement.
INT4_KEEP = ("v", "down")


def variant_weights(
    variant: str, weights: GemmaWeights, exact: dict[str, QuantizedMatrix]
) -> dict[str, QuantizedMatrix]:
    """The quantized matrices of a variant; a matrix no block size divides stays float32."""
    layers = weights.config.num_layers
    names = ["embed"] + [f"layers.{n}.{lin}" for n in range(layers) for lin in LINEARS]
    out: dict[str, QuantizedMatrix] = {}
    for name in names:
        k = weights[name].shape[1]
        block = next((b for b in (32, 16) if k % b == 0), None)
        keep = name in exact and (exact[name].bits == 4 or name.endswith(INT4_KEEP))
        if variant == "int4" and name != "embed" and not keep and k % 16 == 0:
            out[name] = quantize_asymmetric(weights[name], 4, 16)
        elif name in exact:
            out[name] = exact[name]
        elif block:
            out[name] = quantize_symmetric8(weights[name], block)
    return out


def adapter_for(src: Source, adapter: Path | None) -> Path | None:
    """The adapter to merge: the one named, else the committed one for the default model."""
    if adapter is not None:
        return adapter
    from build_tools.finetune.adapter import ADAPTER_FILE
    from build_tools.finetune.cli import DEFAULT_ADAPTER

    if src.model_id == default_model.MODEL_ID and (DEFAULT_ADAPTER / ADAPTER_FILE).is_file():
        return DEFAULT_ADAPTER
    return None


def merged_weights(
    weights: GemmaWeights, exact: dict[str, QuantizedMatrix], adapter: "Adapter"
) -> tuple[GemmaWeights, dict[str, QuantizedMatrix]]:
    """Base + adapter as float weights, and their quantized matrices: `exact`'s where the
    adapter leaves a matrix alone, 8-bit absmax blocks where it changes it."""
    from build_tools.finetune.adapter import merge

    merged = merge(weights, adapter)
    changed = {
        f"layers.{n}.{t}" for n in range(weights.config.num_layers) for t in adapter.config.targets
    }
    kept = {k: v for k, v in exact.items() if k not in changed}
    return merged, variant_weights("exact", merged, kept)


def tokenizer_into(src: Source, dest: Path) -> None:
    if src.kind == "gguf":
        from build_tools.tokenizer_export import write_tokenizer_json

        write_tokenizer_json(src.path, dest / "tokenizer.json")
        return
    tok = src.path / "tokenizer.json"
    if not tok.is_file():
        raise BuildError(f"{src.path} has no tokenizer.json")
    shutil.copy2(tok, dest / "tokenizer.json")


def eval_ids(tokenizer_json: Path, bos: int, limit: int) -> list[int]:
    from tokenizers import Tokenizer

    ids = (
        Tokenizer.from_file(str(tokenizer_json))
        .encode(EVAL_TEXT.read_text(), add_special_tokens=False)
        .ids
    )
    return [bos, *ids[: limit - 1]]


def build_model(
    source: str = "default",
    *,
    model_id: str | None = None,
    variants: Sequence[str] | None = None,
    evaluate: bool = True,
    eval_tokens: int = 256,
    out_root: Path = MODELS_CACHE,
    adapter: Path | None = None,
    log: Callable[[str], None] = print,
) -> Path:
    src = resolve_source(source, model_id)
    from build_tools.finetune.adapter import load_adapter

    adapter_dir = adapter_for(src, adapter) if not variants or "agent" in variants else None
    lora = load_adapter(adapter_dir) if adapter_dir is not None else None
    if lora is not None and adapter is None:
        _check_adapter_base(src, lora.meta)
    variants = tuple(variants or ((AGENT_VARIANT.name,) if lora else ()) + DEFAULT_VARIANTS)
    known = {**VARIANTS, AGENT_VARIANT.name: AGENT_VARIANT}
    unknown = [v for v in variants if v not in known]
    if unknown or not variants:
        raise BuildError(f"unknown variant(s) {unknown}: choose from {sorted(known)}")
    if AGENT_VARIANT.name in variants and lora is None:
        raise BuildError("the `agent` variant needs an adapter (--adapter FOLDER)")
    final = out_root / src.model_id
    out_root.mkdir(parents=True, exist_ok=True)
    log(f"building {src.model_id} from {src.path}")
    config, weights, exact = load_source(src)
    with tempfile.TemporaryDirectory(dir=out_root, prefix=f".{src.model_id}.") as tmp:
        staged = Path(tmp) / src.model_id
        staged.mkdir()
        tokenizer_into(src, staged)
        write_tokenizer_vocab(staged / "tokenizer.json", staged / TOKENIZER_VOCAB)
        (staged / "chat_template.jinja").write_text(CHAT_TEMPLATE + "\n")
        for lic in src.licenses:
            shutil.copy2(lic, staged / lic.name)
        entries: dict[str, Any] = {}
        reference: Path | None = None
        ids: list[int] = []
        if evaluate:
            reference = Path(tmp) / "reference" / "decoder.onnx"
            reference.parent.mkdir()
            log("writing the float32 reference graph (evaluation only, not shipped)")
            save_model(build_graph(weights, Head.LOGITS_LAST), reference)
            ids = eval_ids(staged / "tokenizer.json", config.bos_token_id, eval_tokens)
        for name in tqdm(variants, desc="variants", unit="variant", leave=False):
            base, ref = weights, reference
            if name == AGENT_VARIANT.name and lora is not None:
                base, quantized = merged_weights(weights, exact, lora)
                if reference is not None:  # fidelity to the trained model, not to the base
                    ref = Path(tmp) / "reference-agent" / "decoder.onnx"
                    ref.parent.mkdir()
                    save_model(build_graph(base, Head.LOGITS_LAST), ref)
            else:
                quantized = variant_weights(name, weights, exact)
            file = f"decoder-{name}.onnx"
            save_model(build_graph(base, Head.LOGITS_LAST, quantized), staged / file)
            entry: dict[str, Any] = {
                "file": file,
                "data": file + ".data",
                "head": Head.LOGITS_LAST.value,
                "backends": list(known[name].backends),
                "description": known[name].description,
                "bytes": (staged / file).stat().st_size
                + (staged / (file + ".data")).stat().st_size,
            }
            if "wasm" in known[name].backends:
                # The project's own WASM decoder reads the same weights from one flat file.
                wasm_file = f"weights-{name}.bin"
                write_wasm_weights(staged / wasm_file, base, quantized)
                entry["wasm_weights"] = wasm_file
            if name == AGENT_VARIANT.name and lora is not None:
                entry["prompt_format"] = "tuned"
                entry["adapter"] = {
                    "sha256": lora.meta.get("sha256_npz", ""),
                    "config": {k: v for k, v in lora.meta.items() if k != "sha256_npz"},
                }
                entry["fidelity_reference"] = (
                    "float32 weights dequantized from the GGUF plus the adapter's delta"
                )
            if ref is not None:
                with tqdm(
                    total=len(ids) - 1, desc=f"fidelity {name}", unit="tok", leave=False
                ) as bar:
                    fid: Fidelity = compare(ref, staged / file, ids, progress=bar.update)
                entry["fidelity"] = fid.to_json()
                log(
                    f"{name}: top-1 agreement {fid.top1_agreement:.1%}, KL {fid.mean_kl:.4f}, "
                    f"perplexity {fid.perplexity:.2f} (fp32 {fid.reference_perplexity:.2f}), "
                    f"{entry['bytes'] / 1e6:.0f} MB"
                )
            entries[name] = entry
        model_doc = {
            "format": MODEL_FORMAT,
            "model_id": src.model_id,
            "source": {"kind": src.kind, "name": src.path.name},
            "prompt_format": "chat" if src.instruction_tuned else "completion",
            "config": config.to_json(),
            "special_tokens": {
                **SPECIAL_TOKENS,
                "bos": config.bos_token_id,
                "eos": config.eos_token_ids[0],
                "pad": config.pad_token_id,
            },
            "tokenizer": {
                "reference": "tokenizer.json",
                "vocab": TOKENIZER_VOCAB,
                "vocab_format": GTOK_VERSION,
            },
            "stop_token_ids": sorted({*config.eos_token_ids, SPECIAL_TOKENS["end_of_turn"]}),
            "default_variant": variants[0],
            "adapter_sha256": lora.meta.get("sha256_npz") if lora is not None else None,
            "variants": entries,
            "licenses": [lic.name for lic in src.licenses],
        }
        (staged / "model.json").write_text(json.dumps(model_doc, indent=2) + "\n")
        write_manifest(staged, "gemma-model", {"model_id": src.model_id})
        _replace(final, staged)
    log(f"model ready: {final}")
    return final


def _replace(final: Path, staged: Path) -> None:
    """Swap the complete build into place; the old one (if any) is removed only afterwards."""
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    if final.exists():
        final.rename(old)
    staged.rename(final)
    if old.exists():
        shutil.rmtree(old)


def model_is_built(folder: Path) -> bool:
    """A complete, unmodified build in the current format."""
    try:
        verify_manifest(folder)
        doc = json.loads((folder / "model.json").read_text())
    except (BuildError, OSError, ValueError):
        return False
    if not (isinstance(doc, dict) and doc.get("format") == MODEL_FORMAT):
        return False
    # A default-model build must carry the committed adapter (rebuilt when it changes).
    from build_tools.finetune.adapter import adapter_sha256
    from build_tools.finetune.cli import DEFAULT_ADAPTER

    if folder.name == default_model.MODEL_ID and doc.get("source", {}).get("kind") == "gguf":
        return doc.get("adapter_sha256") == adapter_sha256(DEFAULT_ADAPTER)
    return True


def _check_adapter_base(src: Source, meta: dict[str, Any]) -> None:
    """The committed adapter was trained on one GGUF: refuse to merge it into another."""
    import hashlib

    want = meta.get("base_sha256")
    if want and hashlib.sha256(src.path.read_bytes()).hexdigest() != want:
        raise BuildError(f"the adapter was trained on another {src.model_id} ({want[:12]}…)")
