import sys

import pytest

from build_tools.errors import BuildError
from build_tools.toolchain import require_tool, run


def test_require_tool_finds_a_present_tool() -> None:
    assert require_tool(sys.executable).is_file()


def test_missing_tool_names_the_debian_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(
        BuildError, match=r"`wasm-opt` was not found: install it with `apt-get install binaryen`"
    ):
        require_tool("wasm-opt")
    with pytest.raises(BuildError, match=r"`some-tool` was not found: install it"):
        require_tool("some-tool")


def test_run_returns_output() -> None:
    out = run([sys.executable, "-c", "print('hi')"], what="echo", capture=True)
    assert out == "hi\n"


def test_run_failure_names_the_step_and_shows_the_output() -> None:
    code = "import sys; print('line one'); sys.exit(3)"
    with pytest.raises(BuildError, match=r"(?s)compiling things failed \(exit 3\).*line one"):
        run([sys.executable, "-c", code], what="compiling things", capture=True)


def test_run_of_a_missing_program_is_a_build_error() -> None:
    with pytest.raises(BuildError, match="frobnicate: cannot run `/no/such/program`"):
        run(["/no/such/program"], what="frobnicate")
