"""The Score lab's recipes as plain functions: data → trained model → samples.

The CLI (`python -m models.score`) and the app pages both call these, so a run
from the command line and a run from the browser are the same computation.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

import torch

from .checkpoints import ScoreModel
from .datasets import DatasetSpec, dataset_mixture, load_dataset
from .errors import InputError
from .noise import default_sigmas, geometric_sigmas
from .reference import empirical_score_fn, mixture_score_fn
from .samplers import (SamplerResult, annealed_langevin, denoising_sampler, gaussian_start,
                       langevin_dynamics, uniform_start)
from .trainer import Progress, TrainConfig, Trainer, limited_threads

SAMPLERS = ("annealed", "langevin", "denoise")


@dataclass
class TrainingData:
    raw: torch.Tensor          # the points in their own coordinates
    normalized: torch.Tensor   # what the network sees
    shift: torch.Tensor
    scale: float
    spec: DatasetSpec


def training_data(spec: DatasetSpec, n: int = 10_000, seed: int = 0) -> TrainingData:
    """Load the points; a user's CSV is standardized (built-ins and text already are)."""
    raw = load_dataset(spec, n, seed).float()
    if spec.kind == "csv":
        shift = raw.mean(0)
        scale = float(raw.std(0).mean())
        if not scale > 0:
            raise InputError("all points in the CSV are identical: nothing to learn")
    else:
        shift, scale = torch.zeros(2), 1.0
    return TrainingData(raw, (raw - shift) / scale, shift, scale, spec)


def new_trainer(data: TrainingData, config: TrainConfig) -> Trainer:
    # σ's given by a user are in data coordinates; the network works in normalized ones.
    c = TrainConfig(**{**config.to_dict()})
    for name in ("sigma", "sigma_max", "sigma_min"):
        v = getattr(c, name)
        if v is not None:
            setattr(c, name, v / data.scale)
    if c.sigma_min is not None and c.sigma_max is None and c.model == "ncsn":
        pass  # the default σ_max is checked against σ_min inside the ladder
    return Trainer(c, data.normalized)


def trained_model(trainer: Trainer, data: TrainingData) -> ScoreModel:
    return ScoreModel.from_trainer(trainer, data.shift, data.scale, data.spec.to_dict())


def train(data: TrainingData, config: TrainConfig, callback: Callable[[Progress], None] | None = None,
          stop_event: threading.Event | None = None) -> tuple[ScoreModel, Trainer]:
    trainer = new_trainer(data, config)
    trainer.run(callback, stop_event)
    return trained_model(trainer, data), trainer


def reference_score(kind: str, data: TrainingData):
    """The exact score of the data's mixture ('exact') or of the smoothed point set ('empirical')."""
    if kind == "exact":
        mixture = dataset_mixture(data.spec.name) if data.spec.kind == "builtin" else None
        if mixture is None:
            raise InputError(f"no exact score for {data.spec.describe()}: only Gaussian mixtures "
                             "(8-gaussians, ncsn-mixture) have one; use the empirical reference instead")
        return mixture_score_fn(mixture)
    if kind == "empirical":
        return empirical_score_fn(data.raw)
    raise InputError(f"unknown reference {kind!r}: use 'exact' or 'empirical'")


def default_eps(sigmas: torch.Tensor) -> float:
    """ε = 0.5 σ_L², so level i's Langevin step is α_i = σ_i²/2: each step moves about σ_i,
    the scale on which p_σi varies. Measured on moons (NCSN, 20 steps/level): energy distance
    0.0017 at 0.5 σ_L², 0.002 at σ_L², 0.013 at 4 σ_L², 0.02 at 0.1 σ_L² (too timid for 20 steps)."""
    return 0.5 * float(sigmas[-1]) ** 2


def sample(*args, **kwargs) -> SamplerResult:
    """Draw n samples (see `_sample`), with one torch thread on small machines."""
    with limited_threads():
        return _sample(*args, **kwargs)


def _sample(score_fn, sigmas: torch.Tensor, *, sampler: str = "annealed", n: int = 2000, seed: int = 0,
           eps: float | None = None, steps_per_level: int = 20, final_denoise: bool = True,
           sigma: float | None = None, langevin_steps: int = 1000, denoise_levels: int = 100,
           start: str = "gaussian", start_range: tuple[float, float] = (-8.0, 8.0),
           center: torch.Tensor | None = None, start_scale: float = 1.0, device: str = "cpu",
           stride: int = 0) -> SamplerResult:
    """Draw n samples with one of the three samplers from a common starting cloud.

    With a ladder, particles start from N(center, σ_1²I), the top of the ladder. A
    single-σ model (the denoising score network) has no ladder to anneal: every sampler
    then runs plain Langevin at that σ from N(center, start_scale²I) — the data's own
    spread — and "annealed"/"denoise" finish with the Tweedie step.
    """
    if n < 1:
        raise InputError("the number of samples must be at least 1")
    if sampler not in SAMPLERS:
        raise InputError(f"unknown sampler {sampler!r}: use one of {', '.join(SAMPLERS)}")
    if eps is not None and not eps > 0:
        raise InputError(f"step size ε must be positive (got {eps})")
    if steps_per_level < 1 or langevin_steps < 1:
        raise InputError("the number of steps must be at least 1")
    s_max = float(sigmas[0])
    single = len(sigmas) == 1
    if start == "uniform":
        x0 = uniform_start(n, *start_range, seed=seed)
    else:
        x0 = gaussian_start(n, start_scale if single else s_max, seed=seed, center=center)
    if single:
        level = s_max if sigma is None else sigma
        result = langevin_dynamics(score_fn, x0, sigma=level, eps=eps or default_eps(sigmas),
                                   n_steps=langevin_steps, seed=seed, device=device, stride=stride)
        if sampler != "langevin" and final_denoise:
            with torch.no_grad():
                result.samples = result.samples + level**2 * score_fn(result.samples, level).cpu()
            if stride:
                result.frames.append(result.samples.clone())
                result.labels.append("final denoising step (Tweedie)")
                result.frame_sigmas.append(0.0)
        return result
    if sampler == "annealed":
        return annealed_langevin(score_fn, x0, sigmas, eps=eps or default_eps(sigmas),
                                 steps_per_level=steps_per_level, final_denoise=final_denoise,
                                 seed=seed, device=device, stride=stride)
    if sampler == "denoise":
        fine = geometric_sigmas(s_max, float(sigmas[-1]), max(denoise_levels, len(sigmas)))
        return denoising_sampler(score_fn, x0, fine, seed=seed, device=device, stride=stride)
    level = float(sigmas[-1]) if sigma is None else sigma
    return langevin_dynamics(score_fn, x0, sigma=level, eps=eps or 0.1 * max(level, 1e-2) ** 2,
                             n_steps=langevin_steps, seed=seed, device=device, stride=stride)


def reference_sigmas(data: TrainingData, levels: int = 10, sigma_min: float | None = None,
                     sigma_max: float | None = None) -> torch.Tensor:
    if sigma_min is None and sigma_max is None:
        return default_sigmas(data.raw, levels)
    d = default_sigmas(data.raw, levels)
    return geometric_sigmas(sigma_max or float(d[0]), sigma_min or float(d[-1]), levels)
