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
        object.__setattr__(self, "_cache", {})

    def _tensors(self, device=None, dtype=torch.float32):
        # Samplers call score() thousands of times: build the parameter tensors once per device/dtype.
        key = (str(device), dtype)
        if key not in self._cache:
            self._cache[key] = (torch.tensor(self.weights, device=device, dtype=dtype),
                                torch.tensor(self.means, device=device, dtype=dtype),
                                torch.tensor(self.stds, device=device, dtype=dtype))
        return self._cache[key]

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        w, mu, s = self._tensors()
        k = torch.multinomial(w, n, replacement=True, generator=generator)
        z = torch.randn(n, 2, generator=generator)
        return mu[k] + s[k, None] * z

    def _log_components(self, x: torch.Tensor, sigma: float):
        """log w_k N(x; μ_k, (s_k² + σ²) I) for every row and component, and the variances."""
        w, mu, s = self._tensors(x.device, x.dtype)
        var = s**2 + sigma**2  # (K,)
        # ‖x − μ‖² = ‖x‖² − 2 x·μ + ‖μ‖² as one matmul: several times faster than broadcasting
        d2 = (x * x).sum(1, keepdim=True) - 2 * x @ mu.T + (mu * mu).sum(1)
        log_comp = torch.log(w) - torch.log(2 * math.pi * var) - d2 / (2 * var)  # 2-D normaliser
        return log_comp, mu, var

    def log_prob(self, x: torch.Tensor, sigma: float = 0.0) -> torch.Tensor:
        """log p_σ(x), where p_σ = p * N(0, σ²I)."""
        log_comp, _, _ = self._log_components(x, sigma)
        return torch.logsumexp(log_comp, dim=1)

    def score(self, x: torch.Tensor, sigma: float = 0.0) -> torch.Tensor:
        """∇_x log p_σ(x) = Σ_k r_k(x) (μ_k − x) / (s_k² + σ²), r the posterior responsibilities."""
        log_comp, mu, var = self._log_components(x, sigma)
        rv = torch.softmax(log_comp, dim=1) / var  # (N, K)
        return rv @ mu - x * rv.sum(1, keepdim=True)

    def means_tensor(self) -> torch.Tensor:
        return torch.tensor(self.means, dtype=torch.float32)
