"""Tool registry, argument checking and the built-in tools."""

import json

import pytest

from py_agent.tools import Tool, ToolError, ToolRegistry, tool
from py_agent.tools.calculator import CALCULATOR, calculator, evaluate
from py_agent.tools.dates import DATETIME
from py_agent.tools.units import CONVERT_UNITS, convert_units


def add(a: int, b: int = 2) -> int:
    """Add two integers.

    More text that the model does not see.
    """
    return a + b


def test_registry_from_plain_functions() -> None:
    t: Tool = tool(add)
    assert t.name == "add"
    assert t.description == "Add two integers."
    assert t.signature() == "add(a: integer, b: integer = 2)"
    reg = ToolRegistry([t, CALCULATOR])
    assert reg.names == ["add", "calculator"]
    assert reg.get("nope") is None
    with pytest.raises(ValueError, match="already registered"):
        reg.add(t)


def test_bad_tool_definitions_are_refused() -> None:
    def undocumented(x: int) -> int:
        return x

    def untyped(x):  # type: ignore[no-untyped-def]
        """Doc."""
        return x

    with pytest.raises(TypeError, match="docstring"):
        tool(undocumented)
    with pytest.raises(TypeError, match="hint"):
        tool(untyped)
    with pytest.raises(TypeError, match="identifier"):
        tool(add, name="two words")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"a": 1, "b": 5}', "6"),
        ("{'a': 1, 'b': 5,}", "6"),  # almost-JSON from a small model
        ('{"a": "4"}', "6"),  # numeric string coerced
        ('{"a": 1.0}', "3"),  # integral float accepted as int
        ('{"a": 1', "3"),  # missing brace
    ],
)
def test_arguments_json_and_lenient(raw: str, expected: str) -> None:
    assert tool(add).run(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('{"b": 1}', "needs 'a'"),
        ('{"a": 1, "c": 2}', "no argument c"),
        ('{"a": "x"}', "must be a integer"),
        ('{"a": true}', "must be a integer"),
        ("[1, 2]", "JSON object"),
        ("1 and 2", "write its input as a JSON object"),
        ("{not json at all", "not valid JSON"),
    ],
)
def test_argument_errors_become_error_text(raw: str, message: str) -> None:
    out = tool(add).run(raw)
    assert out.startswith("Error:")
    assert message in out


def test_tool_exceptions_and_long_output_are_contained() -> None:
    def boom(x: str) -> str:
        """Fail."""
        raise RuntimeError("kaput")

    def chatty(x: str) -> str:
        """Talk."""
        return "y" * 5000

    assert tool(boom).run("a") == "Error: boom failed (RuntimeError: kaput)"
    out = tool(chatty).run('"a"')
    assert len(out) < 2100
    assert out.endswith("…(truncated)")


@pytest.mark.parametrize(
    ("expr", "value"),
    [
        ("347 * 29", "10063"),
        ("2 + 3 * 4", "14"),
        ("(2 + 3) * 4", "20"),
        ("2^10", "1024"),
        ("7 / 2", "3.5"),
        ("-3 ** 2", "-9"),
        ("sqrt(16) + abs(-2)", "6"),
        ("1,234 + 1", "1235"),
        ("0.1 + 0.2", "0.3"),
        ("round(pi, 2)", "3.14"),
        ("12 \u00d7 3 \u00f7 4", "9"),  # multiplication and division signs
        ("25% of 240", "60"),
        ("200 * 5%", "10"),
        ("7 % 3", "1"),
    ],
)
def test_calculator_values(expr: str, value: str) -> None:
    assert calculator(expr) == value


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("9**9**9", "exponents above"),
        ("10 ** 400", "too large"),
        ("1 / 0", "division by zero"),
        ("__import__('os').system('id')", "unsupported"),
        ("(1).__class__", "unsupported"),
        ("open('x')", "unsupported"),
        ("[1, 2]", "cannot parse"),
        ("[1 + 2]", "unsupported"),
        ("'a' * 3", "only numbers"),
        ("", "empty"),
        ("1 +", "cannot parse"),
        ("1+" * 150 + "1", "longer than"),
        ("sqrt(-1)", "sqrt"),
    ],
)
def test_calculator_refuses_safely(expr: str, message: str) -> None:
    with pytest.raises(ToolError, match=message):
        evaluate(expr)
    assert CALCULATOR.run(expr).startswith("Error:")


def test_convert_units() -> None:
    assert convert_units(5, "km", "mi") == "3.106856 mi"
    assert convert_units(100, "celsius", "F") == "212 F"
    assert convert_units(150, "pounds", "kg") == "68.038855 kg"
    assert CONVERT_UNITS.run('{"value": 1, "from_unit": "GiB", "to_unit": "MiB"}') == "1024 MiB"
    assert "cannot convert" in CONVERT_UNITS.run('{"value": 1, "from_unit": "kg", "to_unit": "m"}')
    assert "unknown unit" in CONVERT_UNITS.run(
        '{"value": 1, "from_unit": "parsec", "to_unit": "m"}'
    )
    assert "cannot convert" in CONVERT_UNITS.run('{"value": 1, "from_unit": "C", "to_unit": "m"}')
    # Natural phrasings, as a small model copies them from the question.
    assert CONVERT_UNITS.run("42 km to miles") == "26.09759 miles"
    assert CONVERT_UNITS.run("How many miles is 42 km") == "26.09759 miles"
    assert CONVERT_UNITS.run("100 degrees Celsius in Fahrenheit") == "212 Fahrenheit"
    assert CONVERT_UNITS.run("How many minutes are in 3 hours") == "180 minutes"
    assert "write the input like" in CONVERT_UNITS.run("lots of km")


def test_datetime_tool() -> None:
    out = DATETIME.run("")
    assert "UTC+0000" in out
    assert "UTC+0200" in DATETIME.run('{"utc_offset_hours": 2}')
    assert "between -14 and 14" in DATETIME.run('{"utc_offset_hours": 99}')
    assert json.loads('{"utc_offset_hours": 0}') == {"utc_offset_hours": 0}
