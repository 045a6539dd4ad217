"""The benchmark harness (`make bench`, bench/run.py) on its tiny setting (--quick).

Benchmarks are not tests: this only checks that the harness runs every area end to end and
writes benchmarks.json (every timed area, real numbers > 0; `answers`: the fine-tuned agent's
graded answers to 3 evaluation tasks), the generated block of benchmarks.md (between its
markers, the rest of the page kept as it was) and one PNG per area. About two minutes on 2
cores; the numbers it produces mean nothing.
"""

import json
import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from build_tools.paths import ROOT, WEB_BUILD

AREAS = ("tokenizer", "vector", "llm", "native", "agent", "kernels")
BEGIN = "<!-- bench/run.py: begin"
END = "<!-- bench/run.py: end -->"
PAGE = "# Benchmarks\n\nIntro kept.\n\n## Hand-written section\n\nKept text | 1.23 |\n"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def built(default_model: Path, default_index: Path) -> Path:
    """Everything the areas read: the wasm build, the model, the embedder and the docs index."""
    for name in ("gemma_bg.wasm", "tokenizer_bg.wasm", "vector_bg.wasm"):
        assert (WEB_BUILD / "wasm" / name).is_file(), f"{name} missing: run `make build`"
    assert (ROOT / "node_modules" / "@wllama" / "wllama").is_dir(), "run `npm ci`"
    return default_model


def medians(node: Any) -> Iterator[float]:
    """Every median ("median", "median_ms", ...) in a JSON tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key.startswith("median") and isinstance(value, int | float):
                yield float(value)
            else:
                yield from medians(value)
    elif isinstance(node, list):
        for value in node:
            yield from medians(value)


def run_harness(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "bench/run.py", "--out", str(out), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_quick_harness_writes_json_markdown_and_figures(built: Path, tmp_path: Path) -> None:
    (tmp_path / "benchmarks.md").write_text(PAGE)
    proc = run_harness(tmp_path, "--quick")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]

    doc = json.loads((tmp_path / "benchmarks.json").read_text())
    assert doc["machine"]["logical_cpus"] >= 1
    assert doc["machine"]["cpu"]
    assert doc["versions"]["npm"]["@wllama/wllama"]["installed"]
    assert doc["versions"]["chromium"]
    for name in AREAS:
        area = doc["areas"][name]
        assert "error" not in area, area.get("error")
        assert area["quick"] is True
        assert area["commands"], name
        stats = list(medians({k: v for k, v in area.items() if k != "raw"}))
        assert stats, f"{name}: no median/min/max statistics"
        assert all(math.isfinite(v) and v > 0 for v in stats), (name, stats)
    llm = doc["areas"]["llm"]
    assert llm["rows"][0]["engine"].startswith("ours")
    assert any(r["engine"].startswith("wllama") for r in llm["rows"])
    assert all(r["starts_with_100"] for r in llm["rows"] + llm["node_rows"])
    assert llm["ours_over_wllama"]["wllama_1_threads"]["decode"] > 0
    ceiling = llm["ceiling"]
    assert ceiling["bandwidth_gb_s"] > 0
    assert 1e8 < ceiling["bytes_per_token"] < ceiling["file_bytes"]
    assert ceiling["ceiling_tok_s"] > 0
    tok = doc["areas"]["tokenizer"]
    assert all(r["differing_chunks"] == 0 for r in tok["rows"])
    vector = doc["areas"]["vector"]
    assert vector["ours_over_best_peer_qps"]["min"] > 0
    chromium = vector["chromium"]  # the same harness and vectors in headless Chromium
    assert chromium["runtime"].startswith("Chromium")
    assert chromium["ours_over_best_peer_qps"]["min"] > 0
    engines = {r["engine"] for r in chromium["rows"]}
    assert {"ours HnswIndex", "ours FlatIndex", "hnswlib-wasm", "voy-search"} <= engines
    assert engines == {r["engine"] for r in vector["rows"]}
    assert all(0 <= r["recall"] <= 1 and r["qps"] > 0 for r in chromium["rows"])
    assert all(b["rss_growth_mb"] is None for b in chromium["builds"].values())
    flat = next(r for r in chromium["rows"] if r["engine"] == "ours FlatIndex")
    assert flat["recall"] == 1.0  # an exact scan
    assert doc["areas"]["agent"]["summary"]["outside_ms_per_step"]["median"] > 0
    answers = doc["areas"]["answers"]  # no medians: graded answers, not timings
    assert "error" not in answers, answers.get("error")
    assert answers["quick"] is True
    assert answers["commands"]
    assert answers["settings"]["task_file"] == "bench/agent/eval.json"
    assert answers["settings"]["tasks"] == 3
    run = answers["runs"]["agent/separate"]  # --quick: the fine-tune natively, 3 tasks
    assert run["tasks"] == 3
    assert 0 <= run["solved"] <= 1
    assert 0 <= run["lenient"] <= 1
    assert sum(c["tasks"] for c in run["per_category"].values()) == 3
    assert "rows" not in run  # the per-task rows stay in the script's own JSON
    assert len(run["failed"]) == round(3 * (1 - run["solved"]))
    assert all(len(f["answer"]) <= 80 for f in run["failed"])

    page = (tmp_path / "benchmarks.md").read_text()
    assert page.startswith("# Benchmarks\n\nIntro kept.\n")
    assert page.count(BEGIN) == 1
    assert page.count(END) == 1
    assert page.index(BEGIN) < page.index(END) < page.index("## Hand-written section")
    assert page.rstrip().endswith("Kept text | 1.23 |")
    block = page[page.index(BEGIN) : page.index(END)]
    assert "Quick setting" in block
    assert "Cold start of the page" in block  # said to be not measured, not invented
    assert "### Agent answers on the frozen evaluation set (strict grader)" in block
    assert "| agent/separate |" in block or "| **agent/separate** |" in block
    for name in (*AREAS, "answers"):
        png = tmp_path / "img" / f"bench_{name}.png"
        assert png.read_bytes()[:8] == PNG_MAGIC
        assert f"](img/bench_{name}.png)" in block
    for line in block.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            assert line.endswith("|"), line

    # Regenerating from the JSON replaces the block in place: the page does not grow.
    proc = run_harness(tmp_path, "--render-only")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "benchmarks.md").read_text() == page


def test_unknown_area_is_refused(tmp_path: Path) -> None:
    proc = run_harness(tmp_path, "--only", "nope")
    assert proc.returncode == 2
    assert "unknown area" in proc.stderr
