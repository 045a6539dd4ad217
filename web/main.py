# Page glue: adapts the wasm kernels to py_agent's KernelBackend protocol and shows the result.
from collections.abc import Sequence

from pyodide.ffi import JsProxy, to_js
from pyscript import document, window

from py_agent.similarity import cosine_similarity, demo_vectors


class WasmKernels:
    """KernelBackend backed by vector.wasm through its wasm-bindgen binding."""

    def __init__(self, module: JsProxy) -> None:
        self._module = module
        self.name = "wasm-simd128" if module.simd128Enabled() else "wasm-scalar"

    def dot(self, a: Sequence[float], b: Sequence[float]) -> float:
        as_f32 = window.Float32Array.new
        return float(self._module.dot(as_f32(to_js(list(a))), as_f32(to_js(list(b)))))


status = document.getElementById("status")
try:
    kernels = WasmKernels(await window.geaKernelsReady)
    value = cosine_similarity(*demo_vectors(), kernels)
    result = document.getElementById("result")
    result.textContent = f"{value:.6f}"
    result.dataset.value = repr(value)
    document.getElementById("backend").textContent = kernels.name
    status.textContent = "Ready: Python called the wasm kernel."
    status.dataset.state = "done"
except Exception as exc:  # shown on the page: the self-check must never fail silently
    status.textContent = f"Self-check failed: {exc}"
    status.dataset.state = "error"
