"""A judge to measure the text-to-image model with: which digit is this, and does it have the attribute?

The digit judge is k-nearest-neighbours (k = 5, Euclidean on the 64 pixels) over one half of the real
digits, reported on the other half (`held_out_accuracy`, ≥ 97 %). It has no training of its own to go
wrong, and its verdict is easy to say in class: "the five most similar real digits vote". Attributes
are judged with the very rule that wrote the captions (`captions.measure`).

From it: prompt accuracy (the share of images judged to be the asked digit), diversity (mean pairwise
distance within one prompt's images, over the same for real digits of that class) and attribute hit
rates (judged the asked digit AND measured with every asked attribute).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import torch

from .captions import measure
from .data import PIXELS, load_digits

K = 5
SPLIT_SEED = 20240617  # a fixed split: the judge is the same in every process


@dataclass(frozen=True)
class Judge:
    reference: torch.Tensor  # (M, 64) in [0, 1], the judge's half of the real digits
    labels: torch.Tensor     # (M,)
    k: int = K

    def classify(self, images: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
        """The digit (N,) of each (N, 8, 8) image in [0, 1]: a majority vote of its k nearest real digits,
        ties going to the nearest of the tied digits."""
        x = images.reshape(len(images), PIXELS).float().cpu()
        out = []
        for part in x.split(chunk):
            d = torch.cdist(part, self.reference)
            nearest = d.topk(self.k, largest=False).indices  # (n, k), nearest first
            votes = torch.zeros(len(part), 10)
            votes.scatter_add_(1, self.labels[nearest], torch.ones(nearest.shape))
            # tie-break: a tiny bonus that shrinks with the rank of each neighbour
            rank_bonus = torch.linspace(1e-3, 1e-4, self.k).expand(len(part), -1)
            votes.scatter_add_(1, self.labels[nearest], rank_bonus)
            out.append(votes.argmax(1))
        return torch.cat(out) if out else torch.zeros(0, dtype=torch.long)


def halves() -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of the judge's half and of the held-out half of the 1,797 digits (fixed)."""
    n = len(load_digits())
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(SPLIT_SEED))
    return perm[: n // 2], perm[n // 2:]


_lock = threading.Lock()
_judges: list[Judge] = []


def judge() -> Judge:
    with _lock:
        if not _judges:
            d = load_digits()
            mine, _ = halves()
            _judges.append(Judge(reference=d.images[mine].reshape(-1, PIXELS), labels=d.labels[mine]))
        return _judges[0]


def held_out_accuracy() -> float:
    """The judge's accuracy on the half of the real digits it does not hold."""
    d = load_digits()
    _, other = halves()
    return (judge().classify(d.images[other]) == d.labels[other]).float().mean().item()


def prompt_accuracy(images: torch.Tensor, digit: int) -> float:
    return (judge().classify(images) == digit).float().mean().item() if len(images) else 0.0


def digit_shares(images: torch.Tensor) -> list[float]:
    """The share of images judged as each digit 0–9 (what a failing prompt produces instead)."""
    if not len(images):
        return [0.0] * 10
    return (judge().classify(images).bincount(minlength=10).float() / len(images)).tolist()


def mean_pairwise_distance(images: torch.Tensor) -> float:
    """Mean Euclidean distance between two different images of the set (pixels in [0, 1])."""
    x = images.reshape(len(images), -1).float()
    n = len(x)
    if n < 2:
        return 0.0
    return (torch.cdist(x, x).sum() / (n * (n - 1))).item()


def diversity(images: torch.Tensor, digit: int) -> float:
    """Mean pairwise distance of the images over that of all real digits of the class (1 = as varied as real)."""
    d = load_digits()
    return mean_pairwise_distance(images) / mean_pairwise_distance(d.images[d.labels == digit])


def attribute_hit_rate(images: torch.Tensor, digit: int, attributes: tuple[str, ...]) -> float:
    """The share judged to be `digit` and measured with every one of `attributes`."""
    if not len(images):
        return 0.0
    hit = judge().classify(images) == digit
    flags = measure(images).flags
    for a in attributes:
        hit &= flags[a]
    return hit.float().mean().item()
