"""Loss conventions: the same trained score reported as different numbers.

Our NCSN loss per level is ℓ(σ) = ½ E‖σ s(x̃, σ) + z‖² (denoising score matching with
λ(σ) = σ², d = 2 coordinates). Other code reports, for the SAME network:

* ε-prediction MSE per coordinate:  ε̂ = −σ s,  E‖ε̂ − z‖² / d = 2ℓ / d
* x̂₀ (denoised point) MSE per coordinate:  x̂₀ = x̃ + σ² s,  x̂₀ − x₀ = σ(σ s + z),
  so E‖x̂₀ − x₀‖² / d = 2σ²ℓ / d
* sliced / implicit score matching (integration by parts, no z or clean-point target):
  E[tr ∇s + ½‖s‖²], which at the optimum equals −½ J(p_σ) (J = E‖s‖², the Fisher
  information); weighted by λ = σ²: −½ σ² J(p_σ) < 0.

`decode_reported_losses` uses these to ask which conventions could produce numbers a
student sees elsewhere. They are candidate conventions, not facts about any given code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from models.lab.datasets import dataset_mixture
from models.lab.mixture import GaussianMixture

from .noise import geometric_sigmas

D = 2  # coordinates


def gaussian_dsm_optimum(data_std: float, sigma: float) -> float:
    """Our ℓ at the optimum for Gaussian data of per-coordinate std s: (d/2) s² / (s² + σ²)."""
    return 0.5 * D * data_std**2 / (data_std**2 + sigma**2)


def sigma_ratio_for_dsm_loss(loss: float) -> float:
    """σ / data std at which Gaussian data's OPTIMAL ℓ equals `loss` (ℓ falls as σ grows)."""
    if not 0 < loss < 0.5 * D:
        raise ValueError("our DSM loss at the optimum lies between 0 and d/2 = 1")
    return math.sqrt(0.5 * D / loss - 1)


@dataclass(frozen=True)
class MixtureLevel:
    sigma: float
    dsm: float              # our ½E‖σs + z‖² at the optimum (population, Monte Carlo)
    eps_mse: float          # per coordinate
    x0_mse: float           # per coordinate
    fisher: float           # J(p_σ) = E‖s‖²
    implicit: float         # −½ σ² J: the weighted sliced/implicit objective at the optimum


def mixture_level(mixture: GaussianMixture, sigma: float, n: int = 50_000, seed: int = 0) -> MixtureLevel:
    """Every convention at one σ for the exact score of `mixture` (Monte Carlo over the population)."""
    g = torch.Generator().manual_seed(seed)
    x0 = mixture.sample(n, g).double()
    z = torch.randn(n, 2, generator=g, dtype=torch.float64)
    s = mixture.score(x0 + sigma * z, sigma)
    dsm = float(0.5 * (sigma * s + z).pow(2).sum(1).mean())
    fisher = float(s.pow(2).sum(1).mean())
    return MixtureLevel(sigma, dsm, 2 * dsm / D, 2 * sigma**2 * dsm / D, fisher, -0.5 * sigma**2 * fisher)


def x0_mse_sigma(mixture: GaussianMixture, target: float, low: float = 1e-3, high: float = 1.0) -> float:
    """The σ at which the x̂₀ MSE per coordinate of the exact score equals `target` (bisection in log σ)."""
    for _ in range(20):
        mid = math.sqrt(low * high)
        if mixture_level(mixture, mid, n=20_000).x0_mse < target:
            low = mid
        else:
            high = mid
    return math.sqrt(low * high)


def ladder_implicit_loss(mixture: GaussianMixture, sigma_max: float, sigma_min: float, levels: int = 10) -> float:
    """The level-averaged weighted sliced/implicit objective at the optimum over a geometric ladder."""
    sigmas = geometric_sigmas(sigma_max, sigma_min, levels)
    return sum(mixture_level(mixture, float(s), n=20_000).implicit for s in sigmas) / levels


@dataclass(frozen=True)
class Decoding:
    dsm_sigma_ratio: float          # 0.0016 as our DSM loss: σ / data std it needs (Gaussian data)
    x0_sigma_unit_modes: float      # 0.0016 as an x̂₀ MSE per coordinate: σ on the NCSN toy (unit-variance modes)
    implicit_ladder: float          # a 0.1 → 0.01 ladder's weighted implicit/sliced optimum on the NCSN toy


def decode_reported_losses(dsm_like: float = 0.0016, ladder: tuple[float, float] = (0.1, 0.01)) -> Decoding:
    """The numbers behind the page's "loss conventions" explainer (pinned by tests)."""
    toy = dataset_mixture("ncsn-mixture")
    return Decoding(sigma_ratio_for_dsm_loss(dsm_like), x0_mse_sigma(toy, dsm_like),
                    ladder_implicit_loss(toy, *ladder))
