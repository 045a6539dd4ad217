"""Build tools of Gemma Edge Agent: toolchain checks, wasm modules, web assets, local server."""
