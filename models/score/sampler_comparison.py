"""One score, many samplers: what the "One score, many samplers" page computes.

One score function — the exact score of the NCSN toy, or a trained NCSN — drives every
sampler from the same prior (prior.py) with its default settings (sampling.py). For each
one: the samples, a few particle paths, the heavy-mode share and within-mode std against
the truth (when the data is a known mixture), the energy distance as a ratio to the
data-vs-data floor, the number of score (network) calls and the seconds it took.

`step_decomposition` shows, on the same particles, that one ancestral step has the drift of one
probability-flow (ODE) step plus one Langevin step at the current level, and less noise (by σ′/σ).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from models.lab.datasets import dataset_mixture, sample_dataset
from models.lab.metrics import energy_distance, mode_shares
from models.lab.mixture import GaussianMixture
from models.lab.streams import PRIOR, stream

from .noise import default_sigmas
from .prior import Prior, mixture_prior
from .reference import mixture_score_fn
from .run import TrainingRun, evaluation_sampler, model_prior
from .samplers import ScoreFn, ancestral_step_parts
from .sampling import (ANNEALED_LEVELS, DENOISING_LEVELS, ODE_STEPS, PC_LEVELS, sample_annealed_langevin,
                       sample_denoising, sample_ode, sample_predictor_corrector)

SAMPLER_LABELS = {
    "annealed": "annealed Langevin (Langevin only)",
    "denoise": "reverse SDE (ancestral)",
    "pc": "predictor–corrector",
    "ode": "probability-flow ODE (Heun)",
    "ode-euler": "probability-flow ODE (Euler)",
}
SHORT_LABELS = {"annealed": "annealed", "denoise": "ancestral", "pc": "pred.–corr.", "ode": "ODE (Heun)",
                "ode-euler": "ODE (Euler)"}
PATHS = 8            # particle paths drawn per sampler
PATH_FRAMES = 40     # snapshots along each path
PATH_SIGMA_MAX = 4.0  # paths are drawn from σ ≤ this (share of the top spread): above it a particle crosses the plot
FLOOR_SEEDS = (1001, 1002, 1003, 1004)


@dataclass
class SamplerOutcome:
    name: str
    label: str
    short_label: str
    samples: np.ndarray            # (n, 2)
    paths: np.ndarray              # (frames, PATHS, 2): the first PATHS particles over time
    shares: np.ndarray | None      # mode shares (nearest mean), when the data is a known mixture
    within_std: float | None       # mean per-axis std inside each mode, weighted by the true weights
    energy: float                  # energy distance to fresh data
    energy_ratio: float            # energy / the data-vs-data floor at the same n
    calls: int                     # score evaluations (network calls for a network)
    seconds: float


@dataclass
class Comparison:
    score_label: str
    truth: GaussianMixture | None
    true_within_std: float | None
    floor: float
    fresh: np.ndarray
    outcomes: list[SamplerOutcome]


class CountingScore:
    """A score function that counts its calls (the cost every sampler pays)."""

    def __init__(self, score_fn: ScoreFn):
        self.score_fn, self.calls = score_fn, 0

    def __call__(self, x: torch.Tensor, sigma: float) -> torch.Tensor:
        self.calls += 1
        return self.score_fn(x, sigma)


def within_mode_std(samples, mixture: GaussianMixture) -> float:
    """Mean per-axis std of the samples nearest each mode, weighted by the mode's true weight."""
    x = torch.as_tensor(np.asarray(samples), dtype=torch.float64)
    x = x[torch.isfinite(x).all(1)]
    means = mixture.means_tensor().double()
    nearest = torch.cdist(x, means).argmin(1)
    total = 0.0
    for k, w in enumerate(mixture.weights):
        mine = x[nearest == k]
        if len(mine) > 1:
            total += w * float(mine.std(0).mean())
    return total


def run_sampler(name: str, score_fn: ScoreFn, sigmas: torch.Tensor, prior: Prior, *, n: int, seed: int):
    """One sampler with its defaults, from `prior`, with frames for the paths."""
    if name == "annealed":
        return sample_annealed_langevin(score_fn, sigmas, n=n, seed=seed, levels=ANNEALED_LEVELS, prior=prior,
                                        stride=max(1, 20 * ANNEALED_LEVELS // PATH_FRAMES))
    if name == "denoise":
        return sample_denoising(score_fn, sigmas, n=n, seed=seed, prior=prior,
                                stride=max(1, DENOISING_LEVELS // PATH_FRAMES))
    if name == "pc":
        return sample_predictor_corrector(score_fn, sigmas, n=n, seed=seed, prior=prior,
                                          stride=max(1, PC_LEVELS // PATH_FRAMES))
    if name in ("ode", "ode-euler"):
        solver = "euler" if name == "ode-euler" else "heun"
        return sample_ode(score_fn, sigmas, n=n, seed=seed, prior=prior, solver=solver,
                          stride=max(1, ODE_STEPS // PATH_FRAMES))
    raise ValueError(f"unknown sampler {name!r}: use one of {', '.join(SAMPLER_LABELS)}")


def compare_samplers(score_fn: ScoreFn, sigmas: torch.Tensor, prior: Prior,
                     fresh_fn: Callable[[int, int], torch.Tensor],
                     *, truth: GaussianMixture | None, score_label: str, n: int = 2000, seed: int = 0,
                     samplers=("annealed", "denoise", "pc", "ode"),
                     progress: Callable[[str, int], None] | None = None,
                     should_stop: Callable[[], bool] | None = None) -> Comparison | None:
    """Every sampler in `samplers` with the same score and prior; None if stopped.

    `fresh_fn(n, seed)` draws fresh data points (the energy distance's reference and floor).
    """
    fresh = fresh_fn(n, 12_345)
    floor = float(np.mean([energy_distance(fresh_fn(n, a), fresh_fn(n, b))
                           for a, b in zip(FLOOR_SEEDS[::2], FLOOR_SEEDS[1::2])]))
    outcomes = []
    for i, name in enumerate(samplers):
        if should_stop is not None and should_stop():
            return None
        if progress is not None:
            progress(SAMPLER_LABELS[name], i)
        counted = CountingScore(score_fn)
        started = time.perf_counter()
        result = run_sampler(name, counted, sigmas, prior, n=n, seed=seed)
        seconds = time.perf_counter() - started
        x = result.samples
        top = PATH_SIGMA_MAX / 21.0 * float(sigmas[0])  # the NCSN toy's σ = 4, scaled to this ladder
        paths = torch.stack([f[:PATHS] for f, sig in zip(result.frames, result.frame_sigmas) if sig <= top]).numpy()
        energy = energy_distance(x, fresh)
        outcomes.append(SamplerOutcome(
            name=name, label=SAMPLER_LABELS[name], short_label=SHORT_LABELS[name], samples=x.numpy(), paths=paths,
            shares=None if truth is None else mode_shares(x, truth.means_tensor()),
            within_std=None if truth is None else within_mode_std(x, truth),
            energy=energy, energy_ratio=energy / floor if floor > 0 else float("inf"),
            calls=counted.calls, seconds=seconds))
    true_std = None if truth is None else float(np.dot(truth.weights, truth.stds))
    return Comparison(score_label, truth, true_std, floor, fresh.numpy(), outcomes)


@dataclass
class ScoreSetup:
    """One score and everything the comparison needs around it."""

    label: str
    score_fn: ScoreFn
    sigmas: torch.Tensor                                   # the ladder's ends (samplers re-ladder finely)
    prior: Prior
    fresh_fn: Callable[[int, int], torch.Tensor]           # fresh data points (n, seed)
    truth: GaussianMixture | None


def exact_setup(name: str = "ncsn-mixture") -> ScoreSetup:
    """A built-in mixture with its EXACT score: the default ladder of its points, the exact p_σmax."""
    mixture = dataset_mixture(name)
    if mixture is None:
        raise ValueError(f"{name} is not a Gaussian mixture: it has no exact score")
    sigmas = default_sigmas(sample_dataset(name, 10_000, 0))
    return ScoreSetup(f"exact score of {name}", mixture_score_fn(mixture), sigmas,
                      mixture_prior(mixture, float(sigmas[0])), lambda n, seed: sample_dataset(name, n, seed), mixture)


def network_setup(run: TrainingRun) -> ScoreSetup:
    """A trained NCSN (e.g. the Score lab's) with its own prior, and fresh points of its data."""
    model = run.model()
    if model is None or model.config.model != "ncsn" or run.data is None:
        raise ValueError("needs a trained NCSN with its training data")
    spec = run.data.spec
    truth = dataset_mixture(spec.name) if spec.kind == "builtin" else None
    return ScoreSetup(f"the Score lab's network ({run.describe()})", model.score, model.sigmas, model_prior(model),
                      evaluation_sampler(run), truth)


def compare(setup: ScoreSetup, *, n: int = 2000, seed: int = 0, progress=None, should_stop=None) -> Comparison | None:
    return compare_samplers(setup.score_fn, setup.sigmas, setup.prior, setup.fresh_fn, truth=setup.truth,
                            score_label=setup.label, n=n, seed=seed, progress=progress, should_stop=should_stop)


def setup_of(spec: tuple[str, object]) -> ScoreSetup:
    """("exact", mixture name) or ("network", a run holding its trained model): what a job can carry."""
    kind, what = spec
    return exact_setup(what) if kind == "exact" else network_setup(what)


def every_sampler_job(job, specs: list[tuple[str, object]], n: int, seed: int) -> list[Comparison] | None:
    """A job's work (in a worker process): every sampler on each score in turn, its progress as a
    `TrainingProgress` (phase: which score and sampler, step: how many samplers are done); None once stopped."""
    from models.lab.run import TrainingProgress

    out = []
    for spec in specs:
        setup = setup_of(spec)

        def progress(label: str, i: int, who: str = setup.label) -> None:
            job.report(TrainingProgress(phase=f"{who}: {label}", step=i))
        result = compare(setup, n=n, seed=seed, should_stop=job.should_stop, progress=progress)
        if result is None:
            return None
        out.append(result)
    return out


# ----------------------------------------------------------------------------- one step, two halves

@dataclass
class StepRow:
    what: str
    drift: float                 # mean ‖drift‖ over the particles
    noise_std: float             # per-coordinate std of the added noise
    heavy_share: float | None    # of the resulting cloud
    within_std: float | None


def step_decomposition(score_fn: ScoreFn, mixture: GaussianMixture, sigma: float, sigma_next: float, *,
                       n: int = 4000, seed: int = 0) -> list[StepRow]:
    """Particles from the exact p_σ of `mixture`, one ancestral step to σ_next, and its two halves.

    Rows: ancestral, ODE half, Langevin half, ODE + Langevin, and the truth at σ_next. The two
    halves' drifts add up to the ancestral drift; the noise differs by the factor σ_next/σ.
    """
    g = stream(seed, PRIOR)
    x = mixture.sample(n, g) + sigma * torch.randn(n, 2, generator=g)
    parts = ancestral_step_parts(score_fn, x, sigma, sigma_next, seed=seed)   # its noise: the seed's own stream
    s = score_fn(x, sigma)
    half = 0.5 * parts.alpha * s

    def row(what, drift, noise, cloud):
        shares = mode_shares(cloud, mixture.means_tensor())
        return StepRow(what, float(drift.norm(dim=1).mean()), noise, float(shares[-1]), within_mode_std(cloud, mixture))

    truth_cloud = mixture.sample(n, g) + sigma_next * torch.randn(n, 2, generator=g)
    rows = [row("ancestral step  x + Δσ² s + σ' √(1 − σ'²/σ²) z", parts.alpha * s,
                parts.noise_std_ancestral, parts.ancestral),
            row("ODE half  x + ½Δσ² s", half, 0.0, parts.ode_half),
            row("Langevin half  x + ½Δσ² s + √Δσ² z", half, parts.noise_std_langevin, parts.langevin_half),
            row("ODE half + Langevin half", half + half, parts.noise_std_langevin, parts.both),
            row(f"truth: p_σ at σ' = {sigma_next:g}", torch.zeros(1, 2), 0.0, truth_cloud)]
    return rows
