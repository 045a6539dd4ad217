"""A built model folder, read only through its manifest (every file checked before use)."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from build_tools.errors import BuildError
from build_tools.gemma_config import GemmaConfig
from build_tools.manifest import verify_manifest
from build_tools.paths import MODELS_CACHE


@dataclass(frozen=True)
class ModelFolder:
    path: Path
    doc: dict[str, Any]

    @property
    def config(self) -> GemmaConfig:
        return GemmaConfig.from_json(self.doc["config"])

    @property
    def tokenizer_json(self) -> Path:
        return self.path / "tokenizer.json"

    @property
    def tokenizer_vocab(self) -> Path:
        """The `.gtok` file that the Rust tokenizer (native, wasm) loads."""
        return self.path / str(self.doc["tokenizer"]["vocab"])

    @property
    def stop_token_ids(self) -> list[int]:
        return [int(t) for t in self.doc["stop_token_ids"]]

    def decoder(self, variant: str | None = None) -> Path:
        name = variant or str(self.doc["default_variant"])
        variants = self.doc["variants"]
        if name not in variants:
            raise BuildError(f"model {self.path.name} has no variant {name!r}: {sorted(variants)}")
        return self.path / str(variants[name]["file"])


def open_model(model_id: str | None = None, root: Path = MODELS_CACHE) -> ModelFolder:
    from build_tools.default_model import MODEL_ID

    path = root / (model_id or MODEL_ID)
    if not path.is_dir():
        raise BuildError(
            f"model {path.name} is not built: run `python -m build_tools model` (or `make model`)"
        )
    listed = {entry.path for entry in verify_manifest(path)}
    for required in ("model.json", "tokenizer.json"):
        if required not in listed:
            raise BuildError(f"{path} lacks {required} in its manifest: rebuild the model")
    doc = json.loads((path / "model.json").read_text())
    vocab = doc.get("tokenizer", {}).get("vocab")
    if vocab not in listed:
        raise BuildError(f"{path} was built by an older version (no tokenizer vocabulary): rebuild")
    return ModelFolder(path, doc)
