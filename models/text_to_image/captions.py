"""Captions for the digits: several English templates, and attributes measured from the pixels.

Only the label is given by the data; everything else a caption says is measured, the same way for a
real digit and a generated one (so the judge can check "a thick seven" with the rule that wrote it):

* thick / thin — ink mass (the sum of the pixels) in the top / bottom quarter of all 1,797 digits;
* slanted / upright — |μ₁₁/μ₀₂|, the shear moment that deskewing undoes (μ are the central moments of
  the ink), in the top / bottom third of all digits.

The thresholds are global, not per digit, so how often an attribute goes with a digit is a fact of the
data: some combinations are rare (an upright six), which is the bias lesson. Captions are English only,
on purpose: a word in another language never reaches the text encoder's training.
"""

from __future__ import annotations

import itertools
import re
import threading
from dataclasses import dataclass

import torch

from .data import Digits, load_digits

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ATTRIBUTES = ("thick", "thin", "slanted", "upright")
THICK_QUANTILE = 0.25   # thick: the top quarter of ink mass; thin: the bottom quarter
SLANT_QUANTILE = 1 / 3  # slanted: the top third of |shear|; upright: the bottom third

# Templates without an adjective slot, then those with one ({a} = "a"/"an", {adj} = "thick " or "").
PLAIN_TEMPLATES = ("{word}", "{digit}", "the digit {digit}", "the number {word}")
ADJECTIVE_TEMPLATES = ("{a} {adj}{word}", "{a} {adj}handwritten {word}", "{a} {adj}{digit}",
                       "a drawing of {a} {adj}{word}")


@dataclass(frozen=True)
class Thresholds:
    thin_ink: float
    thick_ink: float
    upright_shear: float
    slanted_shear: float


@dataclass(frozen=True)
class Measured:
    """Per image: ink mass, |shear|, and the four attribute flags."""
    ink: torch.Tensor
    shear: torch.Tensor
    flags: dict[str, torch.Tensor]  # attribute → (N,) bool


def ink_and_shear(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 8, 8) in [0, 1] → ink mass (N,) and |μ₁₁/μ₀₂| (N,); an empty image has shear 0."""
    images = images.float()
    side = images.shape[-1]
    ys, xs = torch.meshgrid(torch.arange(side, dtype=torch.float32), torch.arange(side, dtype=torch.float32),
                            indexing="ij")
    ink = images.sum((1, 2))
    mass = ink.clamp_min(1e-6)
    cx = (images * xs).sum((1, 2)) / mass
    cy = (images * ys).sum((1, 2)) / mass
    dx, dy = xs - cx[:, None, None], ys - cy[:, None, None]
    mu11 = (images * dx * dy).sum((1, 2)) / mass
    mu02 = (images * dy * dy).sum((1, 2)) / mass
    return ink, (mu11 / mu02.clamp_min(1e-6)).abs()


_lock = threading.Lock()
_thresholds: list[Thresholds] = []


def thresholds() -> Thresholds:
    """The global attribute thresholds, measured once on all 1,797 real digits."""
    with _lock:
        if not _thresholds:
            ink, shear = ink_and_shear(load_digits().images)
            q = torch.tensor([THICK_QUANTILE, 1 - THICK_QUANTILE])
            s = torch.tensor([SLANT_QUANTILE, 1 - SLANT_QUANTILE])
            thin, thick = torch.quantile(ink, q).tolist()
            upright, slanted = torch.quantile(shear, s).tolist()
            _thresholds.append(Thresholds(thin, thick, upright, slanted))
        return _thresholds[0]


def measure(images: torch.Tensor) -> Measured:
    """The attributes of (N, 8, 8) images in [0, 1], by the thresholds of the real digits."""
    th = thresholds()
    ink, shear = ink_and_shear(images)
    flags = {"thick": ink >= th.thick_ink, "thin": ink <= th.thin_ink,
             "slanted": shear >= th.slanted_shear, "upright": shear <= th.upright_shear}
    return Measured(ink=ink, shear=shear, flags=flags)


def attribute_table(digits: Digits | None = None) -> dict[str, list[float]]:
    """attribute → the share of each digit 0–9 that has it (the bias table the page shows)."""
    digits = digits or load_digits()
    flags = measure(digits.images).flags
    return {a: [flags[a][digits.labels == k].float().mean().item() for k in range(10)] for a in ATTRIBUTES}


def article(next_word: str) -> str:
    """"an" before a vowel sound ("an eight", "an 8", "an upright one"), else "a" ("a one" sounds "w")."""
    first = next_word.split()[0] if next_word.split() else ""
    return "an" if first in ("eight", "8", "upright") else "a"


def captions_for(label: int, attributes: tuple[str, ...]) -> list[str]:
    """Every caption of one digit with these measured attributes: each subset of them, each template."""
    word, digit = WORDS[label], str(label)
    out = [t.format(word=word, digit=digit) for t in PLAIN_TEMPLATES]
    subsets = [s for r in range(len(attributes) + 1) for s in itertools.combinations(attributes, r)]
    for template in ADJECTIVE_TEMPLATES:
        for subset in subsets:
            adj = "".join(a + " " for a in subset)
            after = (adj + ("handwritten" if "handwritten" in template else "")) or \
                    (digit if "{digit}" in template else word)
            out.append(template.format(a=article(after), adj=adj, word=word, digit=digit))
    return out


@dataclass(frozen=True)
class CaptionBank:
    """All training captions, grouped: image i draws uniformly from texts[offsets[k] : offsets[k] + counts[k]],
    k = key[i] (its digit and measured attributes)."""
    texts: tuple[str, ...]
    key: torch.Tensor      # (N,) int64, one per training image
    offsets: torch.Tensor  # (K,) int64
    counts: torch.Tensor   # (K,) int64



def image_attributes(flags: dict[str, torch.Tensor], i: int) -> tuple[str, ...]:
    return tuple(a for a in ATTRIBUTES if bool(flags[a][i]))


def caption_bank(digits: Digits | None = None) -> CaptionBank:
    digits = digits or load_digits()
    flags = measure(digits.images).flags
    groups: dict[tuple[int, tuple[str, ...]], int] = {}
    keys = []
    for i, label in enumerate(digits.labels.tolist()):
        keys.append(groups.setdefault((label, image_attributes(flags, i)), len(groups)))
    texts, offsets, counts = [], [], []
    for label, attrs in groups:  # dicts keep insertion order: group k is the k-th key
        captions = captions_for(label, attrs)
        offsets.append(len(texts))
        counts.append(len(captions))
        texts.extend(captions)
    return CaptionBank(texts=tuple(texts), key=torch.tensor(keys), offsets=torch.tensor(offsets),
                       counts=torch.tensor(counts))


_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)


def intent(prompt: str) -> tuple[int | None, tuple[str, ...]]:
    """What an English prompt asks for, read the way the captions write it: (digit or None, attributes).

    Only for judging: the model itself never sees this parse. A prompt naming several digits, or none
    in English words or numerals, asks for no digit (None).
    """
    tokens = [t.lower() for t in _WORD_RE.findall(prompt)]
    asked = {WORDS.index(t) for t in tokens if t in WORDS} | {int(t) for t in tokens if t.isdigit() and len(t) == 1
                                                              and t.isascii()}
    return (asked.pop() if len(asked) == 1 else None), tuple(a for a in ATTRIBUTES if a in tokens)
