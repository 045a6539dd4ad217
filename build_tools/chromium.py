"""How the project launches Debian's Chromium headless on these machines (tests and benchmarks)."""

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium floods the closed network with refused
# connections; --enable-unsafe-webgpu is what exposes the (SwiftShader) WebGPU adapter.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--enable-unsafe-webgpu",
]
