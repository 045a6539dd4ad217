"""The walking skeleton in real Chromium: page -> PyScript/Pyodide -> py_agent -> Rust wasm."""

import json
import math
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page, expect

from py_agent.kernels import PythonKernels
from py_agent.similarity import cosine_similarity, demo_vectors

pytestmark = pytest.mark.e2e

REPORTS = Path(__file__).resolve().parents[2] / "test-reports"

WEBGPU_PROBE = """async () => {
  if (!("gpu" in navigator)) return { api: false, adapter: null };
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) return { api: true, adapter: null };
  const info = adapter.info || {};
  return {
    api: true,
    adapter: {
      vendor: info.vendor, architecture: info.architecture, description: info.description,
      isFallbackAdapter: info.isFallbackAdapter ?? null,
      features: [...adapter.features].sort(),
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    },
  };
}"""


def assert_only_loopback(urls: list[str]) -> None:
    assert urls, "no request was recorded"
    for url in urls:
        parsed = urlparse(url)
        if parsed.scheme in ("data", "blob"):
            continue
        assert parsed.scheme == "http", url
        assert parsed.hostname == "127.0.0.1", f"request left the machine: {url}"


def test_python_computes_through_the_wasm_kernel(page: Page, server_url: str) -> None:
    requests: list[str] = []
    console_errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console_errors.append(str(e)))

    page.goto(server_url)
    status = page.locator("#status")
    expect(status).to_have_attribute("data-state", "done", timeout=90_000)

    shown = page.locator("#result").get_attribute("data-value")
    assert shown is not None
    expected = cosine_similarity(*demo_vectors(), PythonKernels())
    # The wasm kernel works in f32: agreement to f32 rounding, not to the last double bit.
    assert math.isclose(float(shown), expected, abs_tol=1e-5), (shown, expected)
    expect(page.locator("#backend")).to_have_text("wasm-simd128")

    paths = {urlparse(u).path for u in requests}
    assert "/build/wasm/vector_bg.wasm" in paths
    assert "/pyodide/pyodide.asm.wasm" in paths
    assert any(p.startswith("/py_agent/") for p in paths)
    assert_only_loopback(requests)
    assert page.evaluate("crossOriginIsolated") is True
    assert console_errors == []


def test_webgpu_adapter_is_recorded(page: Page, server_url: str) -> None:
    page.goto(server_url)
    probe: dict[str, Any] = page.evaluate(WEBGPU_PROBE)
    REPORTS.mkdir(exist_ok=True)
    (REPORTS / "webgpu.json").write_text(json.dumps(probe, indent=2) + "\n")
    print(f"WebGPU probe: {json.dumps(probe)}")
    assert probe["api"] is True, "navigator.gpu is missing despite --enable-unsafe-webgpu"
    # SwiftShader's CPU adapter is expected on these machines (see docs/DEVELOPING.md).
    assert probe["adapter"] is not None, "no WebGPU adapter: the WebGPU backend cannot be tested"
