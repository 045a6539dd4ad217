"""Tools the agent can call: a registry built from plain Python functions.

A tool is a function with type hints and a docstring. The first docstring line is what the model
is told the tool does; the parameters (name, type, default) become its argument schema, and the
arguments the model writes are checked against it before the function runs. Errors become
observations the model can recover from, never exceptions out of the loop.
See docs/TOOL_DEVELOPMENT.md.
"""

import inspect
import json
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

_TYPES: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
MAX_OUTPUT_CHARS = 2000


class ToolError(Exception):
    """Raised by a tool (or its argument check) with a message meant for the model."""


@dataclass(frozen=True)
class Parameter:
    name: str
    type: Any  # str | int | float | bool
    required: bool
    default: Any = None

    @property
    def type_name(self) -> str:
        return _TYPES[self.type]


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: tuple[Parameter, ...]
    function: Callable[..., Any]
    # Characters the model may use when it writes this tool's input (constrained decoding);
    # None: any text.
    input_charset: str | None = None
    example: str = ""
    # How to answer from the tool's output (question, output) -> answer: a number or a
    # converted quantity is the answer itself; a passage gives its best sentence. With grounded
    # answers the agent uses it instead of letting a small model retype the output. None (or
    # None returned): the model writes the answer.
    answer_from_output: Callable[[str, str], str | None] | None = None
    # The whole Action Input goes to the one string parameter, even when it looks like JSON
    # (the tool parses it itself).
    raw_input: bool = False
    # Constrained decoding of the input to the question's own tokens (plus "to"/"in"): the model
    # can only copy, e.g. "3 hours to minutes" out of "How many minutes are in 3 hours?".
    input_from_question: bool = False
    # Whether the tool can help with a question at all (a cheap check of the question, e.g.
    # "has a number" for arithmetic): a tool that cannot is not offered to the model for that
    # question, nor are its examples. None: always offered.
    applies: Callable[[str], bool] | None = None
    # An argument grammar for arithmetic: the input may only end once it uses every number the
    # question gives ("12 * 12, plus 6" cannot stop at "12 * 12").
    input_uses_numbers: bool = False
    # With constrained decoding the input is the whole question, not the model's copy of part
    # of it: a search loses the words a small model drops ("port listen on" for "Which port
    # does the edge worker listen on?"), and no tokens are spent writing it.
    input_is_question: bool = False
    # Whether the question needs this tool before anything else (with constrained decoding,
    # the first step's action): "search my notes for …" needs search_docs, and a 270M model
    # tends to answer such questions from memory. None: the model chooses.
    required_for: Callable[[str], bool] | None = None

    def applies_to(self, question: str) -> bool:
        return self.applies is None or self.applies(question)

    def signature(self) -> str:
        args = ", ".join(
            f"{p.name}: {p.type_name}" + ("" if p.required else f" = {p.default!r}")
            for p in self.parameters
        )
        return f"{self.name}({args})"

    def parse_arguments(self, raw: str) -> dict[str, Any]:
        """The model's Action Input → keyword arguments: JSON when it is a JSON object,
        otherwise the whole text for a tool whose only required parameter is a string."""
        text = raw.strip()
        if self.raw_input:
            return {self.parameters[0].name: text}
        if text.startswith("{"):
            try:
                value = json.loads(text)
            except ValueError:
                value = _lenient_json(text)
            if not isinstance(value, dict):
                raise ToolError(f"{self.name} expects a JSON object like {self.example or '{}'}")
            return self._check(value)
        required = [p for p in self.parameters if p.required]
        if not required and text.lower() in ("", "none", "null", "-"):
            return {}
        if len(required) == 1 and required[0].type is str:
            return self._check({required[0].name: _unquote(text)})
        if not self.parameters:
            return {}
        raise ToolError(
            f"{self.name} takes {self.signature()}: write its input as a JSON object, e.g. "
            f"{self.example or json.dumps({p.name: '...' for p in self.parameters})}"
        )

    def _check(self, args: Mapping[str, Any]) -> dict[str, Any]:
        known = {p.name: p for p in self.parameters}
        unknown = sorted(set(args) - set(known))
        if unknown:
            raise ToolError(f"{self.name} has no argument {', '.join(unknown)}: {self.signature()}")
        out: dict[str, Any] = {}
        for p in self.parameters:
            if p.name not in args:
                if p.required:
                    raise ToolError(f"{self.name} needs {p.name!r}: {self.signature()}")
                continue
            out[p.name] = _coerce(p, args[p.name], self.name)
        return out

    def run(self, raw_input: str) -> str:
        """Parse, validate, call; any failure is returned as an error text for the model."""
        try:
            result = self.function(**self.parse_arguments(raw_input))
        except ToolError as exc:
            return f"Error: {exc}"
        except Exception as exc:  # a tool bug must not end the conversation
            return f"Error: {self.name} failed ({type(exc).__name__}: {exc})"
        text = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False)
        if len(text) > MAX_OUTPUT_CHARS:
            text = text[:MAX_OUTPUT_CHARS] + " …(truncated)"
        return text


def output_is_answer(question: str, output: str) -> str:
    """`answer_from_output` for tools whose whole output is the answer."""
    return output


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'`":
        return text[1:-1]
    return text


def _lenient_json(text: str) -> Any:
    """Small models write almost-JSON: single quotes, trailing commas, a missing brace."""
    fixed = text.replace("'", '"').rstrip().rstrip(",")
    for candidate in (fixed, fixed + "}", fixed.replace(",}", "}")):
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    raise ToolError("the input is not valid JSON")


def _coerce(p: Parameter, value: Any, tool: str) -> Any:
    if p.type is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if p.type is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if p.type in (int, float) and isinstance(value, str):
        try:
            return p.type(value.strip())
        except ValueError:
            pass
    if isinstance(value, p.type) and not (p.type is not bool and isinstance(value, bool)):
        return value
    raise ToolError(f"{tool}: {p.name!r} must be a {p.type_name}, got {value!r}")


def tool(
    function: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    input_charset: str | None = None,
    example: str = "",
    answer_from_output: Callable[[str, str], str | None] | None = None,
    raw_input: bool = False,
    input_from_question: bool = False,
    applies: Callable[[str], bool] | None = None,
    input_uses_numbers: bool = False,
    input_is_question: bool = False,
    required_for: Callable[[str], bool] | None = None,
) -> Any:
    """Decorator (or call) turning a typed, documented function into a `Tool`."""

    def make(f: Callable[..., Any]) -> Tool:
        doc = inspect.getdoc(f)
        if not doc:
            raise TypeError(f"tool {f.__name__} needs a docstring: it is the model's description")
        hints = typing.get_type_hints(f)
        params = []
        for p in inspect.signature(f).parameters.values():
            kind = hints.get(p.name)
            if kind not in _TYPES:
                raise TypeError(
                    f"tool {f.__name__}: parameter {p.name} needs a str/int/float/bool hint"
                )
            required = p.default is inspect.Parameter.empty
            params.append(Parameter(p.name, kind, required, None if required else p.default))
        tool_name = name or f.__name__
        if raw_input and [p.type for p in params] != [str]:
            raise TypeError(f"tool {tool_name}: raw_input needs exactly one str parameter")
        if not tool_name.isidentifier():
            raise TypeError(f"tool name {tool_name!r} must be an identifier")
        return Tool(
            tool_name,
            doc.splitlines()[0],
            tuple(params),
            f,
            input_charset,
            example,
            answer_from_output,
            raw_input,
            input_from_question,
            applies,
            input_uses_numbers,
            input_is_question,
            required_for,
        )

    return make(function) if function is not None else make


class ToolRegistry:
    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for t in tools:
            self.add(t)

    def add(self, t: Tool) -> None:
        if t.name in self._tools:
            raise ValueError(f"a tool named {t.name!r} is already registered")
        self._tools[t.name] = t

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def __iter__(self) -> typing.Iterator[Tool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    @property
    def names(self) -> list[str]:
        return list(self._tools)
