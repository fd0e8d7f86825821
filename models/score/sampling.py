"""Draw samples with a score function: one function per sampler, every option explicit.

The CLI, the pages and the benchmarks all sample through these three functions, so a
setting means the same thing everywhere. Each one picks its own starting cloud unless
`start` (an (n, 2) tensor) is given, runs with one torch thread on small machines, and
returns a `SamplerResult` (samples plus snapshots every `stride` steps for animation).

* `sample_annealed_langevin` — NCSN's sampler: Langevin at every level of the ladder.
* `sample_denoising`         — ancestral steps down a fine ladder (the reverse VE SDE).
* `sample_langevin`          — plain Langevin at ONE σ; the only sampler a single-σ
                               model has (optionally finished by one Tweedie step).
"""

from __future__ import annotations

import torch

from .noise import geometric_sigmas
from .samplers import (SamplerResult, ScoreFn, annealed_langevin, denoising_sampler, gaussian_start,
                       langevin_dynamics, tweedie)
from .trainer import limited_threads

DENOISING_LEVELS = 100  # the denoising sampler's fine ladder: one network call per level


def default_eps(sigma_last: float) -> float:
    """ε = 0.5 σ_L², so level i's Langevin step is α_i = σ_i²/2: each step moves about σ_i,
    the scale on which p_σi varies. Measured on moons (NCSN, 20 steps/level): energy distance
    0.0017 at 0.5 σ_L², 0.002 at σ_L², 0.013 at 4 σ_L², 0.02 at 0.1 σ_L² (too timid for 20 steps)."""
    return 0.5 * float(sigma_last) ** 2


def _start(start: torch.Tensor | None, n: int, spread: float, seed: int,
           center: torch.Tensor | None) -> torch.Tensor:
    if start is not None:
        return start.float()
    if n < 1:
        raise ValueError("the number of samples must be at least 1")
    return gaussian_start(n, spread, seed=seed, center=center)


def sample_annealed_langevin(score_fn: ScoreFn, sigmas: torch.Tensor, *, n: int = 2000, seed: int = 0,
                             eps: float | None = None, steps_per_level: int = 20, final_denoise: bool = True,
                             start: torch.Tensor | None = None, center: torch.Tensor | None = None,
                             device: str = "cpu", stride: int = 0) -> SamplerResult:
    """Annealed Langevin down `sigmas` from N(center, σ_1²I) (or `start`); ε defaults to 0.5 σ_L²."""
    x0 = _start(start, n, float(sigmas[0]), seed, center)
    with limited_threads():
        return annealed_langevin(score_fn, x0, sigmas, eps=default_eps(sigmas[-1]) if eps is None else eps,
                                 steps_per_level=steps_per_level, final_denoise=final_denoise, seed=seed,
                                 device=device, stride=stride)


def sample_denoising(score_fn: ScoreFn, sigmas: torch.Tensor, *, n: int = 2000, seed: int = 0,
                     levels: int = DENOISING_LEVELS, start: torch.Tensor | None = None,
                     center: torch.Tensor | None = None, device: str = "cpu", stride: int = 0) -> SamplerResult:
    """Denoising sampler from σ_1 to σ_L over `levels` geometric levels, then the Tweedie mean."""
    fine = geometric_sigmas(float(sigmas[0]), float(sigmas[-1]), levels)
    x0 = _start(start, n, float(sigmas[0]), seed, center)
    with limited_threads():
        return denoising_sampler(score_fn, x0, fine, seed=seed, device=device, stride=stride)


def sample_langevin(score_fn: ScoreFn, sigma: float, *, eps: float, n: int = 2000, seed: int = 0,
                    steps: int = 1000, final_denoise: bool = False, start: torch.Tensor | None = None,
                    center: torch.Tensor | None = None, spread: float = 1.0, device: str = "cpu",
                    stride: int = 0) -> SamplerResult:
    """Plain Langevin at one σ from N(center, spread²I) (or `start`).

    `final_denoise` adds one Tweedie step x ← x + σ² s(x, σ) at the end (σ > 0 only).
    """
    x0 = _start(start, n, spread, seed, center)
    with limited_threads():
        result = langevin_dynamics(score_fn, x0, sigma=sigma, eps=eps, n_steps=steps, seed=seed,
                                   device=device, stride=stride)
        if final_denoise and sigma > 0:
            with torch.no_grad():
                result.samples = tweedie(result.samples, sigma, score_fn(result.samples, sigma).cpu())
            if stride:
                result.frames.append(result.samples.clone())
                result.labels.append("final denoising step (Tweedie)")
                result.frame_sigmas.append(0.0)
    return result
