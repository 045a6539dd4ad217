"""`convert_units`: length, mass, volume, time, speed, data and temperature conversions.

The input is natural ("42 km to mi", "How many miles is 42 km") or JSON
({"value": 42, "from_unit": "km", "to_unit": "mi"}): a small model copies phrases from the
question far more reliably than it fills in a JSON object.
"""

import itertools
import re

from py_agent.tools import Tool, ToolError, output_is_answer, tool
from py_agent.tools.calculator import format_number
from py_agent.tools.quantities import has_number

# unit -> (dimension, factor to the dimension's base unit)
_UNITS: dict[str, tuple[str, float]] = {
    "m": ("length", 1.0), "km": ("length", 1000.0), "cm": ("length", 0.01),
    "mm": ("length", 0.001), "mi": ("length", 1609.344), "yd": ("length", 0.9144),
    "ft": ("length", 0.3048), "in": ("length", 0.0254),
    "kg": ("mass", 1.0), "g": ("mass", 0.001), "mg": ("mass", 1e-6), "lb": ("mass", 0.45359237),
    "oz": ("mass", 0.028349523125), "t": ("mass", 1000.0),
    "l": ("volume", 1.0), "ml": ("volume", 0.001), "gal": ("volume", 3.785411784),
    "cup": ("volume", 0.2365882365),
    "s": ("time", 1.0), "min": ("time", 60.0), "h": ("time", 3600.0), "day": ("time", 86400.0),
    "week": ("time", 604800.0),
    "m/s": ("speed", 1.0), "km/h": ("speed", 1 / 3.6), "mph": ("speed", 0.44704),
    "b": ("data", 1.0), "kb": ("data", 1e3), "mb": ("data", 1e6), "gb": ("data", 1e9),
    "kib": ("data", 1024.0), "mib": ("data", 1024.0**2), "gib": ("data", 1024.0**3),
}  # fmt: skip
_ALIASES = {
    "meter": "m", "meters": "m", "metre": "m", "metres": "m", "kilometer": "km",
    "kilometers": "km", "kilometre": "km", "kilometres": "km", "centimeters": "cm",
    "millimeters": "mm", "mile": "mi", "miles": "mi", "yard": "yd", "yards": "yd", "foot": "ft",
    "feet": "ft", "inch": "in", "inches": "in", "kilogram": "kg", "kilograms": "kg",
    "gram": "g", "grams": "g", "pound": "lb", "pounds": "lb", "lbs": "lb", "ounce": "oz",
    "ounces": "oz", "liter": "l", "liters": "l", "litre": "l", "litres": "l",
    "milliliters": "ml", "gallon": "gal", "gallons": "gal", "cups": "cup", "second": "s",
    "seconds": "s", "minute": "min", "minutes": "min", "hour": "h", "hours": "h",
    "days": "day", "weeks": "week", "tonne": "t", "tonnes": "t", "centimeter": "cm",
    "millimeter": "mm", "milliliter": "ml", "bytes": "b", "kilobytes": "kb", "megabytes": "mb",
    "gigabytes": "gb", "hrs": "h", "mins": "min", "secs": "s", "kph": "km/h",
    "celsius": "c", "°c": "c", "fahrenheit": "f", "°f": "f", "kelvin": "k",
}  # fmt: skip
_TEMPERATURE = {"c", "f", "k"}


def _unit(name: str) -> str:
    key = name.strip().lower().rstrip(".")
    key = _ALIASES.get(key, key)
    if key not in _UNITS and key not in _TEMPERATURE:
        raise ToolError(f"unknown unit {name!r}")
    return key


def _to_kelvin(v: float, u: str) -> float:
    return v + 273.15 if u == "c" else (v - 32) * 5 / 9 + 273.15 if u == "f" else v


def _from_kelvin(v: float, u: str) -> float:
    return v - 273.15 if u == "c" else (v - 273.15) * 9 / 5 + 32 if u == "f" else v


# "a week", "an hour", "one mile": the quantity 1, as people ask ("How many days are in a week?").
_NUMBER = r"(-?\d+(?:[.,]\d+)?|\ban\b|\ba\b|\bone\b)"
_UNIT = r"(°?[a-zA-Z/]+)"
_FORWARD = re.compile(rf"{_NUMBER}\s*{_UNIT}\s+(?:to|in|into|as)\s+{_UNIT}", re.IGNORECASE)
_QUESTION = re.compile(
    rf"how\s+many\s+{_UNIT}\s+(?:(?:is|are|make|equals?)\s+)?(?:there\s+)?(?:in\s+)?"
    rf"{_NUMBER}\s*{_UNIT}",
    re.IGNORECASE,
)
_DEGREES = re.compile(r"\bdegrees?\s+", re.IGNORECASE)


def _value(text: str) -> float:
    return 1.0 if text.lower() in ("a", "an", "one") else float(text.replace(",", ""))


def _is_unit(word: str) -> bool:
    try:
        _unit(word)
    except ToolError:
        return False
    return True


def asks_conversion(question: str) -> bool:
    """The question names a unit and a quantity of something: a number, or "a"/"an"/"one"
    before a unit ("How many days are in a week?"). Short unit names count only after a
    number ("5 m", not the "in" of "in a week")."""
    words = re.findall(r"[a-zA-Z°/]+|\d+(?:[.,]\d+)?", question)
    unit_named = False
    quantity = has_number(question)
    for before, word in itertools.pairwise(["", *words]):
        if not _is_unit(word):
            continue
        after_number = before[:1].isdigit()
        if len(word) >= 3 or after_number:
            unit_named = True
        if before.lower() in ("a", "an", "one"):
            quantity = True
    return unit_named and quantity


def parse_conversion(text: str) -> tuple[float, str, str]:
    """(value, from, to) from "42 km to miles", "100 degrees Celsius in Fahrenheit" or
    "How many miles is 42 km" — the phrasings a small model copies from the question."""
    plain = _DEGREES.sub("", text)
    m = _FORWARD.search(plain)
    if m:
        return _value(m.group(1)), m.group(2), m.group(3)
    m = _QUESTION.search(plain)
    if m:
        return _value(m.group(2)), m.group(3), m.group(1)
    raise ToolError(
        'write the input like "42 km to mi" or {"value": 42, "from_unit": "km", "to_unit": "mi"}'
    )


def convert(text: str) -> str:
    """Convert a quantity between units, e.g. 5 km to mi, or 100 C to F."""
    text = text.strip()
    if text.startswith("{"):
        args = CONVERT_UNITS_JSON.parse_arguments(text)
        return convert_units(**args)
    return convert_units(*parse_conversion(text))


def convert_units(value: float, from_unit: str, to_unit: str) -> str:
    """Convert a quantity between units, e.g. {"value": 5, "from_unit": "km", "to_unit": "mi"}."""
    a, b = _unit(from_unit), _unit(to_unit)
    if a in _TEMPERATURE or b in _TEMPERATURE:
        if not (a in _TEMPERATURE and b in _TEMPERATURE):
            raise ToolError(f"cannot convert {from_unit} to {to_unit}")
        out = _from_kelvin(_to_kelvin(value, a), b)
    else:
        (da, fa), (db, fb) = _UNITS[a], _UNITS[b]
        if da != db:
            raise ToolError(f"cannot convert {da} ({from_unit}) to {db} ({to_unit})")
        out = value * fa / fb
    return f"{format_number(round(out, 6))} {to_unit}"


CONVERT_UNITS_JSON: Tool = tool(convert_units)
CONVERT_UNITS: Tool = tool(
    convert,
    name="convert_units",
    example="5 km to mi",
    answer_from_output=output_is_answer,
    raw_input=True,
    input_from_question=True,
    applies=asks_conversion,
)
