"""Numbers in a question: whether an arithmetic tool can help, and which numbers its input must
use. Plain text rules, no model: cheap enough to run before every step."""

import re

_DIGITS = re.compile(r"(?<![\w.])-?\d+(?:,\d{3})*(?:\.\d+)?")
_WORDS = re.compile(
    r"\b(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|"
    r"fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|"
    r"seventy|eighty|ninety|hundred|thousand|million|billion|dozen|half|double|twice|triple)\b",
    re.IGNORECASE,
)


_WORD_VALUES = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90, "hundred": 100, "thousand": 1000, "million": 1000000, "dozen": 12,
}  # fmt: skip

# Numbers an arithmetic input may write besides the question's: halves, doubles and squares (2)
# and percentages (100).
EXTRA_NUMBERS = frozenset({"2", "100"})


def number_strings(text: str) -> frozenset[str]:
    """The numbers of `text` as an arithmetic input would write them: digits without thousands
    separators or sign ("1,234" -> "1234"), and number words as digits ("twelve" -> "12")."""
    found = {m.group().replace(",", "").lstrip("-") for m in _DIGITS.finditer(text)}
    for m in _WORDS.finditer(text):
        value = _WORD_VALUES.get(m.group().lower())
        if value is not None:
            found.add(str(value))
    return frozenset(found)


def numbers_in(text: str) -> list[float]:
    """The numbers written with digits, in order ("1,234" is one number)."""
    return [float(m.group().replace(",", "")) for m in _DIGITS.finditer(text)]


def has_number(text: str) -> bool:
    """Digits or a number word ("twelve", "half", "a dozen")."""
    return bool(_DIGITS.search(text) or _WORDS.search(text))


def uses_all(expression: str, numbers: list[float]) -> bool:
    """Whether `expression` writes each of `numbers` (a percentage may appear as a fraction:
    "15%" as 0.15)."""
    written = numbers_in(expression)
    return all(any(abs(w - n) < 1e-9 or abs(w - n / 100) < 1e-12 for w in written) for n in numbers)
