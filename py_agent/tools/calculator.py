"""`calculator`: arithmetic through a whitelist AST evaluator — never `eval`.

Numbers, + - * / // % **, parentheses, unary signs and a few math functions (factorial among
them) and constants;
"15% of 860" and "12%" read as percentages ("%" between two numbers stays modulo).
Exponents, factorials and result sizes are bounded so that "9**9**9" is an error, not a hang.
"""

import ast
import math
import re
from collections.abc import Callable
from typing import Any

from py_agent.tools import Tool, ToolError, output_is_answer, tool
from py_agent.tools.quantities import has_number

MAX_EXPRESSION_CHARS = 200
MAX_EXPONENT = 1000
MAX_ABS = 1e300
MAX_DEPTH = 32

MAX_FACTORIAL = 170  # 171! is above MAX_ABS


def _factorial(n: float) -> int:
    if isinstance(n, float) and not n.is_integer():
        raise ValueError("factorial needs a whole number")
    if not 0 <= n <= MAX_FACTORIAL:
        raise ValueError(f"factorial needs a number from 0 to {MAX_FACTORIAL}")
    return math.factorial(int(n))


_FUNCTIONS: dict[str, Callable[..., float]] = {
    "factorial": _factorial,
    "sqrt": math.sqrt,
    "log": math.log,
    "log10": math.log10,
    "exp": math.exp,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "abs": abs,
    "round": round,
    "floor": math.floor,
    "ceil": math.ceil,
}
_CONSTANTS = {"pi": math.pi, "e": math.e}
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Mod: lambda a, b: a % b,
    ast.Pow: lambda a, b: a**b,
}
# What the model may type as a calculator input (constrained decoding).
CHARSET = "0123456789.+-*/%() ,eqrtsincoplgxbafdu"


def _number(x: Any) -> float | int:
    if isinstance(x, bool) or not isinstance(x, int | float):
        raise ToolError("only numbers can be computed")
    if (isinstance(x, float) and not math.isfinite(x)) or abs(x) > MAX_ABS:
        raise ToolError("the result is too large")
    return x


def _eval(node: ast.AST, depth: int = 0) -> float | int:
    if depth > MAX_DEPTH:
        raise ToolError("the expression is nested too deeply")
    if isinstance(node, ast.Expression):
        return _eval(node.body, depth + 1)
    if isinstance(node, ast.Constant):
        return _number(node.value)
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
        v = _eval(node.operand, depth + 1)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        a, b = _eval(node.left, depth + 1), _eval(node.right, depth + 1)
        if isinstance(node.op, ast.Pow) and abs(b) > MAX_EXPONENT:
            raise ToolError(f"exponents above {MAX_EXPONENT} are not allowed")
        if isinstance(node.op, ast.Pow) and abs(a) > 1 and abs(b) * math.log10(abs(a)) > 300:
            raise ToolError("the result is too large")
        try:
            return _number(_BINARY[type(node.op)](a, b))
        except ZeroDivisionError as exc:
            raise ToolError("division by zero") from exc
        except OverflowError as exc:
            raise ToolError("the result is too large") from exc
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
        and 1 <= len(node.args) <= 2
    ):
        args = [_eval(a, depth + 1) for a in node.args]
        try:
            return _number(_FUNCTIONS[node.func.id](*args))
        except (ValueError, OverflowError, TypeError) as exc:
            raise ToolError(f"{node.func.id}: {exc}") from exc
    raise ToolError(f"unsupported expression: {ast.unparse(node)[:40]!r}")


_PERCENT_OF = re.compile(r"(\d+(?:\.\d+)?)\s*%\s*of\s+", re.IGNORECASE)
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%(?!\s*[\d(.])")


def evaluate(expression: str) -> float | int:
    text = expression.strip().replace("^", "**").replace("\u00d7", "*").replace("\u00f7", "/")
    # "15% of 860" as people (and models copying the question) write it.
    text = _PERCENT.sub(r"(\1 / 100)", _PERCENT_OF.sub(r"(\1 / 100) * ", text))
    text = text.replace(",", "") if "(" not in text else text
    if not text:
        raise ToolError("the expression is empty")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ToolError(f"the expression is longer than {MAX_EXPRESSION_CHARS} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ToolError(f"cannot parse {expression.strip()!r} as arithmetic") from exc
    return _eval(tree)


def format_number(x: float | int) -> str:
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    if isinstance(x, float):
        return f"{x:.10g}"
    return str(x)


def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression, e.g. 347 * 29 or sqrt(2) / 3."""
    return format_number(evaluate(expression))


CALCULATOR: Tool = tool(
    calculator,
    input_charset=CHARSET,
    example="347 * 29",
    answer_from_output=output_is_answer,
    applies=has_number,
    input_uses_numbers=True,
)
