"""bench/agent/NAME.py for the tests: bench/ is not a package, so by path, once."""

import importlib.util
import sys
from types import ModuleType

from build_tools.paths import ROOT


def load_bench_module(name: str) -> ModuleType:
    key = f"bench_agent_{name}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, ROOT / "bench" / "agent" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module
