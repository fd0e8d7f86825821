"""A training run: the front door every page and the CLI use to train and sample a 2-D score model.

    data = training_data(DatasetSpec.builtin("moons"))
    run = TrainingRun(data, training_config(steps=2000))
    job = pool.submit(run.training_task(training_job))        # in a job worker process
    samples = draw_samples(run.model(), "annealed")

* `TrainingRun` is the lab's run (models/lab/run.py: data, config, Trainer, job,
  `target_steps`) with a score model and its loss floors.
* `training_job(job, run)` is the lab's worker, with the Bayes-optimal loss floors
  computed beside the training (they come back with the run, and stream as progress meanwhile).
* `preview_samples` / `draw_samples` pick the sampler settings for a model kind;
  `evaluation_data`, `run_reference_score` and `error_message` serve the analysis.

No streamlit here: the app keeps only session glue (which run belongs to which tab).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np
import torch

from models.core.errors import InputError
from models.core.jobs import Job, Task, WorkerDied
from models.lab import run as lab_run
from models.lab.datasets import DatasetSpec, TrainingData, load_dataset, training_data
from models.lab.run import Run, grid_points, log_every_for
from models.lab.sampler_result import SamplerResult
from models.lab.training import Progress, Trainer, TrainingDiverged

from . import checkpoints
from .checkpoints import ScoreModel
from .floors import LossFloors, objective_offset
from .reference import ReferenceScore, reference_score
from .prior import Prior, gaussian_prior
from .sampling import (ANNEALED_LEVELS, ANNEALED_STEPS_PER_LEVEL, DEFAULT_SAMPLER, DENOISING_LEVELS, ODE_SOLVER, ODE_STEPS,
                       PC_LEVELS,
                       default_eps, sample_annealed_langevin, sample_denoising, sample_langevin, sample_ode,
                       sample_predictor_corrector)
from .trainer import TrainConfig, score_trainer

N_TRAIN = 10_000          # training points drawn from a built-in shape or a word
PREVIEW_POINTS = 400      # live scatter while training: cheap, still shows the shape
PREVIEW_STEPS_PER_LEVEL = 8
MAX_STEPS_PER_JOB = 20_000  # the app's cap: about a minute or two on a laptop CPU, then the next in line
SINGLE_SIGMA_LANGEVIN_STEPS = 500  # plain Langevin for the one-σ denoising network
SAMPLERS = ("annealed", "denoise", "pc", "ode")  # for an NCSN; a single-σ model has only "langevin"


# ----------------------------------------------------------------------------- settings

def training_config(*, model: str = "ncsn", objective: str = "dsm", sigma: float | None = None,
                    sigma_max: float | None = None, sigma_min: float | None = None, levels: int | None = None,
                    steps: int | None = None, batch_size: int | None = None, lr: float | None = None,
                    hidden: int | None = None, device: str = "cpu", seed: int = 0) -> TrainConfig:
    """A checked TrainConfig; None keeps the engine's default (σ's: from the data, in data coordinates)."""
    base = TrainConfig()
    config = TrainConfig(
        model=model, objective=objective, sigma=sigma, sigma_max=sigma_max, sigma_min=sigma_min,
        levels=base.levels if levels is None else int(levels),
        steps=base.steps if steps is None else int(steps),
        batch_size=base.batch_size if batch_size is None else int(batch_size),
        lr=base.lr if lr is None else float(lr), hidden=base.hidden if hidden is None else int(hidden),
        device=device, seed=int(seed))
    config.log_every = log_every_for(config.steps)
    config.validate()
    if sigma_max is not None and sigma_min is not None and sigma_min >= sigma_max:
        raise InputError(f"σ_min ({sigma_min:g}) must be smaller than σ_max ({sigma_max:g})")
    return config


def new_trainer(data: TrainingData, config: TrainConfig) -> Trainer:
    """A Trainer on the standardized points; σ's given in data coordinates are divided by the spread."""
    sigmas = {name: getattr(config, name) for name in ("sigma", "sigma_max", "sigma_min")}
    return score_trainer(replace(config, **{k: v / data.spread for k, v in sigmas.items() if v is not None}),
                         data.normalized)


def trained_model(trainer: Trainer, data: TrainingData) -> ScoreModel:
    """The trainer's network (EMA weights) as a score function in the data's own coordinates."""
    return ScoreModel.from_trainer(trainer, data.center, data.spread, data.spec.to_dict())


def train(data: TrainingData, config: TrainConfig, callback: Callable[[Progress], None] | None = None,
          stop_event: threading.Event | None = None) -> tuple[ScoreModel, Trainer]:
    """Train in this thread (the CLI, benchmarks); the app uses `training_job` instead."""
    trainer = new_trainer(data, config)
    trainer.run(callback, stop_event)
    return trained_model(trainer, data), trainer


# ----------------------------------------------------------------------------- a run

@dataclass
class TrainingRun(Run):
    """One score model of one session (σ's of `config` in DATA coordinates, as the user gave them)."""

    loss_floors: LossFloors | None = None  # per-level floors, DSM convention (see objective_offset)
    # samples the worker drew when training ended, by (steps, sampler, Langevin steps per level): the results
    # the page shows first come with the weights instead of being sampled in the app's process
    drawn: dict = field(default_factory=dict)

    WORKER_FIELDS = ("loss_floors", "drawn")

    def for_worker(self) -> "TrainingRun":
        copy = super().for_worker()
        copy.drawn = {}
        return copy

    def new_trainer(self) -> Trainer:
        return new_trainer(self.data, self.config)

    def model(self) -> ScoreModel | None:
        """The score function in data coordinates (EMA weights), or None before training starts."""
        if self.loaded is not None:
            return self.loaded
        if self.trainer is None or self.data is None:
            return None
        return trained_model(self.trainer, self.data)

    def preview_samples(self, seed: int) -> np.ndarray:
        return preview_samples(self.model(), seed=seed)

    def model_only(self) -> "TrainingRun":
        """A copy holding only the trained model (and the data and config): what a sampling job needs."""
        return TrainingRun(data=self.data, config=self.config, target_steps=self.target_steps, loaded=self.model(),
                           id=self.id)

    def floors_beside_training(self, job: Job) -> Callable[[], None] | None:
        """Start the loss floors' computation beside the training (see `training_job`); returns the wait for it."""
        trainer = self.trainer
        if self.loss_floors is None:
            c = trainer.config
            self.loss_floors = LossFloors(trainer.data_cpu, trainer.objective.sigmas,
                                          jitter=c.model == "ncsn" and c.sigma_jitter, seed=c.seed)
        if self.loss_floors.done:
            job.report(floors=list(self.loss_floors.values))
            return None
        thread = _floors_in_background(self.loss_floors, job)

        def finish() -> None:
            if thread.is_alive() and not job.should_stop():
                job.report(phase="computing the Bayes-optimal floor")
            thread.join()
        return finish

    @property
    def kind(self) -> str:
        return (self.loaded.config if self.loaded is not None else self.config).model

    @property
    def objective(self) -> str:
        return (self.loaded.config if self.loaded is not None else self.config).objective

    @property
    def level_floors(self) -> list[float | None] | None:
        """Per-level loss floors in the run's own objective (None for a level not computed yet; while a
        worker computes them, as far as its progress says)."""
        values = self.loss_floors.values if self.loss_floors is not None else None
        if values is None or (not self.loss_floors.done and self.running):
            live = lab_run.progress_of(self.job).floors if self.job is not None else None
            values = live if live is not None else values
        if values is None:
            return None
        offset = objective_offset(self.objective)
        return [None if f is None else f + offset for f in values]

    def loss_floor(self) -> float | None:
        """Floor of the reported (level-averaged) loss, once every level is computed."""
        floors = self.level_floors
        if not floors or any(f is None for f in floors):
            return None
        return float(np.mean(floors))

    def describe(self) -> str:
        c = self.loaded.config if self.loaded is not None else self.config
        what = "NCSN" if c.model == "ncsn" else "denoising score network"
        data = self.data.spec.describe() if self.data is not None else self.loaded.dataset_label()
        return f"{what} · {c.objective} · {data} · {self.steps_done:,} steps"


def loaded_run(model: ScoreModel, history: list[dict]) -> TrainingRun:
    """A run for a model loaded from a zip; its floors are computed here (a second or two)."""
    data = data_for_loaded(model)
    run = TrainingRun(data=data, config=model.config, target_steps=max(model.steps_trained, 1), loaded=model,
                      loaded_history=history)
    if data is not None:
        c = model.config
        run.loss_floors = LossFloors(data.normalized, model.sigmas / model.spread,
                                     jitter=c.model == "ncsn" and c.sigma_jitter, seed=c.seed)
        run.loss_floors.compute()
    return run


def data_for_loaded(model: ScoreModel) -> TrainingData | None:
    """Rebuild a loaded model's training data from its config when possible (a CSV may be gone)."""
    if not model.dataset:
        return None
    try:
        return training_data(DatasetSpec.from_dict(model.dataset), N_TRAIN, model.config.seed)
    except (InputError, OSError):
        return None


def run_zip_bytes(run: TrainingRun) -> bytes:
    """The run as one zip (see `checkpoints.run_zip_bytes`)."""
    model = run.model()
    if model is None:
        raise InputError("nothing to save yet: train a model first")
    return checkpoints.run_zip_bytes(model, run.history)


# ----------------------------------------------------------------------------- the worker

def _floors_in_background(floors: LossFloors, job: Job) -> threading.Thread:
    """Compute the floors level by level beside the training loop.

    The work is a few large softmax/matmul ops per level (torch releases the GIL in them),
    so on a 2-core laptop it runs on the second core and barely slows the training thread.
    """
    def work() -> None:
        try:  # Linux: a nicer thread yields the CPU to the training loop and the web server
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        except (AttributeError, OSError):
            pass
        while not floors.done and not job.should_stop():
            floors.step()
            job.report(floors=list(floors.values))

    thread = threading.Thread(target=work, name=f"loss-floors-{job.id}", daemon=True)
    thread.start()
    return thread


RESULT_SAMPLES = 2000  # the samples the Score lab's results draw (app/score_lab/results.py N_SAMPLES)


def training_job(job: Job, run: TrainingRun, *, previews: bool = True, loss_floors: bool = True,
                 results: tuple[str, int] | None = None) -> TrainingRun:
    """The lab's worker (models/lab/run.py) for a score run; with `loss_floors` the Bayes-optimal floors
    are computed beside training, on the second core. With `results` (sampler, Langevin steps per level)
    the samples the page's results show first are drawn here too, once training ends (`run.drawn`)."""
    lab_run.training_job(job, run, previews=previews, beside=run.floors_beside_training if loss_floors else None)
    if results is not None and run.trainer is not None and run.steps_done > 0 and not job.should_stop():
        model = run.model()
        sampler, steps_per_level = results if model.config.model == "ncsn" else ("langevin", 0)
        job.report(phase="drawing samples for the results")
        run.drawn = {(run.steps_done, sampler, steps_per_level): draw_samples(
            model, sampler, n=RESULT_SAMPLES, seed=model.config.seed, steps_per_level=steps_per_level or 20)}
    return run


def train_then_sample(job: Job, run: TrainingRun, sample: Callable[..., Any], **kwargs: Any) -> Any:
    """`training_job` without previews or floors, then `sample(run, **kwargs)` as the job's result (None
    if stopped). In a worker process: `sample` is a module-level function (see `train_then_sample_task`)."""
    training_job(job, run, previews=False, loss_floors=False)
    if job.should_stop():
        return None
    job.report(phase="sampling")
    return sample(run, **kwargs)


def train_then_sample_task(run: TrainingRun, sample: Callable[..., Any], **kwargs: Any) -> Task:
    """The job a page submits to train `run` and return `sample(run, **kwargs)` (a page's own network:
    the run stays in the worker, only the samples come back)."""
    return Task(train_then_sample, (run.for_worker(), sample), kwargs)


_warmed = threading.Event()


def warm_up() -> None:
    """Import what the first Adam optimizer pulls in (torch._dynamo: seconds, once per process)
    in a background thread while the page is being read, so the first Train starts at once (a job
    worker process does it when it starts: WORKER_PRELOAD)."""
    if _warmed.is_set():
        return
    _warmed.set()

    def work() -> None:
        torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])

    threading.Thread(target=work, name="score-warm-up", daemon=True).start()


# ----------------------------------------------------------------------------- sampling a model

def _device(model: ScoreModel) -> str:
    return str(next(model.network.parameters()).device)


def preview_samples(model: ScoreModel, n: int = PREVIEW_POINTS, seed: int = 0) -> np.ndarray:
    """A few hundred samples with cheap sampler settings, for the live scatter."""
    if model.config.model == "ncsn":
        result = sample_annealed_langevin(model.score, model.sigmas, n=n, seed=seed,
                                          steps_per_level=PREVIEW_STEPS_PER_LEVEL, center=model.center,
                                          device=_device(model))
    else:
        result = sample_langevin(model.score, model.sigma, eps=default_eps(model.sigma), n=n, seed=seed,
                                 steps=SINGLE_SIGMA_LANGEVIN_STEPS // 4, final_denoise=True, center=model.center,
                                 spread=model.spread, device=_device(model))
    return result.samples.numpy()


def model_prior(model: ScoreModel) -> Prior:
    """Where an NCSN's samplers start: N(center, (σ_1² + spread²) I), the moment-matched
    Gaussian at its top level (see prior.py; a model stores only its data's centre and spread)."""
    return gaussian_prior(model.center, model.spread, float(model.sigmas[0]))


def draw_samples(model: ScoreModel, sampler: str = DEFAULT_SAMPLER, n: int = 2000, seed: int = 0,
                 steps_per_level: int = ANNEALED_STEPS_PER_LEVEL, frames: int = 50, steps: int | None = None,
                 solver: str = ODE_SOLVER) -> SamplerResult:
    """Samples plus ~`frames` snapshots along the way (for a σ slider and the GIF).

    An NCSN uses `sampler`: "annealed" (ANNEALED_LEVELS levels between its ladder's ends,
    `steps_per_level` each), "denoise" (ancestral), "pc" (predictor–corrector) or "ode"
    (probability flow, `steps` steps with `solver`), all from `model_prior(model)`. A
    single-σ model has no ladder to anneal: "langevin", plain Langevin at its σ from the
    data's spread, then one Tweedie step.
    """
    if model.config.model != "ncsn":
        if sampler != "langevin":
            raise InputError(f"sampler {sampler!r}: a single-σ model has no noise ladder: use 'langevin'")
        steps = SINGLE_SIGMA_LANGEVIN_STEPS
        return sample_langevin(model.score, model.sigma, eps=default_eps(model.sigma), n=n, seed=seed, steps=steps,
                               final_denoise=True, center=model.center, spread=model.spread,
                               device=_device(model), stride=max(1, steps // frames))
    common = dict(n=n, seed=seed, prior=model_prior(model), device=_device(model))
    if sampler == "denoise":
        return sample_denoising(model.score, model.sigmas, **common, stride=max(1, DENOISING_LEVELS // frames))
    if sampler == "pc":
        return sample_predictor_corrector(model.score, model.sigmas, **common, stride=max(1, PC_LEVELS // frames))
    if sampler == "ode":
        steps = steps or ODE_STEPS
        return sample_ode(model.score, model.sigmas, **common, steps=steps, solver=solver,
                          stride=max(1, steps // frames))
    if sampler != "annealed":
        raise InputError(f"unknown sampler {sampler!r}: use one of {', '.join(SAMPLERS)}")
    total = steps_per_level * ANNEALED_LEVELS
    return sample_annealed_langevin(model.score, model.sigmas, **common, steps_per_level=steps_per_level,
                                    levels=ANNEALED_LEVELS, stride=max(1, total // frames))


# ----------------------------------------------------------------------------- analysis

def data_range(data: TrainingData | None, model: ScoreModel | None = None) -> tuple[float, float]:
    """[low, high] covering the data (a plot domain when no training points are at hand)."""
    if data is not None:
        lo, hi = float(data.points.min()), float(data.points.max())
    elif model is not None:
        c, s = float(model.center.mean()), 3 * model.spread
        lo, hi = c - s, c + s
    else:
        lo, hi = -3.0, 3.0
    pad = 0.1 * (hi - lo)
    return lo - pad, hi + pad


def evaluation_data(run: TrainingRun, n: int = 2000, seed: int = 12_345) -> torch.Tensor | None:
    """Fresh points of the same data (a different seed) to compare samples against."""
    if run.data is None:
        return None
    return evaluation_sampler(run)(n, seed)


def evaluation_sampler(run: TrainingRun) -> Callable[[int, int], torch.Tensor]:
    """sample_fn(n, seed) → fresh points; a CSV has only its own points, so a random subset of them."""
    spec = run.data.spec
    if spec.kind == "csv":
        points = run.data.points

        def subset(n: int, seed: int) -> torch.Tensor:
            g = torch.Generator().manual_seed(seed)
            return points[torch.randperm(len(points), generator=g)[:n]]
        return subset
    return lambda n, seed: load_dataset(spec, n, seed)


def run_reference_score(run: TrainingRun) -> ReferenceScore | None:
    """The exact score of the run's data (see `reference.reference_score`), or None without data."""
    if run.data is None:
        return None
    return reference_score(run.data.spec, run.data.points)


@torch.no_grad()
def score_on_grid(score_fn, sigma: float, points: torch.Tensor) -> torch.Tensor:
    return score_fn(points, float(sigma)).float().cpu()


# ----------------------------------------------------------------------------- errors

def classify_error(exc: BaseException | None) -> str:
    """What kind of failure a job had: "diverged", "worker" (its process died or passed its memory
    ceiling), "device", "input" or "other" (drives the help shown)."""
    if isinstance(exc, TrainingDiverged):
        return "diverged"
    if isinstance(exc, WorkerDied):
        return "worker"
    if isinstance(exc, InputError):
        return "device" if ("CUDA" in str(exc) or "MPS" in str(exc)) else "input"
    oom = getattr(torch.cuda, "OutOfMemoryError", ())
    if (oom and isinstance(exc, oom)) or any(w in str(exc) for w in ("CUDA", "cuda", "MPS", "out of memory")):
        return "device"
    return "other"


def error_message(job: Job) -> str:
    """One line for a failed job, in words a student can act on."""
    kind = classify_error(job.exception)
    if kind == "diverged":
        return f"Training diverged: {job.error}"
    if kind == "worker":
        return f"Training did not finish: {job.error}"
    if kind == "device":
        gpu = "Apple GPU" if "mps" in (job.error or "").lower() else "GPU"
        return f"The {gpu} could not train this model: {job.error}"
    if kind == "input":
        return job.error or "invalid settings"
    return f"Training failed ({type(job.exception).__name__}): {job.error}"


def score_field(model: ScoreModel, reference: ReferenceScore | None, sigma: float, domain: tuple[float, float],
                arrows: int = 21, cells: int = 40) -> dict:
    """What the score-field view draws at one σ: arrows on a coarse grid, and on a fine grid the
    size σ‖s‖ and (with a reference) the error σ‖s − s_ref‖, both dimensionless."""
    arrow_points, _ = grid_points(domain, arrows)
    points, axis = grid_points(domain, cells)
    s = score_on_grid(model.score, sigma, points)
    error = None
    if reference is not None:
        s_ref = score_on_grid(reference.score, sigma, points)
        error = (sigma * (s - s_ref).norm(dim=1)).reshape(cells, cells).numpy()
    return {"arrow_points": arrow_points.numpy(), "arrows": score_on_grid(model.score, sigma, arrow_points).numpy(),
            "axis": axis, "norm": (sigma * s.norm(dim=1)).reshape(cells, cells).numpy(), "error": error,
            "reference_kind": reference.kind if reference is not None else None}
