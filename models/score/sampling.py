"""Draw samples with a score function: one function per sampler, every option explicit.

The CLI, the pages and the benchmarks all sample through these functions, so a setting
means the same thing everywhere. Each one starts from `start` (an (n, 2) tensor) if
given, else from `prior` (see prior.py: the data's distribution at σ_max), else from
N(center, σ_1²I); runs with one torch thread on small machines; and returns a
`SamplerResult` (samples plus snapshots every `stride` steps for animation).

* `sample_annealed_langevin` — NCSN's sampler: Langevin at every level of a ladder.
* `sample_denoising`         — ancestral steps down a fine ladder (the reverse VE SDE).
* `sample_predictor_corrector` — ancestral steps + Langevin corrector steps (Song et al. 2021).
* `sample_ode`               — the deterministic probability-flow ODE (Euler or Heun).
* `sample_langevin`          — plain Langevin at ONE σ; the only sampler a single-σ
                               model has (optionally finished by one Tweedie step).

The default settings below were chosen by measurement with the EXACT score of the NCSN
toy (0.2·N((−5,−5), I) + 0.8·N((5,5), I), default ladder 21 → 0.041, exact prior; heavy-mode
share, truth 0.80; within-mode std, truth 1.00; `python -m benchmarks.bench_samplers`,
4000 particles × 8 seeds, share ±0.002):
  annealed, 10 levels × 20 steps, ε = 0.5σ_L², from N(mean, σ_1²I) (the old default) 0.750, std 1.10
  annealed, 50 levels × 20 steps (the default) ........................... 0.787, std 1.01
  ancestral (denoise), 100 levels ......................................... 0.806, std 0.97
  predictor–corrector, 100 levels, 1 corrector step, r = 0.1 ............... 0.804, std 1.00
  probability-flow ODE, Heun, 100 steps ................................... 0.803, std 1.00
  (the ancestral sampler's excess is its step size's: 400 levels give 0.802, std 0.99;
  PC with r = 0.16 gives 0.802, r = 0.3 0.795)
Annealed Langevin keeps a small bias at any affordable setting: it equilibrates at each
level with a finite step (too wide a stationary law) and freezes the mode weights at
σ ≈ 2–4, where crossing between modes becomes rare. Default-trained networks (6 training
seeds) give the same: 0.788 ± 0.003 annealed, 0.805 ± 0.002 ancestral. On a 3-mode mixture
given as a CSV, annealed Langevin missed the weights by 0.088 and 0.039 on 2 of 3 networks,
where the ancestral sampler's largest error was 0.009: its answer hangs on the network's
score in the empty bands between modes, where the network saw little data.
"""

from __future__ import annotations

import math

import torch

from models.lab.sampler_result import SamplerResult
from models.lab.training import limited_threads

from .noise import geometric_sigmas
from .prior import Prior
from .samplers import (ScoreFn, annealed_langevin, denoising_sampler, gaussian_start,
                       langevin_dynamics, predictor_corrector, probability_flow_ode, tweedie)

# The one default sampler for an NCSN (Score lab and CLI): with default-trained networks the ancestral sampler
# kept the mode weights (NCSN toy 0.805 of 0.80; a CSV's 3 modes within 0.009) where annealed Langevin fell
# short (0.788; up to 0.088 off), at a tenth of the network calls: bench_samplers.
DEFAULT_SAMPLER = "denoise"

ANNEALED_LEVELS = 50          # annealed Langevin's default ladder (a fine one: see the table above)
ANNEALED_STEPS_PER_LEVEL = 20
DENOISING_LEVELS = 100        # the denoising sampler's fine ladder: one network call per level
PC_LEVELS = 100               # predictor–corrector: levels × (corrector steps + 1) network calls
PC_CORRECTOR_STEPS = 1
PC_SNR = 0.1                  # heavy share, exact score, 8 × 4000 (±0.002): r = 0.1 → 0.804, 0.16 → 0.802, 0.3 → 0.795
ODE_STEPS = 100
ODE_SOLVER = "heun"
LANGEVIN_EPS_SCALE = 0.01     # plain Langevin: ε = 0.01 (spread² + σ²), see default_langevin_eps
BARELY_MOVED = 0.5            # plain Langevin warns when the RMS move is below this share of the spread


def default_eps(sigma_last: float) -> float:
    """Annealed Langevin's ε = 0.5 σ_L², so level i's step is α_i = σ_i²/2: the noise moves a particle
    √α_i ≈ 0.71 σ_i per step, and where p_σi is about a Gaussian of variance σ_i² (a mode much narrower
    than σ_i) the chain settles at variance σ_i²/(1 − α_i/4σ_i²) = 8/7 σ_i², 14 % too wide (the exact
    p_σi only as ε → 0). Measured on moons (NCSN, 20 steps/level): energy
    distance 0.0017 at 0.5 σ_L², 0.002 at σ_L², 0.013 at 4 σ_L², 0.02 at 0.1 σ_L²."""
    return 0.5 * float(sigma_last) ** 2


def default_langevin_eps(sigma: float, spread: float) -> float:
    """Plain Langevin's ε from the data's scale: ε = 0.01 (spread² + σ²).

    Each step's noise √ε is a tenth of the width of p_σ, so 1000 steps move a particle
    about 3 widths: far enough to forget where it started, small enough to stay stable.
    (The old default 0.5 σ² was 1.7e-4 on the NCSN toy's σ_L: particles barely moved.)
    """
    return LANGEVIN_EPS_SCALE * (float(spread) ** 2 + float(sigma) ** 2)


def movement_warning(start: torch.Tensor, samples: torch.Tensor, spread: float) -> str | None:
    """A one-line warning when particles barely moved (RMS move < half the data's spread), or None.

    Non-movement looks like Langevin's classic failure (wrong mode weights) on a chart, but
    it is a too-small ε: with the old default on the NCSN toy the cloud kept std 13.7 (the
    data's is 4.1). A chain that mixes moves a typical particle by more than the data's spread."""
    moved = float((samples - start.to(samples.device)).pow(2).sum(1).mean().sqrt())
    if not math.isfinite(moved) or moved >= BARELY_MOVED * float(spread):
        return None
    return (f"particles barely moved (RMS {moved:.3g}, {moved / spread:.1%} of the data's spread {spread:.3g}): "
            "the result is mostly the starting cloud; use a larger --eps or more --steps")


def _start(start: torch.Tensor | None, prior: Prior | None, n: int, spread: float, seed: int,
           center: torch.Tensor | None) -> torch.Tensor:
    if start is not None:
        return start.float()
    if n < 1:
        raise ValueError("the number of samples must be at least 1")
    if prior is not None:
        return prior.sample(n, seed)
    return gaussian_start(n, spread, seed=seed, center=center)


def fine_ladder(sigmas: torch.Tensor, levels: int | None) -> torch.Tensor:
    """`levels` geometric levels between the ends of `sigmas` (None: `sigmas` as given)."""
    if levels is None:
        return sigmas
    return geometric_sigmas(float(sigmas[0]), float(sigmas[-1]), int(levels))


def sample_annealed_langevin(score_fn: ScoreFn, sigmas: torch.Tensor, *, n: int = 2000, seed: int = 0,
                             eps: float | None = None, steps_per_level: int = ANNEALED_STEPS_PER_LEVEL,
                             levels: int | None = None, final_denoise: bool = True,
                             start: torch.Tensor | None = None, prior: Prior | None = None,
                             center: torch.Tensor | None = None, device: str = "cpu",
                             stride: int = 0) -> SamplerResult:
    """Annealed Langevin down `sigmas` (or `levels` geometric levels between its ends);
    ε defaults to 0.5 σ_L²."""
    ladder = fine_ladder(sigmas, levels)
    x0 = _start(start, prior, n, float(ladder[0]), seed, center)
    with limited_threads():
        return annealed_langevin(score_fn, x0, ladder, eps=default_eps(ladder[-1]) if eps is None else eps,
                                 steps_per_level=steps_per_level, final_denoise=final_denoise, seed=seed,
                                 device=device, stride=stride)


def sample_denoising(score_fn: ScoreFn, sigmas: torch.Tensor, *, n: int = 2000, seed: int = 0,
                     levels: int = DENOISING_LEVELS, start: torch.Tensor | None = None, prior: Prior | None = None,
                     center: torch.Tensor | None = None, device: str = "cpu", stride: int = 0) -> SamplerResult:
    """Denoising (ancestral) sampler from σ_1 to σ_L over `levels` geometric levels, then the Tweedie mean."""
    fine = fine_ladder(sigmas, levels)
    x0 = _start(start, prior, n, float(sigmas[0]), seed, center)
    with limited_threads():
        return denoising_sampler(score_fn, x0, fine, seed=seed, device=device, stride=stride)


def sample_predictor_corrector(score_fn: ScoreFn, sigmas: torch.Tensor, *, n: int = 2000, seed: int = 0,
                               levels: int = PC_LEVELS, corrector_steps: int = PC_CORRECTOR_STEPS,
                               snr: float = PC_SNR, start: torch.Tensor | None = None, prior: Prior | None = None,
                               center: torch.Tensor | None = None, device: str = "cpu",
                               stride: int = 0) -> SamplerResult:
    """Predictor–corrector over `levels` geometric levels between the ends of `sigmas`."""
    fine = fine_ladder(sigmas, levels)
    x0 = _start(start, prior, n, float(sigmas[0]), seed, center)
    with limited_threads():
        return predictor_corrector(score_fn, x0, fine, corrector_steps=corrector_steps, snr=snr, seed=seed,
                                   device=device, stride=stride)


def sample_ode(score_fn: ScoreFn, sigmas: torch.Tensor, *, n: int = 2000, seed: int = 0, steps: int = ODE_STEPS,
               solver: str = ODE_SOLVER, start: torch.Tensor | None = None, prior: Prior | None = None,
               center: torch.Tensor | None = None, device: str = "cpu", stride: int = 0) -> SamplerResult:
    """The probability-flow ODE in `steps` steps from σ_1 to σ_L (the seed only picks the start)."""
    if steps < 1:
        raise ValueError("the ODE needs at least one step")
    fine = fine_ladder(sigmas, steps + 1)
    x0 = _start(start, prior, n, float(sigmas[0]), seed, center)
    with limited_threads():
        return probability_flow_ode(score_fn, x0, fine, solver=solver, device=device, stride=stride)


def sample_langevin(score_fn: ScoreFn, sigma: float, *, eps: float, n: int = 2000, seed: int = 0,
                    steps: int = 1000, final_denoise: bool = False, start: torch.Tensor | None = None,
                    center: torch.Tensor | None = None, spread: float = 1.0, device: str = "cpu",
                    stride: int = 0) -> SamplerResult:
    """Plain Langevin at one σ from N(center, spread²I) (or `start`).

    `final_denoise` adds one Tweedie step x ← x + σ² s(x, σ) at the end (σ > 0 only).
    """
    x0 = _start(start, None, n, spread, seed, center)
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
