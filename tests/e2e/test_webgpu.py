"""WebGPU in headless Chromium (SwiftShader): the adapter the WebGPU backend would get."""

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

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
