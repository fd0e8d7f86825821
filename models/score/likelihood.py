"""The model's own log-likelihood, by the probability-flow ODE (Song et al. 2021, §4.3 and App. D.2).

The probability-flow ODE dx/d(σ²) = f(x, σ) = −½ s(x, σ) carries p_σmin to p_σmax. Along
one of its paths the log-density changes by minus the divergence of f (the continuity
equation), so for a data point x₀ at σ_min, following its path up to x_T at σ_max:

    log p_σmin(x₀) = log p_σmax(x_T) + ∫ div f dσ² = log p_σmax(x_T) − ½ ∫ tr ∇s(x_σ, σ) dσ²

In 2-D the trace of the 2×2 Jacobian is exact and cheap (two backward passes), so no
Hutchinson estimator is needed. p_σmax is the sampler's prior (prior.py): exact for a
known mixture, the moment-matched Gaussian for a trained network. The integral is done
with Heun's method on a geometric grid of σ.

What the number means: for the exact score it is the true log p_σmin (checked against a
mixture's closed form); for a network it is the log-density OF THE MODEL — the
distribution its probability-flow sampler draws from — an honest "likely place" map.
"""

from __future__ import annotations

import functools

import torch

from .noise import geometric_sigmas
from .prior import Prior
from .samplers import ScoreFn

LIKELIHOOD_STEPS = 200


def differentiable(score_fn: ScoreFn) -> ScoreFn:
    """A score function autograd can see through.

    `ScoreModel.score` is decorated with @torch.no_grad() (sampling needs no graph); its
    undecorated body (`__wrapped__`, kept by the decorator) is the same computation with a graph.
    """
    inner = getattr(score_fn, "__wrapped__", None)
    owner = getattr(score_fn, "__self__", None)
    if inner is not None and owner is not None:
        return functools.partial(inner, owner)
    return score_fn


def score_and_divergence(score_fn: ScoreFn, x: torch.Tensor, sigma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """s(x, σ) and the exact trace of its 2×2 Jacobian ∂s_0/∂x_0 + ∂s_1/∂x_1, per row."""
    with torch.enable_grad():
        xg = x.detach().requires_grad_(True)
        s = score_fn(xg, sigma)
        d0 = torch.autograd.grad(s[:, 0].sum(), xg, retain_graph=True)[0][:, 0]
        d1 = torch.autograd.grad(s[:, 1].sum(), xg)[0][:, 1]
    return s.detach(), (d0 + d1).detach()


def ode_log_likelihood(score_fn: ScoreFn, x: torch.Tensor, *, sigma_min: float, sigma_max: float, prior: Prior,
                       steps: int = LIKELIHOOD_STEPS, chunk: int = 4096) -> torch.Tensor:
    """log p_σmin(x) per row of x by the probability-flow ODE from σ_min up to σ_max (Heun, `steps` steps).

    `prior.log_prob` gives log p_σmax at the end of each path; its σ should be `sigma_max`.
    Rows are done in chunks to bound the autograd memory.
    """
    if steps < 1:
        raise ValueError("the likelihood ODE needs at least one step")
    if abs(prior.sigma - float(sigma_max)) > 1e-6 * float(sigma_max):
        raise ValueError(f"the prior is the law at σ = {prior.sigma:g}, not at σ_max = {sigma_max:g}")
    fn = differentiable(score_fn)
    grid = [float(s) for s in geometric_sigmas(float(sigma_max), float(sigma_min), steps + 1).flip(0)]
    out = []
    for i in range(0, len(x), chunk):
        xs = x[i:i + chunk].detach().clone()
        change = torch.zeros(len(xs), dtype=xs.dtype, device=xs.device)  # ∫ div f dσ² so far
        for a, b in zip(grid[:-1], grid[1:]):
            h = b**2 - a**2
            s_a, div_a = score_and_divergence(fn, xs, a)
            x_euler = xs - 0.5 * h * s_a
            s_b, div_b = score_and_divergence(fn, x_euler, b)
            xs = xs - 0.5 * h * 0.5 * (s_a + s_b)
            change = change - 0.5 * h * 0.5 * (div_a + div_b)
        out.append(prior.log_prob(xs) + change)
    return torch.cat(out)
