"""Language-model backends that need only the standard library (the native and browser ones
live with their engines: `build_tools/agent_backend.py`, `web/`)."""
