"""The noise ladder σ_1 > σ_2 > … > σ_L used by NCSN and annealed Langevin.

Song & Ermon (2020, "Improved techniques") pick σ_max about as large as the
largest distance between data points, so the noisiest level forgets where the
data was and Langevin can move between modes; σ_min small enough that the last
level's blur is invisible next to the data's own spread.
"""

from __future__ import annotations

import math

import torch

from models.core.errors import InputError


def geometric_sigmas(sigma_max: float, sigma_min: float, levels: int) -> torch.Tensor:
    """σ_max → σ_min in `levels` geometric steps (constant ratio), largest first."""
    if not (math.isfinite(sigma_max) and math.isfinite(sigma_min)) or sigma_min <= 0 or sigma_max <= 0:
        raise InputError(f"noise levels must be positive numbers (got σ_min={sigma_min}, σ_max={sigma_max})")
    if sigma_min >= sigma_max:
        raise InputError(f"σ_min ({sigma_min}) must be smaller than σ_max ({sigma_max})")
    if levels < 2:
        raise InputError(f"a noise ladder needs at least 2 levels (got {levels})")
    return torch.exp(torch.linspace(math.log(sigma_max), math.log(sigma_min), levels))


def default_sigma_max(data: torch.Tensor, subsample: int = 2000, seed: int = 0) -> float:
    """The largest pairwise distance in (a subsample of) the data."""
    g = torch.Generator().manual_seed(seed)
    if len(data) > subsample:
        data = data[torch.randperm(len(data), generator=g)[:subsample]]
    return float(torch.cdist(data, data).max())


def default_sigma_min(data: torch.Tensor) -> float:
    """1% of the data's overall spread: blur far below what the eye sees in a scatter plot."""
    return max(0.01 * float(data.std(dim=0).mean()), 1e-4)


def default_sigmas(data: torch.Tensor, levels: int = 10, sigma_max: float | None = None,
                   sigma_min: float | None = None) -> torch.Tensor:
    """The ladder for these points: each end from the data unless given."""
    return geometric_sigmas(sigma_max or default_sigma_max(data), sigma_min or default_sigma_min(data), levels)
