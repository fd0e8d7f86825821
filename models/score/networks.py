"""Score networks: small MLPs that map a 2-D point (and a noise level) to a 2-D score.

Both networks output s(x, σ) = f(x, …)/σ: the DSM target at level σ is −z/σ, so
the raw MLP output f only has to predict −z, which has unit scale at every σ.
That keeps the optimisation well conditioned across a ladder spanning 20 → 0.01.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from models.lab.networks import mlp


class DenoisingScoreNetwork(nn.Module):
    """Score of the data smoothed at ONE noise level σ: s(x) ≈ ∇ log p_σ(x)."""

    kind = "single-sigma"

    def __init__(self, sigma: float, hidden: int = 128, depth: int = 3):
        super().__init__()
        self.net = mlp(2, 2, hidden, depth)
        self.register_buffer("sigma", torch.tensor(float(sigma)))

    def forward(self, x: torch.Tensor, sigma: torch.Tensor | float | None = None) -> torch.Tensor:
        # σ is fixed at construction; the argument exists so every network has one signature.
        return self.net(x) / self.sigma


class NCSN(nn.Module):
    """Noise-conditional score network s(x, σ) ≈ ∇ log p_σ(x) for every σ on the ladder.

    conditioning:
      "embedding" — the MLP also sees log σ (as sin/cos features), output divided by σ;
      "scale"     — NCSNv2's s(x, σ) = f(x)/σ, one unconditional f for every level.
    """

    kind = "ncsn"
    n_freq = 8

    def __init__(self, hidden: int = 128, depth: int = 3, conditioning: str = "embedding"):
        super().__init__()
        if conditioning not in ("embedding", "scale"):
            raise ValueError(f"unknown conditioning {conditioning!r} (use 'embedding' or 'scale')")
        self.conditioning = conditioning
        extra = 2 * self.n_freq + 1 if conditioning == "embedding" else 0
        self.net = mlp(2 + extra, 2, hidden, depth)
        self.register_buffer("freqs", torch.exp(torch.linspace(0, math.log(8.0), self.n_freq)))

    def embed(self, log_sigma: torch.Tensor) -> torch.Tensor:
        a = log_sigma[:, None] * self.freqs[None]
        return torch.cat([log_sigma[:, None], torch.sin(a), torch.cos(a)], dim=1)

    def forward(self, x: torch.Tensor, sigma: torch.Tensor | float) -> torch.Tensor:
        sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
        if sigma.dim() == 0:
            sigma = sigma.expand(x.shape[0])
        if self.conditioning == "embedding":
            h = torch.cat([x, self.embed(torch.log(sigma))], dim=1)
        else:
            h = x
        return self.net(h) / sigma[:, None]


def build_network(model: str, *, hidden: int = 128, depth: int = 3, sigma: float | None = None,
                  conditioning: str = "embedding") -> nn.Module:
    if hidden < 1 or depth < 1:
        raise ValueError("hidden width and depth must be at least 1")
    if model == "single-sigma":
        if sigma is None or sigma <= 0:
            raise ValueError("the denoising score network needs a positive σ")
        return DenoisingScoreNetwork(sigma, hidden, depth)
    if model == "ncsn":
        return NCSN(hidden, depth, conditioning)
    raise ValueError(f"unknown model {model!r} (use 'single-sigma' or 'ncsn')")
