"""Samplers driven by any score function `score_fn(x, σ) -> ∇ log p_σ(x)`.

Two views of one idea:

* Langevin dynamics follows the score uphill and adds noise:
      x ← x + (α/2) s(x, σ) + √α z
  Annealed Langevin (Song & Ermon 2019) runs T such steps at each level of a
  decreasing ladder σ_1 > … > σ_L with α_i = ε σ_i² / σ_L².
* Denoising follows Tweedie's formula: the best guess of the clean point behind a
  noisy x is x̂ = x + σ² s(x, σ). `denoising_sampler` jumps part of the way to x̂ and
  re-noises to the next, smaller σ; its mean step (σ_i² − σ_{i+1}²) s is again a
  step along the score. Same score, same destination.

Every sampler takes a seed and a device, never touches global RNG state, runs
without autograd, and returns the trajectory at a chosen stride for animation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch

ScoreFn = Callable[[torch.Tensor, float], torch.Tensor]


@dataclass
class SamplerResult:
    samples: torch.Tensor                                      # (N, 2) final points (CPU)
    frames: list[torch.Tensor] = field(default_factory=list)   # snapshots (CPU), first = start
    labels: list[str] = field(default_factory=list)            # one caption per frame
    frame_sigmas: list[float] = field(default_factory=list)    # the σ each frame was taken at


def uniform_start(n: int, low: float, high: float, seed: int = 0) -> torch.Tensor:
    """Particles uniform on the square [low, high]² (the NCSN paper's toy start)."""
    g = torch.Generator().manual_seed(seed)
    return low + (high - low) * torch.rand(n, 2, generator=g)


def gaussian_start(n: int, sigma: float, seed: int = 0, center: torch.Tensor | None = None) -> torch.Tensor:
    """Particles from N(center, σ²I): the prior at the top of the ladder."""
    g = torch.Generator().manual_seed(seed)
    x = sigma * torch.randn(n, 2, generator=g)
    return x if center is None else x + center


class _Recorder:
    def __init__(self, stride: int):
        self.stride = max(int(stride), 0)
        self.result_frames: list[torch.Tensor] = []
        self.labels: list[str] = []
        self.sigmas: list[float] = []

    def __call__(self, x: torch.Tensor, label: str, sigma: float, force: bool = False, count: int = 0):
        if self.stride and (force or count % self.stride == 0):
            self.result_frames.append(x.detach().cpu().clone())
            self.labels.append(label)
            self.sigmas.append(float(sigma))


def tweedie(x: torch.Tensor, sigma: float, score: torch.Tensor) -> torch.Tensor:
    """Tweedie's formula: the posterior mean E[x₀ | x] = x + σ² ∇log p_σ(x) of the clean point behind x."""
    return x + sigma**2 * score


def _noise_source(seed: int, device: torch.device | str):
    g = torch.Generator(device=device).manual_seed(seed)
    return g


@torch.no_grad()
def langevin_dynamics(score_fn: ScoreFn, x0: torch.Tensor, *, sigma: float = 0.0, eps: float = 0.1,
                      n_steps: int = 1000, seed: int = 0, device: str = "cpu",
                      stride: int = 0) -> SamplerResult:
    """Plain Langevin at ONE noise level σ (σ = 0: the data's own score, if exact)."""
    if eps <= 0 or n_steps < 1:
        raise ValueError("Langevin needs a positive step size ε and at least one step")
    g = _noise_source(seed, device)
    x = x0.to(device).clone()
    rec = _Recorder(stride)
    rec(x, "start", sigma, force=True)
    sq = math.sqrt(eps)
    noise = torch.empty_like(x)
    for t in range(1, n_steps + 1):
        x.add_(score_fn(x, sigma), alpha=eps / 2).add_(noise.normal_(generator=g), alpha=sq)
        rec(x, f"Langevin step {t}/{n_steps}", sigma, force=t == n_steps, count=t)
    return SamplerResult(x.cpu(), rec.result_frames, rec.labels, rec.sigmas)


@torch.no_grad()
def annealed_langevin(score_fn: ScoreFn, x0: torch.Tensor, sigmas, *, eps: float = 0.1,
                      steps_per_level: int = 100, final_denoise: bool = False, seed: int = 0,
                      device: str = "cpu", stride: int = 0) -> SamplerResult:
    """Annealed Langevin dynamics (Song & Ermon 2019, Algorithm 1).

    For each σ_i (largest first): T steps x ← x + (α_i/2) s(x, σ_i) + √α_i z with
    α_i = ε σ_i²/σ_L². The result is a sample of p_σL; `final_denoise` then takes one
    Tweedie step x ← x + σ_L² s(x, σ_L) to remove that last blur (NCSNv2).
    A frame is recorded every `stride` steps and at the end of every level.
    """
    sigmas = [float(s) for s in sigmas]
    if eps <= 0 or steps_per_level < 1:
        raise ValueError("annealed Langevin needs a positive ε and at least one step per level")
    g = _noise_source(seed, device)
    x = x0.to(device).clone()
    rec = _Recorder(stride)
    rec(x, "start", sigmas[0], force=True)
    noise = torch.empty_like(x)
    last = sigmas[-1] ** 2
    count = 0
    for i, sigma in enumerate(sigmas):
        alpha = eps * sigma**2 / last
        sq = math.sqrt(alpha)
        for t in range(1, steps_per_level + 1):
            x.add_(score_fn(x, sigma), alpha=alpha / 2).add_(noise.normal_(generator=g), alpha=sq)
            count += 1
            rec(x, f"σ = {sigma:.3g} · level {i + 1}/{len(sigmas)}", sigma,
                force=t == steps_per_level, count=count)
    if final_denoise:
        x = tweedie(x, sigmas[-1], score_fn(x, sigmas[-1]))
        rec(x, "final denoising step (Tweedie)", 0.0, force=True)
    return SamplerResult(x.cpu(), rec.result_frames, rec.labels, rec.sigmas)


@torch.no_grad()
def denoising_sampler(score_fn: ScoreFn, x0: torch.Tensor, sigmas, *, seed: int = 0,
                      device: str = "cpu", stride: int = 0) -> SamplerResult:
    """Iterated denoising: jump toward Tweedie's x̂ = x + σ_i² s(x, σ_i), re-noise to σ_{i+1}.

    Step i → i+1 (the ancestral sampler of a variance-exploding diffusion):
        x ← x + (σ_i² − σ_{i+1}²) s(x, σ_i) + σ_{i+1} √(1 − σ_{i+1}²/σ_i²) z
    i.e. the Gaussian posterior of the less-noisy point given x, with x̂ in place of
    the unknown clean point. After the last level, return x̂ itself (noise-free).
    Use a finer ladder than annealed Langevin (e.g. 100–200 levels): each step is one
    network call, and small steps keep the Gaussian posterior approximation accurate.
    """
    sigmas = [float(s) for s in sigmas]
    g = _noise_source(seed, device)
    x = x0.to(device).clone()
    rec = _Recorder(stride)
    rec(x, "start", sigmas[0], force=True)
    noise = torch.empty_like(x)
    for i, sigma in enumerate(sigmas):
        s = score_fn(x, sigma)
        if i + 1 < len(sigmas):
            nxt = sigmas[i + 1]
            x.add_(s, alpha=sigma**2 - nxt**2)
            x.add_(noise.normal_(generator=g), alpha=nxt * math.sqrt(max(1 - nxt**2 / sigma**2, 0.0)))
            label = f"σ = {nxt:.3g} · step {i + 1}/{len(sigmas)}"
            rec(x, label, nxt, force=i + 2 == len(sigmas), count=i + 1)
        else:
            x = tweedie(x, sigma, s)  # the posterior mean at the smallest σ
            rec(x, "denoised (Tweedie mean)", 0.0, force=True)
    return SamplerResult(x.cpu(), rec.result_frames, rec.labels, rec.sigmas)
