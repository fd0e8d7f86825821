"""Isotropic Gaussian mixtures in 2-D: sampling, log density and exact scores.

Adding N(0, σ²I) noise to a mixture gives another mixture whose component
variances grow by σ²; that is why the noisy score of a mixture is exact and can be
used as ground truth for trained networks and samplers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class GaussianMixture:
    """p(x) = Σ_k w_k N(x; μ_k, s_k² I)."""

    weights: tuple[float, ...]
    means: tuple[tuple[float, float], ...]
    stds: tuple[float, ...]

    def __post_init__(self) -> None:
        k = len(self.weights)
        if not (len(self.means) == len(self.stds) == k) or k == 0:
            raise ValueError("weights, means and stds must have the same non-zero length")
        if abs(sum(self.weights) - 1.0) > 1e-6:
            raise ValueError("mixture weights must sum to 1")

    def _tensors(self, device=None, dtype=torch.float32):
        w = torch.tensor(self.weights, device=device, dtype=dtype)
        mu = torch.tensor(self.means, device=device, dtype=dtype)
        s = torch.tensor(self.stds, device=device, dtype=dtype)
        return w, mu, s

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        w, mu, s = self._tensors()
        k = torch.multinomial(w, n, replacement=True, generator=generator)
        z = torch.randn(n, 2, generator=generator)
        return mu[k] + s[k, None] * z

    def _responsibilities(self, x: torch.Tensor, sigma: float):
        """Log-weights of each component at x for the σ-smoothed mixture, and the variances."""
        w, mu, s = self._tensors(x.device, x.dtype)
        var = s**2 + sigma**2  # (K,)
        d2 = ((x[:, None, :] - mu[None]) ** 2).sum(-1)  # (N, K)
        log_comp = torch.log(w) - d2 / (2 * var) - torch.log(2 * math.pi * var)  # 2-D normaliser
        return log_comp, mu, var

    def log_prob(self, x: torch.Tensor, sigma: float = 0.0) -> torch.Tensor:
        """log p_σ(x), where p_σ = p * N(0, σ²I)."""
        log_comp, _, _ = self._responsibilities(x, sigma)
        return torch.logsumexp(log_comp, dim=1)

    def score(self, x: torch.Tensor, sigma: float = 0.0) -> torch.Tensor:
        """∇_x log p_σ(x) = Σ_k r_k(x) (μ_k − x) / (s_k² + σ²), r the posterior responsibilities."""
        log_comp, mu, var = self._responsibilities(x, sigma)
        r = torch.softmax(log_comp, dim=1)  # (N, K)
        return ((r / var)[:, :, None] * (mu[None] - x[:, None, :])).sum(1)

    def means_tensor(self) -> torch.Tensor:
        return torch.tensor(self.means, dtype=torch.float32)
