"""Shared fixtures: the real local server on an ephemeral loopback port, and Chromium's flags."""

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from build_tools.chromium import CHROMIUM, CHROMIUM_FLAGS
from build_tools.serve import make_server, url_of


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    server = make_server(port=0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield url_of(server)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_FLAGS}


@pytest.fixture(scope="session")
def default_model() -> Path:
    """The real Gemma 3 270M build, made through the CLI when missing (about 2 minutes)."""
    from build_tools import cli
    from build_tools.default_model import MODEL_ID
    from build_tools.paths import MODELS_CACHE

    assert cli.main(["model", "default", "--if-missing"]) == 0
    return MODELS_CACHE / MODEL_ID


@pytest.fixture(scope="session")
def default_index() -> Path:
    """The embedder and the default document index, built through the CLI when missing or stale
    (about a minute): the page and the edge worker load them."""
    from build_tools import cli
    from build_tools.corpus_index import INDEX_ID
    from build_tools.paths import MODELS_CACHE

    assert cli.main(["embedder", "--if-missing"]) == 0
    assert cli.main(["index"]) == 0
    return MODELS_CACHE / INDEX_ID
