"""The exact velocity field of a Gaussian mixture under the straight path x_t = (1 − t)·x₀ + t·ε.

Derivation. Let x₀ ~ Σ_k w_k N(μ_k, s_k² I) and ε ~ N(0, I) independent. Given component k,
(x₀, ε, x_t) are jointly Gaussian and

    x_t | k ~ N(m_k, v_k I),   m_k = (1 − t)·μ_k,   v_k = (1 − t)²·s_k² + t²

so p_t is again a mixture (same weights) and its responsibilities r_k(x) are the usual
posterior ones. Gaussian conditioning (covariances Cov(x₀, x_t) = (1 − t)s_k², Cov(ε, x_t) = t):

    E[x₀ | x_t = x, k] = μ_k + (1 − t)·s_k²/v_k · (x − m_k)
    E[ε  | x_t = x, k] = t/v_k · (x − m_k)

and the velocity is the posterior mean of ε − x₀:

    v(x, t) = Σ_k r_k(x) · [ (t − (1 − t)·s_k²)/v_k · (x − m_k) − μ_k ]

Check against the score: x + (1 − t)·v_k = (x − m_k)·t/v_k per component, so
−(x + (1 − t)·v)/t = Σ_k r_k (m_k − x)/v_k, the mixture score of p_t. The tests compare the
two numerically (≤ 1e-5 relative) and against finite differences of log p_t.
"""

from __future__ import annotations

import math

import torch

from models.lab.mixture import GaussianMixture


def marginal_mixture(mixture: GaussianMixture, t: float) -> GaussianMixture:
    """p_t as a mixture whose score is `.score(x, sigma=t)`: means (1 − t)μ_k, stds (1 − t)s_k, plus noise t."""
    a = 1.0 - float(t)
    return GaussianMixture(weights=mixture.weights, means=tuple((a * m[0], a * m[1]) for m in mixture.means),
                           stds=tuple(a * s for s in mixture.stds))


def _parts(mixture: GaussianMixture, x: torch.Tensor, t: float):
    w = torch.tensor(mixture.weights, dtype=x.dtype, device=x.device)
    mu = torch.tensor(mixture.means, dtype=x.dtype, device=x.device)
    s2 = torch.tensor(mixture.stds, dtype=x.dtype, device=x.device) ** 2
    m = (1 - t) * mu                          # (K, 2) component means of p_t
    var = (1 - t) ** 2 * s2 + t**2            # (K,) component variances of p_t
    diff = x[:, None, :] - m[None]            # (N, K, 2)
    log_r = torch.log(w) - math.log(2 * math.pi) - torch.log(var) - (diff**2).sum(-1) / (2 * var)
    return torch.softmax(log_r, dim=1), mu, s2, var, diff, log_r


def mixture_velocity(mixture: GaussianMixture, x: torch.Tensor, t: float) -> torch.Tensor:
    """v(x, t) = E[ε − x₀ | x_t = x] for data from `mixture` (0 ≤ t ≤ 1; see the module docstring)."""
    t = float(t)
    r, mu, s2, var, diff, _ = _parts(mixture, x, t)
    gain = (t - (1 - t) * s2) / var           # (K,)
    per_component = gain[None, :, None] * diff - mu[None]
    return (r[:, :, None] * per_component).sum(1)


def mixture_log_prob(mixture: GaussianMixture, x: torch.Tensor, t: float) -> torch.Tensor:
    """log p_t(x) of the path's marginal (for finite-difference checks)."""
    return torch.logsumexp(_parts(mixture, x, float(t))[5], dim=1)


def standardized(mixture: GaussianMixture, center: torch.Tensor, spread: float) -> GaussianMixture:
    """The same mixture in standardized coordinates z = (x − center)/spread (what a flow is trained on)."""
    c = [float(v) for v in center]
    return GaussianMixture(weights=mixture.weights,
                           means=tuple(((m[0] - c[0]) / spread, (m[1] - c[1]) / spread) for m in mixture.means),
                           stds=tuple(s / spread for s in mixture.stds))
