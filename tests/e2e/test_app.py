"""The app in real Chromium with the real Gemma 3 270M: load with progress, answer with tools,
cite sources, survive the server going away, refuse a tampered model file.

One persistent browser profile for the module (the Cache API and the service worker must outlive
a reload, which an incognito context's storage quota does not allow for a 300 MB model), and a
server per test module that the offline test can stop.
"""

import json
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from playwright.sync_api import BrowserContext, FilePayload, Page, Playwright, expect

from build_tools.chromium import CHROMIUM, CHROMIUM_FLAGS
from build_tools.serve import AppHandler, make_server, url_of
from build_tools.site import MOUNTS, Mount
from build_tools.web_assets import write_web_assets

pytestmark = pytest.mark.e2e

REPORTS = Path(__file__).resolve().parents[2] / "test-reports"
LOAD_TIMEOUT = 240_000
ANSWER_TIMEOUT = 300_000


@dataclass
class Watch:
    """Every request and console error of a page."""

    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def assert_clean(self, requests_expected: bool = True) -> None:
        assert self.requests or not requests_expected, "no request was recorded"
        for url in self.requests:
            parsed = urlparse(url)
            if parsed.scheme in ("data", "blob"):
                continue
            assert parsed.scheme == "http", url
            assert parsed.hostname == "127.0.0.1", f"request left the machine: {url}"
        assert self.errors == []


class Server:
    def __init__(self, mounts: tuple[Mount, ...] = MOUNTS) -> None:
        handler = type("Handler", (AppHandler,), {"mounts": mounts, "quiet": True})
        self.httpd = make_server(port=0, quiet=True)
        self.httpd.RequestHandlerClass = handler
        self.url = url_of(self.httpd)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def app_server(default_model: Path, default_index: Path) -> Iterator[Server]:
    # The page runs py_agent from build/py_agent.zip: rebuilt here (a second, reproducible, cheap),
    # so the tests exercise this checkout's agent even when `make build` was not re-run.
    write_web_assets()
    server = Server()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def profile(
    playwright: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BrowserContext]:
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path_factory.mktemp("chromium-profile")),
        executable_path=CHROMIUM,
        args=CHROMIUM_FLAGS,
        headless=True,
    )
    yield context
    context.close()


@pytest.fixture(scope="module")
def app(profile: BrowserContext) -> Page:
    return profile.pages[0] if profile.pages else profile.new_page()


def wait_ready(page: Page) -> None:
    status = page.locator("#status")
    expect(status).not_to_have_attribute("data-state", "loading", timeout=LOAD_TIMEOUT)
    assert status.get_attribute("data-state") == "ready", status.text_content()


def ask(page: Page, question: str) -> dict[str, Any]:
    """Asks and waits for the answer; returns what the last assistant message shows."""
    before = page.locator("li.assistant").count()
    page.fill("#question", question)
    page.keyboard.press("Enter")
    message = page.locator("li.assistant").nth(before)
    answer = message.locator(".answer")
    expect(answer).not_to_have_attribute("data-state", "thinking", timeout=ANSWER_TIMEOUT)
    expect(answer).not_to_have_attribute("data-state", "streaming", timeout=ANSWER_TIMEOUT)
    return {
        "answer": answer.text_content(),
        "state": answer.get_attribute("data-state"),
        "tools": message.locator(".steps li[data-kind=action]").evaluate_all(
            "els => els.map(e => e.dataset.tool)"
        ),
        "sources": message.locator(".sources li").all_text_contents(),
        "stats": message.locator(".stats").text_content(),
    }


def test_first_visit_loads_with_progress_and_answers_with_the_calculator(
    app: Page, app_server: Server
) -> None:
    watch = Watch()
    watch.attach(app)
    app.goto(app_server.url)
    wait_ready(app)
    progress = app.locator("#load-progress")
    loaded, total = progress.get_attribute("data-loaded"), progress.get_attribute("data-total")
    assert loaded is not None
    assert total is not None
    assert int(total) > 250_000_000  # the weights, the tokenizer, the index: all counted
    assert loaded == total
    expect(app.locator("#backend")).to_have_text("wasm-simd128")
    assert app.evaluate("crossOriginIsolated") is True
    # Once ready, the worker runs the prompt's instructions into the decoder's cache (the
    # fine-tuned default's are short: 86 tokens with the four tools).
    body = app.locator("body")
    expect(body).to_have_attribute("data-warm-tokens", re.compile(r"^[1-9]\d+$"))

    got = ask(app, "What is 347 * 29?")
    assert got["state"] == "done", got
    assert "calculator" in got["tools"]
    assert "10063" in (got["answer"] or "")
    REPORTS.mkdir(exist_ok=True)
    app.screenshot(path=str(REPORTS / "app.png"), full_page=True)
    (REPORTS / "app-calculator.json").write_text(json.dumps(got, indent=2) + "\n")
    watch.assert_clean()


def test_a_question_about_the_documents_searches_and_cites_a_source(app: Page) -> None:
    watch = Watch()
    watch.attach(app)
    got = ask(app, "Which package manager command lists the installed packages on Debian?")
    (REPORTS / "app-search.json").write_text(json.dumps(got, indent=2) + "\n")
    assert "search_docs" in got["tools"], got
    assert got["sources"], got
    assert any(s.startswith("debian-reference") or ".md" in s for s in got["sources"]), got
    watch.assert_clean(requests_expected=False)  # everything it needs is already loaded


NOTE = """# The boat Marigold

Marigold is a wooden sailing boat built in 1987. The sail of the boat Marigold is dark green,
and she sleeps four people. Her home port is Kirkwall in Orkney.
"""


def test_the_users_documents_are_indexed_searched_kept_and_removed(app: Page) -> None:
    watch = Watch()
    watch.attach(app)
    app.locator("#documents summary").click()
    app.set_input_files(
        "#doc-files",
        files=[
            FilePayload(name="marigold.md", mimeType="text/markdown", buffer=NOTE.encode()),
            FilePayload(name="scan.pdf", mimeType="application/pdf", buffer=b"%PDF-1.4"),
        ],
    )
    expect(app.locator("#doc-list li[data-name='marigold.md']")).to_have_count(1, timeout=60_000)
    expect(app.locator("#doc-status")).to_contain_text("scan.pdf was not added")
    expect(app.locator("#doc-count")).to_have_text("1")

    got = ask(app, "Search my documents: what colour is the sail of the boat Marigold?")
    (REPORTS / "app-documents.json").write_text(json.dumps(got, indent=2) + "\n")
    assert "search_docs" in got["tools"], got
    assert any(s.startswith("marigold.md") for s in got["sources"]), got
    assert "green" in (got["answer"] or ""), got

    app.reload()  # kept in IndexedDB
    wait_ready(app)
    expect(app.locator("#doc-list li[data-name='marigold.md']")).to_have_count(1)
    app.locator("#documents summary").click()
    app.get_by_role("button", name="Remove marigold.md").click()
    expect(app.locator("#doc-list li")).to_have_count(0, timeout=30_000)
    expect(app.locator("#doc-count")).to_have_text("0")
    watch.assert_clean()


def test_after_one_visit_it_reloads_and_answers_with_the_server_stopped(
    app: Page, app_server: Server, default_model: Path
) -> None:
    # The service worker controls the page and the model files are stored before going offline.
    app.evaluate("navigator.serviceWorker.ready.then(() => true)")
    app.reload()
    wait_ready(app)
    assert app.evaluate("navigator.serviceWorker.controller !== null") is True
    # Verified model files are kept in the origin private file system, named by their sha256.
    stored = app.evaluate(
        """async () => {
          const root = await navigator.storage.getDirectory();
          const dir = await root.getDirectoryHandle('gea-models');
          const names = [];
          for await (const name of dir.keys()) names.push(name);
          return names;
        }"""
    )
    manifest = json.loads((default_model / "manifest.json").read_text())
    doc = json.loads((default_model / "model.json").read_text())
    wasm_weights = doc["variants"][doc["default_variant"]]["wasm_weights"]
    weights = next(f for f in manifest["files"] if f["path"] == wasm_weights)
    assert weights["sha256"] in stored, stored
    assert not any(n.endswith(".part") for n in stored), stored

    app_server.stop()
    watch = Watch()
    watch.attach(app)
    t0 = time.monotonic()
    app.reload()
    wait_ready(app)
    ready_seconds = time.monotonic() - t0
    got = ask(app, "What is 12 * 12?")
    assert "144" in (got["answer"] or ""), got
    (REPORTS / "app-offline.json").write_text(
        json.dumps({**got, "ready_seconds": ready_seconds}, indent=2) + "\n"
    )
    # Only the (stopped) loopback server was ever asked; the worker's fetches all failed over
    # to the stored copies without an error on the page.
    watch.assert_clean()


def test_a_tampered_model_file_is_refused_with_a_visible_message(
    playwright: Playwright, default_model: Path, default_index: Path, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    shutil.copytree(default_index, models / default_index.name)
    tampered = models / default_model.name
    tampered.mkdir()
    for name in ("manifest.json", "model.json"):
        shutil.copy(default_model / name, tampered / name)
    text = (tampered / "model.json").read_text()
    # A plausible edit of the same size: only the digest can tell.
    (tampered / "model.json").write_text(
        text.replace('"prompt_format": "completion"', '"prompt_format": "completioN"')
    )
    mounts = tuple(
        Mount(m.prefix, models, m.suffixes) if m.prefix == "/models/" else m for m in MOUNTS
    )
    server = Server(mounts)
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
    try:
        page = browser.new_page()
        page.goto(server.url)
        status = page.locator("#status")
        expect(status).to_have_attribute("data-state", "error", timeout=LOAD_TIMEOUT)
        text = status.text_content() or ""
        assert text.startswith("Refused:"), text
        assert "model.json failed verification" in text
        assert "not used" in text
        expect(page.locator("#question")).to_be_disabled()
    finally:
        browser.close()
        server.stop()
