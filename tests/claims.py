"""Reading what a page or a doc says, one sentence at a time, for the claim tests.

A claim test finds THE sentence that makes a claim (by a phrase only that sentence holds), reads the
numbers it states, and compares them with a measurement, allowing 3 standard errors of the measurement
plus the rounding of the stated figure. A number found elsewhere in the file proves nothing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_ADJACENT_LITERALS = re.compile(r'"\s*\n\s*[rfRF]{0,2}"')
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(“\"*$\\])")
_BREAK = re.compile(r"\n\s*\n|\n(?=\s*(?:[-*] |\||#))")
_NEWLINE_ESCAPE = re.compile(r"(?<!\\)\\n(?![a-z])")   # a "\n" in a literal, not LaTeX's \nabla
_NUMBER = re.compile(r"[−-]?\d[\d,]*(?:\.\d+)?")


def _text(path: str | Path) -> str:
    file = Path(path) if Path(path).is_absolute() else ROOT / path
    raw = file.read_text(encoding="utf-8")
    if file.suffix == ".py":
        raw = _NEWLINE_ESCAPE.sub("\n", _ADJACENT_LITERALS.sub("", raw))  # one literal per text; "\n" breaks
    return raw


def sentences(path: str | Path) -> list[str]:
    """The file's sentences, each on one line with single spaces (paragraphs, list items and table rows
    end a sentence; so does a full stop before a capital)."""
    out = []
    for block in _BREAK.split(_text(path)):
        out += [" ".join(s.split()) for s in _SENTENCE_END.split(block) if s.strip()]
    return out


def sentence(path: str | Path, phrase: str) -> str:
    """The one sentence of the file that holds `phrase` (whitespace-insensitive)."""
    phrase = " ".join(phrase.split())
    hits = [s for s in sentences(path) if phrase in s]
    assert len(hits) == 1, f"{path}: {len(hits)} sentences hold {phrase!r}: {hits}"
    return hits[0]


@dataclass(frozen=True)
class Stated:
    value: float
    text: str

    @property
    def rounding(self) -> float:
        """Half a unit of the last digit written ("0.80" → 0.005, "58" → 0.5)."""
        decimals = len(self.text.split(".")[1]) if "." in self.text else 0
        return 0.5 * 10.0 ** -decimals

    def agrees(self, measured: float, se: float, scale: float = 1.0) -> bool:
        """Within 3 standard errors of the measurement plus the rounding (`scale`: 100 for a percentage)."""
        return abs(self.value / scale - measured) <= 3 * se + self.rounding / scale


def stated(path: str | Path, phrase: str, count: int = 1) -> list[Stated]:
    """The first `count` numbers after `phrase` in the one sentence that holds it."""
    s = sentence(path, phrase)
    after = s[s.index(" ".join(phrase.split())) + len(" ".join(phrase.split())):]
    found = [Stated(float(m.replace(",", "").replace("−", "-")), m.lstrip("−-")) for m in _NUMBER.findall(after)]
    assert len(found) >= count, f"{path}: the sentence holding {phrase!r} states {len(found)} numbers after it: {s}"
    return found[:count]


def mean_and_se(values) -> tuple[float, float]:
    """Mean of independent measurements (one per seed) and its standard error."""
    values = [float(v) for v in values]
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(var / len(values))
