"""The model build command on tiny models: folder layout, manifest, atomic replace, errors."""

import json
from dataclasses import replace
from pathlib import Path

import pytest
from tokenizers import Tokenizer, decoders, models, normalizers, processors

from build_tools import cli, model_build
from build_tools.errors import BuildError
from build_tools.gemma_weights import random_weights
from build_tools.manifest import verify_manifest
from build_tools.model_build import build_model, model_is_built, resolve_source
from build_tools.model_folder import open_model
from build_tools.native_runtime import OnnxDecoder
from tests.tiny_gemma import tiny_config, write_gguf, write_hf_folder

TINY_VOCAB = 300


def tiny_tokenizer(path: Path, vocab_size: int = TINY_VOCAB) -> None:
    """A Gemma-shaped tokenizer (BPE, byte fallback, "▁") small enough for a tiny model."""
    pieces = ["<pad>", "<eos>", "<bos>", "<unk>", *(f"<0x{b:02X}>" for b in range(256))]
    pieces += ["▁", *"abcdefghijklmnopqrstuvwxyz", "▁t", "he", "▁the", "▁w", "▁wa"]
    pieces += [f"<unused{i}>" for i in range(vocab_size - len(pieces))]
    merges = [("▁", "t"), ("h", "e"), ("▁t", "he"), ("▁", "w"), ("▁w", "a")]
    tok = Tokenizer(
        models.BPE(
            {p: i for i, p in enumerate(pieces)}, merges, unk_token="<unk>", byte_fallback=True
        )
    )
    tok.normalizer = normalizers.Replace(" ", "▁")
    tok.decoder = decoders.Sequence(
        [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()]
    )
    tok.post_processor = processors.TemplateProcessing(
        single="<bos> $A", special_tokens=[("<bos>", 2)]
    )
    tok.add_special_tokens(["<pad>", "<eos>", "<bos>", "<unk>"])
    tok.save(str(path))


@pytest.fixture
def tiny_hf(tmp_path: Path) -> Path:
    folder = tmp_path / "tiny-gemma-2-it"
    write_hf_folder(folder, random_weights(replace(tiny_config(2), vocab_size=TINY_VOCAB), seed=3))
    tiny_tokenizer(folder / "tokenizer.json")
    (folder / "LICENSE").write_text("test license\n")
    return folder


def test_build_from_an_hf_folder(tiny_hf: Path, tmp_path: Path) -> None:
    out = tmp_path / "models"
    folder = build_model(str(tiny_hf), out_root=out, eval_tokens=24, log=lambda _: None)
    assert folder == out / "tiny-gemma-2-it"
    listed = {e.path for e in verify_manifest(folder)}
    assert {
        "model.json",
        "tokenizer.json",
        "tokenizer.gtok",
        "chat_template.jinja",
        "LICENSE",
    } <= listed
    assert {"decoder-exact.onnx", "decoder-exact.onnx.data", "decoder-int4.onnx"} <= listed
    doc = json.loads((folder / "model.json").read_text())
    assert doc["prompt_format"] == "chat"  # "-it" in the name: instruction-tuned
    assert doc["config"]["family"] == 2
    assert doc["stop_token_ids"] == [1, 106]
    exact = doc["variants"]["exact"]["fidelity"]
    assert exact["tokens"] == 23
    # 8-bit min/max of a float source stays close to it
    assert exact["top1_agreement"] >= 0.9
    assert exact["mean_kl"] < 0.01
    model = open_model(folder.name, root=out)
    assert model.config.family == 2
    decoder = OnnxDecoder(model.decoder("int4"))
    assert decoder.vocab_size == TINY_VOCAB
    assert decoder.num_layers == 4
    assert not list(out.glob(".*")), "no temporary folder is left behind"


def test_rebuild_replaces_atomically_and_failures_leave_nothing(
    tiny_hf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "models"
    first = build_model(str(tiny_hf), out_root=out, evaluate=False, log=lambda _: None)
    before = (first / "manifest.json").read_text()

    def broken(*args: object, **kwargs: object) -> None:
        raise BuildError("disk full (simulated)")

    monkeypatch.setattr(model_build, "save_model", broken)
    with pytest.raises(BuildError, match="disk full"):
        build_model(str(tiny_hf), out_root=out, evaluate=False, log=lambda _: None)
    assert (first / "manifest.json").read_text() == before, "the old build survives a failure"
    assert model_is_built(first)
    assert sorted(p.name for p in out.iterdir()) == [first.name]


def test_tampered_model_is_refused(tiny_hf: Path, tmp_path: Path) -> None:
    out = tmp_path / "models"
    folder = build_model(
        str(tiny_hf), out_root=out, variants=["exact"], evaluate=False, log=lambda _: None
    )
    data = folder / "decoder-exact.onnx.data"
    raw = bytearray(data.read_bytes())
    raw[100] ^= 0xFF
    data.write_bytes(bytes(raw))
    assert not model_is_built(folder)
    with pytest.raises(BuildError, match=r"decoder-exact\.onnx\.data .* does not match"):
        open_model(folder.name, root=out)


def test_source_errors(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="model source not found"):
        resolve_source(str(tmp_path / "nope.gguf"))
    with pytest.raises(BuildError, match="unknown variant"):
        build_model("default", variants=["int3"], out_root=tmp_path)
    with pytest.raises(BuildError, match="is not built"):
        open_model("absent", root=tmp_path)


def test_gguf_without_tokenizer_is_a_clear_error(tmp_path: Path) -> None:
    config = tiny_config(3, layers=6, pattern=6)
    path = tmp_path / "tiny.gguf"
    write_gguf(path, config, random_weights(config))
    with pytest.raises(BuildError, match="tokenizer"):
        build_model(str(path), out_root=tmp_path / "m", evaluate=False, log=lambda _: None)
    assert not (tmp_path / "m" / "tiny").exists()


def test_hf_folder_without_tokenizer(tiny_hf: Path, tmp_path: Path) -> None:
    (tiny_hf / "tokenizer.json").unlink()
    with pytest.raises(BuildError, match=r"has no tokenizer\.json"):
        build_model(str(tiny_hf), out_root=tmp_path / "m", evaluate=False, log=lambda _: None)


def test_cli_model_command(tiny_hf: Path, tmp_path: Path) -> None:
    args = ["model", str(tiny_hf), "--model-id", "t", "--no-eval", "--variants", "exact"]
    assert cli.main([*args, "--out-dir", str(tmp_path)]) == 0
    assert model_is_built(tmp_path / "t")
    assert cli.main(["model", str(tmp_path / "missing")]) == 1
