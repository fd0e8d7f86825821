"""Exact ("reference") scores to check networks and samplers against.

* A Gaussian mixture stays a mixture under N(0, σ²I) noise (see `mixture.py`).
* A finite dataset {x_i} smoothed with N(0, σ²I) is a mixture with one component
  per point, so its score is exact too — the "empirical optimal" score
      ∇ log p_σ(x) = (Σ_i r_i(x) x_i − x) / σ²,   r = softmax_i(−‖x − x_i‖² / 2σ²).
  It is what a network would learn with infinite capacity and no inductive bias;
  sampling with it reproduces training points (memorization).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from models.lab.datasets import DatasetSpec, dataset_mixture
from models.lab.mixture import GaussianMixture

ScoreFn = Callable[[torch.Tensor, float], torch.Tensor]


def empirical_score(data: torch.Tensor, x: torch.Tensor, sigma: float, chunk: int = 1024) -> torch.Tensor:
    """Score of (1/N) Σ N(x; x_i, σ²I) at the rows of x, in query chunks so 10k × 10k fits in memory."""
    data = data.to(x.device, x.dtype)
    out = torch.empty_like(x)
    d_sq = (data**2).sum(1)
    for i in range(0, len(x), chunk):
        q = x[i:i + chunk]
        # ‖q − d‖² = ‖q‖² − 2 q·d + ‖d‖²; the ‖q‖² term cancels in the softmax.
        logits = (2 * q @ data.T - d_sq[None]) / (2 * sigma**2)
        r = torch.softmax(logits, dim=1)
        out[i:i + chunk] = (r @ data - q) / sigma**2
    return out


def empirical_log_prob(data: torch.Tensor, x: torch.Tensor, sigma: float, chunk: int = 1024) -> torch.Tensor:
    """log (1/N) Σ N(x; x_i, σ²I) (2-D normaliser included)."""
    data = data.to(x.device, x.dtype)
    out = torch.empty(len(x), device=x.device, dtype=x.dtype)
    for i in range(0, len(x), chunk):
        q = x[i:i + chunk]
        d2 = torch.cdist(q, data) ** 2
        out[i:i + chunk] = (torch.logsumexp(-d2 / (2 * sigma**2), dim=1)
                            - math.log(len(data)) - math.log(2 * math.pi * sigma**2))
    return out


@dataclass
class ReferenceScore:
    """The exact score of p_σ for some data, and its log-density (for heatmaps)."""

    kind: str                                         # "exact" (a mixture) or "empirical" (the points)
    score: ScoreFn                                    # (x, σ) → ∇ log p_σ(x)
    log_prob: Callable[[torch.Tensor, float], torch.Tensor]


def reference_score(spec: DatasetSpec, points: torch.Tensor) -> ReferenceScore:
    """The one rule for "the true score" of some data.

    A built-in Gaussian mixture has an exact noisy score at every σ. Any other data is
    known only through its points, so the reference is the empirical-optimal score of
    those points smoothed by N(0, σ²I) (exact for that finite set, and memorizing).
    """
    mixture = dataset_mixture(spec.name) if spec.kind == "builtin" else None
    if mixture is not None:
        return ReferenceScore("exact", mixture_score_fn(mixture), lambda x, sigma: mixture.log_prob(x, float(sigma)))
    return ReferenceScore("empirical", empirical_score_fn(points),
                          lambda x, sigma: empirical_log_prob(points, x, float(sigma)))


def mixture_score_fn(mixture: GaussianMixture) -> ScoreFn:
    return lambda x, sigma: mixture.score(x, float(sigma))


def empirical_score_fn(data: torch.Tensor) -> ScoreFn:
    return lambda x, sigma: empirical_score(data, x, float(sigma))


def dsm_loss_floor(score_fn: ScoreFn, data: torch.Tensor, sigma: float, n: int = 20_000,
                   seed: int = 0) -> float:
    """Monte-Carlo estimate of min ½E‖σ s(x̃) + z‖², reached by the exact score of p_σ.

    This is the lowest DSM loss any network can reach at level σ for data drawn like
    `data`. With a known mixture's exact score it is the population floor; with the
    empirical score of a finite training set it is the floor of a network that has
    memorized that set (at small σ a generalizing network stays above it).
    """
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(len(data), (n,), generator=g)
    x = data[idx]
    z = torch.randn(x.shape, generator=g)
    x_noisy = x + sigma * z
    with torch.no_grad():
        s = score_fn(x_noisy, sigma)
    return float(0.5 * ((sigma * s + z) ** 2).sum(1).mean())
