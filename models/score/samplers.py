"""Samplers driven by any score function `score_fn(x, σ) -> ∇ log p_σ(x)`.

All of them use the same score; they differ in how they step (Song et al. 2021 for
the VE diffusion x_σ = x_0 + σ z):

* Langevin dynamics follows the score uphill and adds noise at ONE level σ:
      x ← x + (α/2) s(x, σ) + √α z
  Annealed Langevin (Song & Ermon 2019) runs T such steps at each level of a
  decreasing ladder σ_1 > … > σ_L with α_i = ε σ_i² / σ_L².
* The reverse-SDE (ancestral) sampler `denoising_sampler` goes down the ladder one
  level per step: x ← x + (σ_i² − σ_{i+1}²) s + σ_{i+1}√(1 − σ_{i+1}²/σ_i²) z.
  The network IS a denoiser (Tweedie: x̂ = x + σ² s is the posterior mean of the
  clean point). One ancestral step has exactly the drift of one probability-flow-ODE
  step (½Δσ² s) plus one Langevin step at the current level with α = Δσ², and noise
  smaller than that Langevin step's by σ_{i+1}/σ_i (`ancestral_step_parts`); ODE step +
  Langevin step with its full noise is the Euler–Maruyama step of the reverse SDE.
  It is not annealed Langevin: annealed Langevin uses only the Langevin part, many
  steps per level, and lands elsewhere for finite settings.
* `predictor_corrector`: k Langevin "corrector" steps at each level, then one
  ancestral "predictor" step (Song et al. 2021, Algorithm 2 order).
* `probability_flow_ode`: the deterministic path with the same marginals p_σ,
  x ← x + ½(σ_i² − σ_{i+1}²) s (Euler) or its Heun correction.

Every sampler takes a seed and a device, never touches global RNG state, runs
without autograd, and returns the trajectory at a chosen stride for animation. Its noise
comes from the seed's "sampler-noise" stream and a start from its "prior" stream
(models.lab.streams): a noise generator seeded like the start would replay the start's draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from models.lab.sampler_result import SamplerResult
from models.lab.streams import PRIOR, SAMPLER_NOISE, stream

ScoreFn = Callable[[torch.Tensor, float], torch.Tensor]


def uniform_start(n: int, low: float, high: float, seed: int = 0) -> torch.Tensor:
    """Particles uniform on the square [low, high]² (the NCSN paper's toy start)."""
    g = stream(seed, PRIOR)
    return low + (high - low) * torch.rand(n, 2, generator=g)


def gaussian_start(n: int, sigma: float, seed: int = 0, center: torch.Tensor | None = None) -> torch.Tensor:
    """Particles from N(center, σ²I): the prior at the top of the ladder."""
    g = stream(seed, PRIOR)
    x = sigma * torch.randn(n, 2, generator=g)
    return x if center is None else x + center


class _Recorder:
    """A sampler's frames: the start `x` at `sigma`, then every `stride` steps (0: none at all)."""

    def __init__(self, stride: int, x: torch.Tensor, sigma: float):
        self.stride = max(int(stride), 0)
        self.result_frames: list[torch.Tensor] = []
        self.labels: list[str] = []
        self.sigmas: list[float] = []
        self(x, "start", sigma, force=True)

    def __call__(self, x: torch.Tensor, label: str, sigma: float, force: bool = False, count: int = 0):
        if self.stride and (force or count % self.stride == 0):
            self.result_frames.append(x.detach().cpu().clone())
            self.labels.append(label)
            self.sigmas.append(float(sigma))


def tweedie(x: torch.Tensor, sigma: float, score: torch.Tensor) -> torch.Tensor:
    """Tweedie's formula: the posterior mean E[x₀ | x] = x + σ² ∇log p_σ(x) of the clean point behind x."""
    return x + sigma**2 * score


def _noise_source(seed: int, device: torch.device | str) -> torch.Generator:
    return stream(seed, SAMPLER_NOISE, device)


@torch.no_grad()
def langevin_dynamics(score_fn: ScoreFn, x0: torch.Tensor, *, sigma: float = 0.0, eps: float = 0.1,
                      n_steps: int = 1000, seed: int = 0, device: str = "cpu",
                      stride: int = 0) -> SamplerResult:
    """Plain Langevin at ONE noise level σ (σ = 0: the data's own score, if exact)."""
    if eps <= 0 or n_steps < 1:
        raise ValueError("Langevin needs a positive step size ε and at least one step")
    g = _noise_source(seed, device)
    x = x0.to(device).clone()
    rec = _Recorder(stride, x, sigma)
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
    α_i = ε σ_i²/σ_L². The result approaches a sample of p_σL only as ε → 0 and T → ∞
    (finite steps leave it slightly too wide and the mode weights not fully settled).
    `final_denoise` then takes one Tweedie step x ← x + σ_L² s(x, σ_L): the posterior
    mean, which shrinks a unit-variance mode's variance by 1/(1 + σ_L²) (NCSNv2's code).
    A frame is recorded every `stride` steps and at the end of every level.
    """
    sigmas = [float(s) for s in sigmas]
    if eps <= 0 or steps_per_level < 1:
        raise ValueError("annealed Langevin needs a positive ε and at least one step per level")
    g = _noise_source(seed, device)
    x = x0.to(device).clone()
    rec = _Recorder(stride, x, sigmas[0])
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
    rec = _Recorder(stride, x, sigmas[0])
    noise = torch.empty_like(x)
    for i, sigma in enumerate(sigmas):
        s = score_fn(x, sigma)
        if i + 1 < len(sigmas):
            nxt = sigmas[i + 1]
            _ancestral_step(x, s, sigma, nxt, noise, g)
            rec(x, f"σ = {nxt:.3g} · step {i + 1}/{len(sigmas)}", nxt, force=i + 2 == len(sigmas), count=i + 1)
        else:
            x = tweedie(x, sigma, s)  # the posterior mean at the smallest σ
            rec(x, "denoised (Tweedie mean)", 0.0, force=True)
    return SamplerResult(x.cpu(), rec.result_frames, rec.labels, rec.sigmas)


def _ancestral_noise_scale(sigma: float, nxt: float) -> float:
    """σ_{i+1} √(1 − σ_{i+1}²/σ_i²): the std of the Gaussian posterior of x_{σ_{i+1}} given x_{σ_i}."""
    return nxt * math.sqrt(max(1 - nxt**2 / sigma**2, 0.0))


def _ancestral_step(x: torch.Tensor, s: torch.Tensor, sigma: float, nxt: float, noise: torch.Tensor,
                    g: torch.Generator) -> None:
    """σ_i → σ_{i+1} in place: (σ_i² − σ_{i+1}²) along the score s, then the posterior's fresh noise."""
    x.add_(s, alpha=sigma**2 - nxt**2).add_(noise.normal_(generator=g), alpha=_ancestral_noise_scale(sigma, nxt))


@torch.no_grad()
def predictor_corrector(score_fn: ScoreFn, x0: torch.Tensor, sigmas, *, corrector_steps: int = 1,
                        snr: float = 0.16, seed: int = 0, device: str = "cpu", stride: int = 0) -> SamplerResult:
    """Predictor–corrector sampling (Song et al. 2021, Algorithm 2, VE case).

    At each level σ_i, `corrector_steps` Langevin steps at σ_i (the corrector), then one
    ancestral step to σ_{i+1} (the predictor, as in `denoising_sampler`); at the last level
    the Tweedie mean x + σ_L² s instead. The corrector's step size comes from a
    signal-to-noise ratio r: in the paper's notation x ← x + ε s + √(2ε) z with
        ε = 2 (r ‖z‖ / ‖s‖)²        (‖·‖ averaged over the particles),
    so each step moves the particles by about r‖z‖ along the noise's scale, whatever σ is.
    Network calls: levels × (corrector_steps + 1).
    """
    sigmas = [float(s) for s in sigmas]
    if corrector_steps < 0 or not snr > 0:
        raise ValueError("predictor-corrector needs corrector_steps ≥ 0 and a positive signal-to-noise ratio")
    g = _noise_source(seed, device)
    x = x0.to(device).clone()
    rec = _Recorder(stride, x, sigmas[0])
    noise = torch.empty_like(x)
    for i, sigma in enumerate(sigmas):
        for _ in range(corrector_steps):
            s = score_fn(x, sigma)
            noise.normal_(generator=g)
            step = 2 * (snr * noise.norm(dim=1).mean() / s.norm(dim=1).mean().clamp_min(1e-12)) ** 2
            x.add_(step * s).add_(torch.sqrt(2 * step) * noise)
        s = score_fn(x, sigma)
        if i + 1 < len(sigmas):
            nxt = sigmas[i + 1]
            _ancestral_step(x, s, sigma, nxt, noise, g)  # the predictor
            rec(x, f"σ = {nxt:.3g} · level {i + 1}/{len(sigmas)}", nxt, force=i + 2 == len(sigmas), count=i + 1)
        else:
            x = tweedie(x, sigma, s)
            rec(x, "denoised (Tweedie mean)", 0.0, force=True)
    return SamplerResult(x.cpu(), rec.result_frames, rec.labels, rec.sigmas)


def _ode_step(score_fn: ScoreFn, x: torch.Tensor, sigma: float, nxt: float, solver: str) -> torch.Tensor:
    """One step of dx/d(σ²) = −½ s(x, σ) from σ to nxt (< σ): Euler, or Heun (Euler, then the
    average of the slopes at both ends)."""
    half = 0.5 * (sigma**2 - nxt**2)
    slope = score_fn(x, sigma)
    euler = x + half * slope
    if solver == "euler":
        return euler
    return x + half * 0.5 * (slope + score_fn(euler, nxt))


ODE_SOLVERS = ("euler", "heun")


@torch.no_grad()
def probability_flow_ode(score_fn: ScoreFn, x0: torch.Tensor, sigmas, *, solver: str = "heun",
                         device: str = "cpu", stride: int = 0) -> SamplerResult:
    """The probability-flow ODE (Song et al. 2021, §4.3), VE case: deterministic, no noise.

        dx/d(σ²) = −½ ∇log p_σ(x)      (same marginals p_σ as the noising process)

    integrated from σ_1 down to σ_L along `sigmas`; one Euler step is
        x ← x + ½ (σ_i² − σ_{i+1}²) s(x, σ_i)
    and a Heun step averages that slope with the one at the Euler point (σ_{i+1}):
    second order, two network calls per step. The result is a sample of p_σL itself
    (no final Tweedie step: with a small σ_L the blur is invisible, and the map stays
    invertible, which is what `likelihood.ode_log_likelihood` needs). The same start
    gives the same path: the only randomness is the starting cloud.
    """
    sigmas = [float(s) for s in sigmas]
    if solver not in ODE_SOLVERS:
        raise ValueError(f"unknown ODE solver {solver!r}: use one of {', '.join(ODE_SOLVERS)}")
    x = x0.to(device).clone()
    rec = _Recorder(stride, x, sigmas[0])
    for i in range(len(sigmas) - 1):
        x = _ode_step(score_fn, x, sigmas[i], sigmas[i + 1], solver)
        rec(x, f"σ = {sigmas[i + 1]:.3g} · step {i + 1}/{len(sigmas) - 1}", sigmas[i + 1],
            force=i + 2 == len(sigmas), count=i + 1)
    return SamplerResult(x.cpu(), rec.result_frames, rec.labels, rec.sigmas)


@dataclass
class AncestralStepParts:
    """One ancestral step σ → σ_next applied to the same particles, and its two halves."""

    start: torch.Tensor          # x at σ
    ancestral: torch.Tensor      # x + Δσ² s + σ_next √(1 − σ_next²/σ²) z
    ode_half: torch.Tensor       # x + ½Δσ² s                  (probability-flow Euler step)
    langevin_half: torch.Tensor  # x + ½Δσ² s + √Δσ² z          (Langevin step at σ with α = Δσ²)
    both: torch.Tensor           # ode_half + the Langevin half's increment (drift ½Δσ² s + √Δσ² z)
    alpha: float                 # Δσ² = σ² − σ_next²
    noise_std_ancestral: float   # σ_next √(1 − σ_next²/σ²)
    noise_std_langevin: float    # √Δσ²


@torch.no_grad()
def ancestral_step_parts(score_fn: ScoreFn, x: torch.Tensor, sigma: float, sigma_next: float, *,
                         seed: int = 0) -> AncestralStepParts:
    """Split one ancestral step into its probability-flow half and its Langevin half.

    With Δ = σ² − σ_next² and one score s = s(x, σ), one noise draw z:
        ancestral:  x + Δ s + σ_next √(1 − σ_next²/σ²) z
        ODE half:   x + ½Δ s
        Langevin:   x + ½Δ s + √Δ z       (α = Δ: drift α/2 · s, noise √α)
    ODE half + Langevin increment = x + Δ s + √Δ z: the same drift as the ancestral step;
    the noise differs only in its size, σ_next√(Δ/σ²) vs √Δ, a factor σ_next/σ → 1 as the
    steps get small. Both are evaluated here on the same particles with the same z.
    """
    sigma, sigma_next = float(sigma), float(sigma_next)
    if not sigma > sigma_next > 0:
        raise ValueError("an ancestral step goes from σ down to a smaller positive σ_next")
    z = torch.randn(x.shape, generator=_noise_source(seed, x.device), device=x.device, dtype=x.dtype)
    s = score_fn(x, sigma)
    delta = sigma**2 - sigma_next**2
    anc_std = _ancestral_noise_scale(sigma, sigma_next)
    ode = x + 0.5 * delta * s
    lang_increment = 0.5 * delta * s + math.sqrt(delta) * z
    return AncestralStepParts(start=x.clone(), ancestral=x + delta * s + anc_std * z, ode_half=ode,
                              langevin_half=x + lang_increment, both=ode + lang_increment, alpha=delta,
                              noise_std_ancestral=anc_std, noise_std_langevin=math.sqrt(delta))
