"""The edge worker's pure modules under `node --test` (tests/edge/worker_units.test.mjs)."""

import subprocess

from build_tools.paths import ROOT


def test_worker_unit_tests_pass() -> None:
    proc = subprocess.run(
        ["node", "--test", "tests/edge/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "# fail 0" in proc.stdout
