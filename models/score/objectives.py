"""Score-matching objectives, each with its convention spelled out.

Every loss here is *per noise level* and weighted by λ(σ) = σ² (Song & Ermon 2019),
which makes the numbers comparable across levels:

    denoising score matching   ℓ(σ) = ½ E ‖σ s(x̃, σ) + z‖²,   x̃ = x + σ z
    sliced score matching      ℓ(σ) = σ² E[ vᵀ∇ₓ(vᵀ s) + ½‖s‖² ]  at x̃,  v ~ N(0, I)
    implicit score matching    ℓ(σ) = σ² E[ tr ∇ₓ s + ½‖s‖² ]     at x̃ (exact trace: 2-D)

The DSM target is −z/σ = −(x̃ − x)/σ² (not −z/σ²: a classic slip). Its minimum is NOT
zero — a perfect network still pays the irreducible posterior variance; see
`reference.dsm_loss_floor` for that floor. The sliced and implicit losses equal
½E‖s − ∇log p_σ‖² − ½E‖∇log p_σ‖² up to λ, so near the optimum they are NEGATIVE
(minus half the Fisher information): a negative number there means "good", not "bug".
"""

from __future__ import annotations

import functools

import torch
from torch import nn

OBJECTIVES = ("dsm", "sliced", "implicit")


def perturb(x: torch.Tensor, sigma: torch.Tensor, generator: torch.Generator | None = None):
    """x̃ = x + σ z with z ~ N(0, I); σ is a scalar or one value per row."""
    z = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    s = sigma if sigma.dim() == 0 else sigma[:, None]
    return x + s * z, z


def dsm_target(x_noisy: torch.Tensor, x_clean: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
    """∇ log N(x̃; x, σ²I) = −(x̃ − x)/σ²: points from the noisy sample back to the clean one."""
    s = torch.as_tensor(sigma, dtype=x_noisy.dtype, device=x_noisy.device)
    if s.dim() == 1:
        s = s[:, None]
    return -(x_noisy - x_clean) / s**2


def denoising_score_matching(model: nn.Module, x: torch.Tensor, sigma: torch.Tensor,
                             generator: torch.Generator | None = None) -> torch.Tensor:
    """Per-example ½‖σ s(x̃, σ) + z‖² (Vincent 2011, weighted by σ²); σ scalar or per row."""
    x_noisy, z = perturb(x, sigma, generator)
    s = sigma if sigma.dim() == 0 else sigma[:, None]
    return 0.5 * ((s * model(x_noisy, sigma) + z) ** 2).sum(dim=1)


def sliced_score_matching(model: nn.Module, x: torch.Tensor, sigma: torch.Tensor,
                          generator: torch.Generator | None = None) -> torch.Tensor:
    """Per-example σ²[vᵀ∇(vᵀs) + ½‖s‖²] at x̃ (Song et al. 2019, variance-reduced form)."""
    x_noisy, _ = perturb(x, sigma, generator)
    x_noisy = x_noisy.detach().requires_grad_(True)
    s = model(x_noisy, sigma)
    v = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    (grad_vs,) = torch.autograd.grad((s * v).sum(), x_noisy, create_graph=True)
    return sigma**2 * ((grad_vs * v).sum(1) + 0.5 * (s**2).sum(1))


def implicit_score_matching(model: nn.Module, x: torch.Tensor, sigma: torch.Tensor,
                            generator: torch.Generator | None = None) -> torch.Tensor:
    """Per-example σ²[tr ∇ₓs + ½‖s‖²] at x̃ (Hyvärinen 2005); the 2×2 trace is exact."""
    x_noisy, _ = perturb(x, sigma, generator)
    x_noisy = x_noisy.detach().requires_grad_(True)
    s = model(x_noisy, sigma)
    trace = torch.zeros(x.shape[0], device=x.device, dtype=x.dtype)
    for d in range(x.shape[1]):
        (g,) = torch.autograd.grad(s[:, d].sum(), x_noisy, create_graph=True)
        trace = trace + g[:, d]
    lam = sigma**2
    return lam * (trace + 0.5 * (s**2).sum(1))


PER_EXAMPLE = {
    "dsm": denoising_score_matching,
    "sliced": sliced_score_matching,
    "implicit": implicit_score_matching,
}


@functools.lru_cache(maxsize=16)
def _levels(batch: int, L: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Level index of each batch row (0, 1, …, L−1, 0, 1, …) and rows per level; built once."""
    idx = torch.arange(batch, device=device) % L
    return idx, torch.bincount(idx, minlength=L).clamp(min=1).float()


def ncsn_loss(model: nn.Module, x: torch.Tensor, sigmas: torch.Tensor, objective: str = "dsm",
              generator: torch.Generator | None = None, jitter: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """The NCSN objective (1/L) Σᵢ ℓ(σᵢ), one level per example, levels spread evenly over the batch.

    Returns (loss, per-level losses): stratifying the batch over the levels gives an
    exact per-level mean every step (to report and chart) and lower variance than
    drawing a random level per example.

    jitter=True draws each example's σ log-uniformly within half a ladder step of its
    level, so the network also learns the σ's BETWEEN the rungs (needed by samplers
    and plots that use other σ's than the ladder's); per-level losses are then the
    losses of those bins.
    """
    L = len(sigmas)
    idx, counts = _levels(x.shape[0], L, x.device)
    sigma = sigmas[idx]
    if jitter and L > 1:
        half_step = 0.5 * torch.log(sigmas[0] / sigmas[1])
        u = torch.rand(x.shape[0], generator=generator, device=x.device, dtype=x.dtype)
        sigma = sigma * torch.exp((2 * u - 1) * half_step)
    per_example = PER_EXAMPLE[objective](model, x, sigma, generator)
    sums = torch.zeros(L, device=x.device, dtype=per_example.dtype).index_add_(0, idx, per_example)
    per_level = sums / counts
    return per_level.mean(), per_level.detach()


def single_level_loss(model: nn.Module, x: torch.Tensor, sigma: float, objective: str = "dsm",
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """The objective at one noise level (the denoising score network)."""
    s = torch.tensor(float(sigma), device=x.device, dtype=x.dtype)
    return PER_EXAMPLE[objective](model, x, s, generator).mean()


# ----------------------------------------------------------------------------- the objectives the loop trains
# (models/lab/training.py: `loss(network, batch, generator)` and `levels`)

class SingleSigmaObjective:
    """A denoising score network at one σ (standardized units): `objective` at that level."""

    levels = 0

    def __init__(self, sigma: float, objective: str = "dsm"):
        self.sigma, self.objective = float(sigma), objective
        self.sigmas = torch.tensor([self.sigma])  # the model's one-level "ladder", as a run saves it

    def loss(self, network: nn.Module, batch: torch.Tensor, generator: torch.Generator):
        return single_level_loss(network, batch, self.sigma, self.objective, generator), None


class NoiseLadderObjective:
    """An NCSN: `objective` averaged over the σ ladder (largest first), one level per example."""

    def __init__(self, sigmas: torch.Tensor, objective: str = "dsm", jitter: bool = True):
        self.sigmas, self.objective, self.jitter = sigmas, objective, jitter
        self.levels = len(sigmas)
        self._on_device = sigmas

    def loss(self, network: nn.Module, batch: torch.Tensor, generator: torch.Generator):
        if self._on_device.device != batch.device:  # moved once, not every step
            self._on_device = self.sigmas.to(batch.device)
        return ncsn_loss(network, batch, self._on_device, self.objective, generator, self.jitter)
