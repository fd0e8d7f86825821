"""The computations behind the teaching pages: forward noising, Langevin vs annealed, memorization.

Each function is what one page shows, returned as numpy arrays ready to plot; the pages
only add widgets and charts. Training for the pages goes through `run.TrainingRun` like
the Score lab's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from models.lab.datasets import DatasetSpec, dataset_mixture, sample_dataset, training_data
from models.lab.metrics import mode_shares, nearest_distances, score_grid
from models.lab.training import limited_threads

from .checkpoints import ScoreModel
from .noise import default_sigmas, geometric_sigmas
from .reference import empirical_score_fn, mixture_score_fn, reference_score
from .likelihood import ode_log_likelihood
from .run import TrainingRun, grid_points, model_prior, training_config
from .samplers import tweedie, uniform_start
from .sampling import sample_annealed_langevin, sample_langevin

# ----------------------------------------------------------------------------- forward noising


@dataclass
class Noising:
    data: np.ndarray        # clean points
    noisy: np.ndarray       # x̃ = x + σz
    denoised: np.ndarray    # Tweedie: E[x | x̃]
    arrow_points: np.ndarray
    arrows: np.ndarray      # the exact score of p_σ at arrow_points
    heat_points: np.ndarray
    log_p: np.ndarray       # log p_σ at heat_points
    sigma: float
    score_at_noisy: np.ndarray  # ∇log p_σ(x̃) at the noisy points


@dataclass
class Recovery:
    """How well Tweedie "puts points back": two different questions, two yardsticks."""

    noisy_to_own: float          # median ‖x̃ − x‖ (= σ·median‖z‖): how far noise moved each point
    denoised_to_own: float       # median ‖x̂ − x‖: how close x̂ is to ITS OWN clean point (recovered?)
    noisy_to_data: float         # median distance of x̃ to the nearest data point
    denoised_to_data: float      # median distance of x̂ to the nearest data point (on the data?)
    other_nearest: float         # share of x̂ whose nearest data point is a DIFFERENT one
    marginal_score: float        # median ‖∇log p_σ(x̃)‖ = ‖E[z | x̃]‖/σ: what a network learns
    conditional_score: float     # median ‖z‖/σ: the DSM regression target −z/σ, noise included


def recovery(result: Noising) -> Recovery:
    """Median distances of noisy and denoised points to their own clean points and to the data.

    x̂ = E[x | x̃] is the posterior mean: close to the data, but an average over every clean
    point that could have produced x̃, so usually not its own (moons, 1000 points, σ = 0.3:
    0.23 from its own point against 0.36 for x̃, and 99 % land nearest a different point).
    The score sizes tell the marginal score ∇log p_σ(x̃) = −E[z | x̃]/σ from the DSM target
    −z/σ: the target grows like 1/σ, the marginal score need not (ncsn-mixture, σ = 0.01:
    medians 1.19 and 119 — x̃ says almost nothing about z).
    """
    data = torch.from_numpy(result.data).double()
    noisy, denoised = torch.from_numpy(result.noisy).double(), torch.from_numpy(result.denoised).double()
    nearest_index = torch.cdist(denoised, data).argmin(1)
    return Recovery(
        noisy_to_own=float((noisy - data).norm(dim=1).median()),
        denoised_to_own=float((denoised - data).norm(dim=1).median()),
        noisy_to_data=float(np.nanmedian(nearest_distances(noisy, data))),
        denoised_to_data=float(np.nanmedian(nearest_distances(denoised, data))),
        other_nearest=float((nearest_index != torch.arange(len(data))).double().mean()),
        marginal_score=float(np.median(np.linalg.norm(result.score_at_noisy, axis=1))),
        conditional_score=float((noisy - data).norm(dim=1).median()) / result.sigma**2,
    )


def forward_noising(name: str, n: int, sigma: float, seed: int, lim: float, arrows: int = 21,
                    cells: int = 61) -> Noising:
    """Add N(0, σ²I) to n points of a dataset, denoise with the exact score, and map the score.

    The same z is used for every σ, so moving a σ slider moves each point smoothly.
    Exact: a Gaussian mixture's noisy score is known; any other shape is the shown points
    smoothed by N(0, σ²I) (the empirical score).
    """
    data = sample_dataset(name, n, seed=seed)
    z = torch.randn(n, 2, generator=torch.Generator().manual_seed(seed + 1))
    noisy = data + sigma * z
    reference = reference_score(DatasetSpec.builtin(name), data)
    arrow_points, heat_points = score_grid(lim, arrows), score_grid(lim, cells)
    with limited_threads():
        score_at_noisy = reference.score(noisy, sigma)
        denoised = tweedie(noisy, sigma, score_at_noisy)
        return Noising(data.numpy(), noisy.numpy(), denoised.numpy(), arrow_points.numpy(),
                       reference.score(arrow_points, sigma).numpy(), heat_points.numpy(),
                       reference.log_prob(heat_points, sigma).numpy(), float(sigma), score_at_noisy.numpy())


# ----------------------------------------------------------------------------- Langevin vs annealed

NCSN_TOY = dataset_mixture("ncsn-mixture")   # 0.2 N((−5,−5), I) + 0.8 N((5,5), I)
NCSN_TOY_START = (-8.0, 8.0)                  # the paper's particles start uniform on this square


@dataclass
class ToySampling:
    samples: np.ndarray   # (n, 2)
    paths: np.ndarray     # (frames, n_paths, 2) a few particles' trajectories
    shares: list[float]   # share of samples nearest each mode, (−5,−5) first
    heavy_std: float      # per-axis std of the samples nearest the heavy mode (5, 5); the truth is 1


def heavy_mode_std(samples: torch.Tensor) -> float:
    """Per-axis standard deviation (mean of x and y) of the samples nearest the heavy mode (5, 5)."""
    means = NCSN_TOY.means_tensor()
    heavy = samples[(samples - means[1]).norm(dim=1) < (samples - means[0]).norm(dim=1)]
    return float(heavy.std(0).mean()) if len(heavy) > 1 else float("nan")


def heavy_side_mass(sigma: float) -> float:
    """Exact mass of p_σ on the heavy mode's side of the divide x + y = 0 (the anti-diagonal).

    x + y is Gaussian under each component: mean μ_x + μ_y, variance 2(s² + σ²). At σ = 20 only
    0.58 of the mass is on the heavy side, at σ = 5 already 0.75, at σ = 2 0.80: the 80/20
    proportions form around σ ≈ 2–5, not at the top of a σ = 20 ladder.
    """
    total = 0.0
    for w, (mx, my), sd in zip(NCSN_TOY.weights, NCSN_TOY.means, NCSN_TOY.stds):
        total += w * 0.5 * math.erfc(-(mx + my) / math.sqrt(2 * 2 * (sd**2 + sigma**2)))
    return total


def ncsn_toy_sampling(sampler: str, *, n: int, seed: int, eps: float, steps: int, sigma_max: float = 20.0,
                      sigma_min: float = 1.0, levels: int = 10, final_denoise: bool = False, n_paths: int = 10,
                      path_sigma_max: float = 4.0) -> ToySampling:
    """The NCSN paper's toy (Song & Ermon 2019, Fig. 3) with the EXACT score.

    sampler "langevin": plain Langevin on p itself (σ = 0), `steps` steps; "annealed":
    `steps` per level down a geometric ladder. Paths: plain Langevin every 1% of the run;
    annealed only at each level's end with σ ≤ path_sigma_max (at large σ a particle
    jumps across the whole square and a path would be a scribble).
    """
    score_fn = mixture_score_fn(NCSN_TOY)
    start = uniform_start(n, *NCSN_TOY_START, seed=seed)
    if sampler == "langevin":
        result = sample_langevin(score_fn, 0.0, eps=eps, seed=seed, steps=steps, start=start,
                                 stride=max(1, steps // 100))
        frames = result.frames
    elif sampler == "annealed":
        result = sample_annealed_langevin(score_fn, geometric_sigmas(sigma_max, sigma_min, levels), seed=seed,
                                          eps=eps, steps_per_level=steps, final_denoise=final_denoise, start=start,
                                          stride=steps)
        frames = [f for f, s in zip(result.frames, result.frame_sigmas) if s <= path_sigma_max]
    else:
        raise ValueError(f"unknown sampler {sampler!r}: use 'langevin' or 'annealed'")
    paths = torch.stack([f[:n_paths] for f in frames]).numpy()
    return ToySampling(result.samples.numpy(), paths, mode_shares(result.samples, NCSN_TOY.means_tensor()),
                       heavy_mode_std(result.samples))


def ncsn_toy_run(steps: int, seed: int) -> TrainingRun:
    """An NCSN of the toy mixture with the paper's ladder (σ 20 → 1, L = 10)."""
    config = training_config(steps=steps, sigma_max=20.0, sigma_min=1.0, levels=10, seed=seed)
    return TrainingRun(training_data(DatasetSpec.builtin("ncsn-mixture"), 10_000, seed), config)


def ncsn_toy_network_samples(model: ScoreModel, *, n: int, seed: int) -> dict[str, tuple[np.ndarray, list[float]]]:
    """Both samplers of the toy with a trained network, from the same uniform start.

    No network has the σ = 0 score: plain Langevin uses its smallest level, σ_L.
    """
    start = uniform_start(n, *NCSN_TOY_START, seed=seed)
    plain = sample_langevin(model.score, model.sigma, eps=0.1, seed=seed, steps=1000, start=start)
    annealed = sample_annealed_langevin(model.score, model.sigmas, seed=seed, eps=0.1, steps_per_level=100,
                                        final_denoise=False, start=start)
    return {name: (r.samples.numpy(), mode_shares(r.samples, NCSN_TOY.means_tensor()))
            for name, r in (("langevin", plain), ("annealed", annealed))}


# ----------------------------------------------------------------------------- the model's own log-density

LOG_DENSITY_CELLS = 31   # 961 ODE paths: a few seconds on a laptop CPU
LOG_DENSITY_STEPS = 50   # Heun steps; exact score of 8-gaussians: ≤ 0.2 nats off where coloured (200 steps: 0.02)


def model_log_density(model: ScoreModel, domain: tuple[float, float], cells: int = LOG_DENSITY_CELLS,
                      steps: int = LOG_DENSITY_STEPS) -> dict:
    """The trained model's log p_σmin on a cells × cells grid, by the probability-flow ODE.

    The honest "likely place" map: the score's size is small at the modes AND at the saddles
    between them, while this log-density is high only where the model puts its mass (the
    distribution its probability-flow ODE sampler draws from). Returns the heatmap's axis
    and values (row i is y = axis[i]).
    """
    points, axis = grid_points(domain, cells)
    with limited_threads():
        log_p = ode_log_likelihood(model.score, points, sigma_min=float(model.sigmas[-1]),
                                   sigma_max=float(model.sigmas[0]), prior=model_prior(model), steps=steps)
    return {"axis": axis, "log_p": log_p.reshape(cells, cells).cpu().numpy()}


# ----------------------------------------------------------------------------- memorization

def memorization_run(name: str, n_train: int, steps: int, seed: int) -> TrainingRun:
    """A default NCSN on a small training set of `name`."""
    return TrainingRun(training_data(DatasetSpec.builtin(name), n_train, seed), training_config(steps=steps, seed=seed))


def memorization_network_result(run: TrainingRun, *, n_samples: int, seed: int) -> dict:
    """What the Memorization page shows of its trained network: samples, steps and training seconds."""
    return {"samples": network_samples(run.model(), n_samples, seed), "steps": run.steps_done,
            "seconds": run.trainer.state.seconds}


def ncsn_toy_run_samples(run: TrainingRun, *, n: int, seed: int) -> dict[str, tuple[np.ndarray, list[float]]]:
    """`ncsn_toy_network_samples` of a trained run (a job's sampling step)."""
    return ncsn_toy_network_samples(run.model(), n=n, seed=seed)


def training_points(name: str, n_train: int, seed: int) -> np.ndarray:
    return training_data(DatasetSpec.builtin(name), n_train, seed).points.numpy()


def empirical_optimal_samples(name: str, n_train: int, n_samples: int, seed: int) -> np.ndarray:
    """Annealed Langevin + final Tweedie step with the exact score of the smoothed training set,
    on the same default ladder the network trains on."""
    data = training_data(DatasetSpec.builtin(name), n_train, seed)
    result = sample_annealed_langevin(empirical_score_fn(data.points), default_sigmas(data.points), n=n_samples,
                                      seed=seed, final_denoise=True, center=data.center)
    return result.samples.numpy()


def network_samples(model: ScoreModel, n: int, seed: int) -> np.ndarray:
    """The same sampler with a trained NCSN."""
    return sample_annealed_langevin(model.score, model.sigmas, n=n, seed=seed, final_denoise=True,
                                    center=model.center).samples.numpy()
