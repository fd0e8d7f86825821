"""Where a sampler starts: the data's distribution at the top noise level σ_max.

At σ_max the noisy data p_σmax = p * N(0, σ_max² I) is nearly Gaussian, but not
N(0, σ_max² I): its mean is the data's mean and its covariance is σ_max² I + Cov(data).
Starting from N(0, σ_max² I) puts more particles on one side than p_σmax has, and a
sampler with finitely many steps does not fully undo that: with the exact score on the
NCSN toy (8 seeds × 4000, ±0.002) the ancestral sampler gives a heavy-mode share of
0.786 from N(0, σ_max²I) against 0.806 from the exact p_σmax or from N(data mean,
σ_max² I) (its 100 levels add +0.006 of their own: 0.801 with 400).

The one rule (`Prior`):
* a known Gaussian mixture (or a finite point set, which is a mixture of deltas):
  p_σmax exactly, a data point plus σ_max z;
* anything else: the moment-matched Gaussian N(mean, σ_max² I + Cov). A trained model
  stores only the data's centre and mean per-axis spread, so its Cov is spread² I.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from models.lab.mixture import GaussianMixture
from models.lab.streams import PRIOR, stream


@dataclass(frozen=True)
class Prior:
    """A distribution at σ_max to start sampling from: a Gaussian, a mixture, or points + noise."""

    sigma: float                             # σ_max: the noise level this is the distribution of
    mean: torch.Tensor                       # (2,) mean of the prior
    cov: torch.Tensor                        # (2, 2) covariance (σ_max² I + Cov(data))
    mixture: GaussianMixture | None = None   # exact p_σmax of a known mixture
    points: torch.Tensor | None = None       # exact p_σmax of a finite set: a point + σ_max z

    @property
    def kind(self) -> str:
        if self.mixture is not None:
            return "exact mixture"
        return "data points + noise" if self.points is not None else "moment-matched Gaussian"

    def describe(self) -> str:
        if self.mixture is not None:
            return f"the exact p_σ at σ_max = {self.sigma:.3g}"
        if self.points is not None:
            return f"data points + N(0, σ_max² I), σ_max = {self.sigma:.3g}"
        return f"N(data mean, σ_max² I + Cov), σ_max = {self.sigma:.3g}"

    def sample(self, n: int, seed: int = 0) -> torch.Tensor:
        """n points (float32, CPU), reproducible from the seed alone (its "prior" stream: the sampler's
        noise has another)."""
        if n < 1:
            raise ValueError("the number of samples must be at least 1")
        g = stream(seed, PRIOR)
        if self.mixture is not None:
            return self.mixture.sample(n, g) + self.sigma * torch.randn(n, 2, generator=g)
        if self.points is not None:
            idx = torch.randint(len(self.points), (n,), generator=g)
            return self.points[idx].float() + self.sigma * torch.randn(n, 2, generator=g)
        chol = torch.linalg.cholesky(self.cov.double()).float()
        return self.mean + torch.randn(n, 2, generator=g) @ chol.T

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log density of the prior at the rows of x (the end point of the likelihood ODE)."""
        if self.mixture is not None:
            return self.mixture.log_prob(x, self.sigma)
        if self.points is not None:
            pts = self.points.to(x.device, x.dtype)
            d2 = torch.cdist(x, pts) ** 2
            return (torch.logsumexp(-d2 / (2 * self.sigma**2), dim=1) - math.log(len(pts))
                    - math.log(2 * math.pi * self.sigma**2))
        dist = torch.distributions.MultivariateNormal(self.mean.to(x.device, x.dtype), self.cov.to(x.device, x.dtype))
        return dist.log_prob(x)


def _top(mean: torch.Tensor, cov: torch.Tensor, sigma_max: float) -> tuple[float, torch.Tensor, torch.Tensor]:
    sigma_max = float(sigma_max)
    if not (math.isfinite(sigma_max) and sigma_max > 0):
        raise ValueError(f"σ_max must be a positive number (got {sigma_max})")
    mean = torch.as_tensor(mean, dtype=torch.float32).reshape(2)
    return sigma_max, mean, cov.float() + sigma_max**2 * torch.eye(2)


def gaussian_prior(center, spread: float, sigma_max: float) -> Prior:
    """N(center, (σ_max² + spread²) I): what a trained model knows of its data (centre, per-axis spread)."""
    sigma_max, mean, cov = _top(center, float(spread) ** 2 * torch.eye(2), sigma_max)
    return Prior(sigma_max, mean, cov)


def points_gaussian_prior(points: torch.Tensor, sigma_max: float) -> Prior:
    """N(mean, σ_max² I + Cov) moment-matched to a point set (when the set itself should not be reused)."""
    pts = points.double()
    sigma_max, mean, cov = _top(pts.mean(0).float(), torch.cov(pts.T).float(), sigma_max)
    return Prior(sigma_max, mean, cov)


def points_prior(points: torch.Tensor, sigma_max: float) -> Prior:
    """The exact p_σmax of a finite set: a random point plus σ_max z (the empirical score's own prior)."""
    g = points_gaussian_prior(points, sigma_max)
    return Prior(g.sigma, g.mean, g.cov, points=points.detach().float().cpu())


def mixture_prior(mixture: GaussianMixture, sigma_max: float) -> Prior:
    """The exact p_σmax of a Gaussian mixture (its components widened by σ_max²)."""
    w, mu, s = (torch.tensor(v, dtype=torch.float64) for v in (mixture.weights, mixture.means, mixture.stds))
    mean = (w[:, None] * mu).sum(0)
    centred = mu - mean
    centred_outer = centred[:, :, None] * centred[:, None, :]
    within = (w * s**2).sum() * torch.eye(2, dtype=torch.float64)     # each component's own variance
    cov = (w[:, None, None] * centred_outer).sum(0) + within
    sigma_max, mean32, cov32 = _top(mean.float(), cov.float(), sigma_max)
    return Prior(sigma_max, mean32, cov32, mixture=mixture)
