"""WebGPU in headless Chromium (SwiftShader): the adapter the WebGPU backend would get."""

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

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


def test_webgpu_adapter_is_recorded(page: Page, server_url: str) -> None:
    page.goto(server_url)
    probe: dict[str, Any] = page.evaluate(WEBGPU_PROBE)
    REPORTS.mkdir(exist_ok=True)
    (REPORTS / "webgpu.json").write_text(json.dumps(probe, indent=2) + "\n")
    print(f"WebGPU probe: {json.dumps(probe)}")
    assert probe["api"] is True, "navigator.gpu is missing despite --enable-unsafe-webgpu"
    # SwiftShader's CPU adapter is expected on these machines (see docs/DEVELOPING.md).
    assert probe["adapter"] is not None, "no WebGPU adapter: the WebGPU backend cannot be tested"


def test_webgpu_greedy_tokens_match_the_wasm_backend(
    page: Page, server_url: str, default_model: Path, default_index: Path
) -> None:
    """onnxruntime-web's WebGPU provider on the build's ONNX graph and the Rust WASM decoder on
    its weights file: the same model, two engines, the same greedy continuation."""
    page.goto(server_url)
    status = page.locator("#status")
    expect(status).to_have_attribute("data-state", "ready", timeout=240_000)
    page.evaluate("window.geaWebgpuCheck(3)")
    # The page's CSP forbids evaluating strings, so no wait_for_function: wait on the DOM.
    expect(page.locator("body[data-webgpu-check], #status[data-state=error]")).to_have_count(
        1, timeout=540_000
    )
    assert status.get_attribute("data-state") == "ready", status.text_content()
    check = json.loads(page.locator("body").get_attribute("data-webgpu-check") or "{}")
    REPORTS.mkdir(exist_ok=True)
    (REPORTS / "webgpu-greedy.json").write_text(json.dumps(check, indent=2) + "\n")
    assert check["wasm"]["text"] == " 10", check  # " 100 degrees…" after 3 tokens
    assert check["webgpu"]["ids"] == check["wasm"]["ids"], check
