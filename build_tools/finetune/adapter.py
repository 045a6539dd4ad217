"""The LoRA adapter file and its merge into decoder weights (numpy only: `make model` uses it
with no training dependency).

`adapter.npz` holds, per target linear, `<name>.a` [layers, rank, in] and `<name>.b`
[layers, out, rank] as float16, plus `config.json` beside it (rank, alpha, targets, the base
model's GGUF sha256, the data generator's seed and the training recipe). Merged:
W' = W + (alpha / rank) * B @ A, per layer.
"""

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from build_tools.errors import BuildError
from build_tools.gemma_weights import LINEARS, GemmaWeights

F32 = npt.NDArray[np.float32]
ADAPTER_FILE = "adapter.npz"
CONFIG_FILE = "config.json"


@dataclass(frozen=True)
class LoraConfig:
    rank: int = 8
    alpha: float = 16.0
    targets: tuple[str, ...] = ("q", "v", "o", "gate", "up", "down")

    @property
    def scale(self) -> float:
        return self.alpha / self.rank

    def __post_init__(self) -> None:
        unknown = [t for t in self.targets if t not in LINEARS]
        if unknown or not self.targets or self.rank <= 0:
            raise BuildError(f"bad LoRA config: rank {self.rank}, targets {self.targets}")


@dataclass
class Adapter:
    config: LoraConfig
    arrays: dict[str, F32]  # "<target>.a" / "<target>.b"
    meta: dict[str, Any] = field(default_factory=dict)

    def delta(self, target: str, layer: int) -> F32:
        a = self.arrays[f"{target}.a"][layer].astype(np.float32)
        b = self.arrays[f"{target}.b"][layer].astype(np.float32)
        return np.asarray(self.config.scale * (b @ a), dtype=np.float32)

    def save(self, folder: Path) -> str:
        """Writes adapter.npz (float16) and config.json; returns the npz's sha256."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / ADAPTER_FILE
        with path.open("wb") as f:
            # Any: numpy's stub types **kwds as arrays but also lets them hit allow_pickle.
            halves: dict[str, Any] = {
                k: v.astype(np.float16) for k, v in sorted(self.arrays.items())
            }
            np.savez(f, **halves)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        meta = {k: v for k, v in self.meta.items() if k != "sha256_npz"}
        doc = {
            "rank": self.config.rank,
            "alpha": self.config.alpha,
            "targets": list(self.config.targets),
            "sha256": digest,
            **meta,
        }
        (folder / CONFIG_FILE).write_text(json.dumps(doc, indent=2) + "\n")
        return digest


def load_adapter(folder: Path) -> Adapter:
    """Reads and checks an adapter folder (the npz's sha256 must match config.json)."""
    cfg_path, npz_path = folder / CONFIG_FILE, folder / ADAPTER_FILE
    if not cfg_path.is_file() or not npz_path.is_file():
        raise BuildError(f"{folder} is not an adapter folder ({CONFIG_FILE} + {ADAPTER_FILE})")
    doc = json.loads(cfg_path.read_text())
    digest = hashlib.sha256(npz_path.read_bytes()).hexdigest()
    if doc.get("sha256") != digest:
        raise BuildError(f"{npz_path} does not match the sha256 in {cfg_path}")
    config = LoraConfig(int(doc["rank"]), float(doc["alpha"]), tuple(doc["targets"]))
    with np.load(npz_path, allow_pickle=False) as z:
        arrays = {k: np.asarray(z[k]) for k in z.files}
    want = {f"{t}.{p}" for t in config.targets for p in ("a", "b")}
    if set(arrays) != want:
        raise BuildError(f"{npz_path} holds {sorted(arrays)}, expected {sorted(want)}")
    meta = {k: v for k, v in doc.items() if k not in ("rank", "alpha", "targets", "sha256")}
    meta["sha256_npz"] = digest
    return Adapter(config, arrays, meta)


def adapter_sha256(folder: Path) -> str | None:
    """The sha256 that `folder`'s config.json records for its npz (None: no adapter there)."""
    try:
        doc = json.loads((folder / CONFIG_FILE).read_text())
    except (OSError, ValueError):
        return None
    return str(doc["sha256"]) if isinstance(doc, dict) and "sha256" in doc else None


def merge(weights: GemmaWeights, adapter: Adapter) -> GemmaWeights:
    """Base + delta for every target of every layer; shapes are checked."""
    c = weights.config
    tensors: dict[str, npt.NDArray[np.generic]] = dict(weights.items())
    for target in adapter.config.targets:
        a, b = adapter.arrays[f"{target}.a"], adapter.arrays[f"{target}.b"]
        if a.shape[0] != c.num_layers or b.shape[0] != c.num_layers:
            raise BuildError(f"the adapter has {a.shape[0]} layers, the model {c.num_layers}")
        for n in range(c.num_layers):
            name = f"layers.{n}.{target}"
            w = weights[name]
            d = adapter.delta(target, n)
            if d.shape != w.shape:
                raise BuildError(f"adapter {target}: delta {d.shape} for weight {w.shape}")
            tensors[name] = (w + d).astype(np.float32)
    return GemmaWeights(c, tensors)
