"""Score lab plumbing: one training run per browser session, trained in the shared job pool.

Streamlit reruns the page script on every click, so nothing long runs inside it:

* `LabRun` (kept in `st.session_state`) holds the data, the config, the `Trainer`,
  the loss floors and the job handle. It is never put in `st.cache_*`: it belongs
  to one session and is freed on Reset.
* `training_job(job, run, target)` is the worker. It runs in a pool thread, never
  calls `st.*`, and talks to the page only through `job.report(...)`: history rows,
  the floors, and a small batch of samples every second or so for the live scatter.
* `start_training`, `stop_training`, `resume_training`, `reset` are the buttons'
  callbacks (they run before the page script, so the page draws the new state).

Everything here except the session helpers at the bottom is plain Python + torch,
so the worker and the analysis helpers are tested and benchmarked headless.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from models.jobs import Job
from models.score import lab
from models.score import checkpoints
from models.score.checkpoints import ScoreModel
from models.score.datasets import DatasetSpec, dataset_mixture, load_dataset
from models.score.errors import InputError
from models.score.floors import LossFloors, objective_offset
from models.score.trainer import TrainConfig, Trainer, TrainingDiverged

N_TRAIN = 10_000          # training points drawn from a built-in shape or a word
PREVIEW_POINTS = 400      # live scatter while training: cheap, still shows the shape
PREVIEW_STEPS_PER_LEVEL = 8
PREVIEW_BUDGET = 0.05     # previews aim to take at most this share of the training time...
PREVIEW_MIN_GAP_S = 1.5
PREVIEW_MAX_GAP_S = 4.0   # ...but the live scatter must keep moving on a slow or busy machine
DSM_LANGEVIN_STEPS = 500  # plain Langevin for the one-σ denoising network

_run_ids = itertools.count(1)


# ----------------------------------------------------------------------------- settings

def make_config(*, model: str = "ncsn", objective: str = "dsm", sigma: float | None = None,
                sigma_max: float | None = None, sigma_min: float | None = None, levels: int | None = None,
                steps: int | None = None, batch_size: int | None = None, lr: float | None = None,
                device: str = "cpu", seed: int = 0) -> TrainConfig:
    """A TrainConfig from the page's widgets; None keeps the engine's default (σ's: from the data)."""
    base = TrainConfig()
    config = TrainConfig(
        model=model, objective=objective, sigma=sigma, sigma_max=sigma_max, sigma_min=sigma_min,
        levels=base.levels if levels is None else int(levels),
        steps=base.steps if steps is None else int(steps),
        batch_size=base.batch_size if batch_size is None else int(batch_size),
        lr=base.lr if lr is None else float(lr), device=device, seed=int(seed))
    config.log_every = log_every_for(config.steps)
    config.validate()
    if model == "ncsn" and sigma_max is not None and sigma_min is not None and sigma_min >= sigma_max:
        raise InputError(f"σ_min ({sigma_min:g}) must be smaller than σ_max ({sigma_max:g})")
    return config


def log_every_for(steps: int) -> int:
    """About 150 loss points per run: a smooth live chart without per-step overhead."""
    return max(10, min(50, int(steps) // 150))


def load_training_data(spec: DatasetSpec, seed: int = 0) -> lab.TrainingData:
    return lab.training_data(spec, N_TRAIN, seed)


def save_upload(name: str, content: bytes) -> Path:
    """Keep an uploaded CSV on disk (DatasetSpec.csv needs a path); one folder per content hash."""
    digest = hashlib.sha1(content).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / "diffusion-classroom-uploads" / digest
    folder.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in Path(name).name) or "points.csv"
    path = folder / safe
    if not path.exists():  # write beside it, then rename: a reader never sees half a file
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{safe}.", suffix=".tmp")
        with open(fd, "wb") as f:
            f.write(content)
        Path(tmp).replace(path)
    return path


# loss floors live in models/score/floors.py


# ----------------------------------------------------------------------------- a run

@dataclass
class LabRun:
    """One model of this session: trained here (has a Trainer) or loaded from a zip."""

    data: lab.TrainingData | None
    config: TrainConfig                    # σ's in DATA coordinates, as the user gave them
    target_steps: int
    trainer: Trainer | None = None
    loaded: ScoreModel | None = None
    loaded_history: list[dict] = field(default_factory=list)
    floor_calc: LossFloors | None = None   # per-level floors, DSM convention (see objective_offset)
    job: Job | None = None
    id: int = field(default_factory=lambda: next(_run_ids))

    @property
    def running(self) -> bool:
        return self.job is not None and not self.job.is_finished

    @property
    def steps_done(self) -> int:
        if self.trainer is not None:
            return self.trainer.state.step
        return self.loaded.steps_trained if self.loaded is not None else 0

    @property
    def history(self) -> list[dict]:
        if self.trainer is not None:
            return list(self.trainer.state.history)
        return list(self.loaded_history)

    def model(self) -> ScoreModel | None:
        """The score function in data coordinates (EMA weights), or None before training starts."""
        if self.loaded is not None:
            return self.loaded
        if self.trainer is None or self.data is None:
            return None
        return lab.trained_model(self.trainer, self.data)

    @property
    def kind(self) -> str:
        return (self.loaded.config if self.loaded is not None else self.config).model

    @property
    def objective(self) -> str:
        return (self.loaded.config if self.loaded is not None else self.config).objective

    @property
    def floors(self) -> list[float | None] | None:
        """Per-level floors computed so far (None for a level not done yet)."""
        return list(self.floor_calc.values) if self.floor_calc is not None else None

    def floor_total(self) -> float | None:
        """Floor of the reported (level-averaged) loss in the run's own objective, once all levels are done."""
        floors = self.floors
        if not floors or any(f is None for f in floors):
            return None
        return float(np.mean(floors)) + objective_offset(self.objective)

    def floors_for_objective(self) -> list[float | None] | None:
        floors = self.floors
        if floors is None:
            return None
        return [None if f is None else f + objective_offset(self.objective) for f in floors]

    def describe(self) -> str:
        c = self.loaded.config if self.loaded is not None else self.config
        what = "NCSN" if c.model == "ncsn" else "denoising score network"
        data = self.data.spec.describe() if self.data is not None else "unknown data"
        return f"{what} · {c.objective} · {data} · {self.steps_done:,} steps"


# ----------------------------------------------------------------------------- the worker

def _data_cloud(model: ScoreModel, data: lab.TrainingData | None) -> tuple[torch.Tensor, float]:
    """Centre and spread of the data: where a single-σ model's Langevin chains start."""
    if data is not None:
        return data.raw.mean(0), float(data.raw.std(0).mean())
    return model.shift, model.scale


def preview_samples(model: ScoreModel, data: lab.TrainingData | None, n: int = PREVIEW_POINTS,
                    seed: int = 0) -> np.ndarray:
    """A few hundred samples with cheap sampler settings, for the live scatter."""
    device = str(next(model.network.parameters()).device)
    if model.config.model == "ncsn":
        result = lab.sample(model.score, model.sigmas, n=n, seed=seed, steps_per_level=PREVIEW_STEPS_PER_LEVEL,
                            center=model.shift, device=device)
    else:
        center, spread = _data_cloud(model, data)
        result = lab.sample(model.score, model.sigmas, n=n, seed=seed, langevin_steps=DSM_LANGEVIN_STEPS // 4,
                            center=center, start_scale=spread, device=device)
    return result.samples.numpy()


def data_range(data: lab.TrainingData | None, model: ScoreModel | None = None) -> tuple[float, float]:
    """[low, high] covering the data (a plot domain when no training points are at hand)."""
    if data is not None:
        pts = data.raw
        lo, hi = float(pts.min()), float(pts.max())
    elif model is not None:
        c, s = float(model.shift.mean()), 3 * model.scale
        lo, hi = c - s, c + s
    else:
        lo, hi = -3.0, 3.0
    pad = 0.1 * (hi - lo)
    return lo - pad, hi + pad


def floors_for(trainer: Trainer) -> LossFloors:
    """The floor calculator matching a trainer's data, ladder and σ jitter (normalized coordinates)."""
    c = trainer.config
    return LossFloors(trainer.data_cpu, trainer.sigmas, jitter=c.model == "ncsn" and c.sigma_jitter, seed=c.seed)


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

    thread = threading.Thread(target=work, name=f"score-lab-floors-{job.id}", daemon=True)
    thread.start()
    return thread


def training_job(job: Job, run: LabRun, target: int) -> LabRun:
    """The worker: build (or reuse) the Trainer and train it to `target` steps.

    Runs in a pool thread: no `st.*` here. Progress goes out through `job.report`.
    Training starts at once; the floors are computed beside it (see _floors_in_background),
    and a few hundred samples are drawn now and then for the live scatter (PREVIEW_BUDGET).
    """
    if run.trainer is None:
        job.report(phase="building the network")
        run.trainer = lab.new_trainer(run.data, run.config)
    trainer = run.trainer
    if run.floor_calc is None:
        run.floor_calc = floors_for(trainer)
    floors_thread = _floors_in_background(run.floor_calc, job) if not run.floor_calc.done else None
    job.report(phase="training", total=target, step=trainer.state.step)
    model = lab.trained_model(trainer, run.data)
    next_preview = 0.0  # the first preview as soon as the first window is logged
    cheapest = math.inf  # the first preview pays warm-up costs: budget by the cheapest one seen

    def on_progress(p) -> None:
        nonlocal next_preview, cheapest
        fields = dict(step=p.step, total=p.total_steps, loss=p.loss, steps_per_second=p.steps_per_second,
                      history=list(trainer.state.history))
        now = time.perf_counter()
        if now >= next_preview or p.step == p.total_steps:
            fields["preview"] = preview_samples(model, run.data, seed=trainer.config.seed)
            fields["preview_step"] = p.step
            cheapest = min(cheapest, time.perf_counter() - now)
            gap = min(max(PREVIEW_MIN_GAP_S, cheapest / PREVIEW_BUDGET), PREVIEW_MAX_GAP_S)
            next_preview = time.perf_counter() + gap
        job.report(**fields)

    try:
        trainer.run(on_progress, job.stop_event, steps=target)
    finally:
        job.report(step=trainer.state.step, history=list(trainer.state.history))
        if floors_thread is not None:
            if floors_thread.is_alive() and not job.should_stop():
                job.report(phase="computing the Bayes-optimal floor")
            floors_thread.join()
    return run


_warmed = threading.Event()


def warm_up() -> None:
    """Import what the first Adam optimizer pulls in (torch._dynamo: seconds, once per process)
    in a background thread while the page is being read, so the first Train starts at once."""
    if _warmed.is_set():
        return
    _warmed.set()

    def work() -> None:
        torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])

    threading.Thread(target=work, name="score-lab-warm-up", daemon=True).start()


# ----------------------------------------------------------------------------- errors

def classify_error(job: Job) -> str:
    """What kind of failure a finished job had: drives which help the page shows."""
    exc = job.exception
    if isinstance(exc, TrainingDiverged):
        return "diverged"
    if isinstance(exc, InputError) and ("CUDA" in str(exc) or "MPS" in str(exc)):
        return "device"
    if isinstance(exc, InputError):
        return "input"
    oom = getattr(torch.cuda, "OutOfMemoryError", ())
    if (oom and isinstance(exc, oom)) or any(w in str(exc) for w in ("CUDA", "cuda", "MPS", "out of memory")):
        return "device"
    return "other"


def error_message(job: Job) -> str:
    kind = classify_error(job)
    if kind == "diverged":
        return f"Training diverged: {job.error}"
    if kind == "device":
        return (f"The {'GPU' if 'mps' not in (job.error or '').lower() else 'Apple GPU'} could not train this "
                f"model: {job.error}")
    if kind == "input":
        return job.error or "invalid settings"
    return f"Training failed ({type(job.exception).__name__}): {job.error}"


# ----------------------------------------------------------------------------- analysis

def evaluation_data(run: LabRun, n: int = 2000, seed: int = 12_345) -> torch.Tensor | None:
    """Fresh points of the same data (a different seed) to compare samples against."""
    if run.data is None:
        return None
    spec = run.data.spec
    if spec.kind == "csv":  # a file has only its own points: a random subset
        g = torch.Generator().manual_seed(seed)
        pts = run.data.raw
        return pts[torch.randperm(len(pts), generator=g)[:n]]
    return load_dataset(spec, n, seed)


def evaluation_sampler(run: LabRun):
    """sample_fn(n, seed) for `metrics.energy_distance_floor` (data vs fresh data)."""
    spec = run.data.spec
    if spec.kind == "csv":
        pts = run.data.raw

        def subset(n: int, seed: int) -> torch.Tensor:
            g = torch.Generator().manual_seed(seed)
            return pts[torch.randint(len(pts), (n,), generator=g)]
        return subset
    return lambda n, seed: load_dataset(spec, n, seed)


def reference_score(run: LabRun):
    """('exact', fn) for the Gaussian mixtures, ('empirical', fn) of the training points otherwise."""
    if run.data is None:
        return None, None
    spec = run.data.spec
    if spec.kind == "builtin" and dataset_mixture(spec.name) is not None:
        return "exact", lab.reference_score("exact", run.data)
    return "empirical", lab.reference_score("empirical", run.data)


def draw_samples(model: ScoreModel, data: lab.TrainingData | None, sampler: str, n: int = 2000, seed: int = 0,
                 steps_per_level: int = 20, frames: int = 50):
    """Samples plus ~`frames` snapshots along the way (for the σ slider and the GIF)."""
    device = str(next(model.network.parameters()).device)
    if model.config.model == "dsm":
        # One σ, no ladder: plain Langevin at σ from the data's spread, then one Tweedie step.
        center, spread = _data_cloud(model, data)
        return lab.sample(model.score, model.sigmas, sampler="annealed", n=n, seed=seed,
                          langevin_steps=DSM_LANGEVIN_STEPS, center=center, start_scale=spread, device=device,
                          stride=max(1, DSM_LANGEVIN_STEPS // frames))
    if sampler == "denoise":
        levels = 100
        return lab.sample(model.score, model.sigmas, sampler="denoise", n=n, seed=seed, denoise_levels=levels,
                          center=model.shift, device=device, stride=max(1, levels // frames))
    total = steps_per_level * len(model.sigmas)
    return lab.sample(model.score, model.sigmas, sampler="annealed", n=n, seed=seed,
                      steps_per_level=steps_per_level, center=model.shift, device=device,
                      stride=max(1, total // frames))


def grid(domain: tuple[float, float], n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n×n points on domain² (x fastest) and the 1-D axis."""
    axis = torch.linspace(domain[0], domain[1], n)
    gy, gx = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([gx.flatten(), gy.flatten()], 1), axis


@torch.no_grad()
def score_on_grid(score_fn, sigma: float, points: torch.Tensor) -> torch.Tensor:
    return score_fn(points, float(sigma)).float().cpu()


# ----------------------------------------------------------------------------- save / load

def run_zip_bytes(run: LabRun) -> bytes:
    """The run as one zip (see `checkpoints.run_zip_bytes`)."""
    model = run.model()
    if model is None:
        raise InputError("nothing to save yet: train a model first")
    return checkpoints.run_zip_bytes(model, run.history)


def data_for_loaded(model: ScoreModel) -> lab.TrainingData | None:
    """Rebuild a loaded model's training data from its config when possible (a CSV may be gone)."""
    if not model.dataset:
        return None
    try:
        spec = DatasetSpec.from_dict(model.dataset)
        return lab.training_data(spec, N_TRAIN, model.config.seed)
    except (InputError, OSError):
        return None


# ----------------------------------------------------------------------------- session helpers

def _ss():
    import streamlit as st
    return st.session_state


RUN_KEY = "score_lab_run"


def current_run() -> LabRun | None:
    return _ss().get(RUN_KEY)


def submit(run: LabRun, target: int) -> Job:
    """Queue `run` for training up to `target` steps in the shared pool (owner: this session)."""
    from app.resources import job_pool, session_id

    run.target_steps = target
    run.job = job_pool().submit(lambda job: training_job(job, run, target), name="score-lab training",
                                owner=session_id())
    return run.job


def start_training(spec: DatasetSpec, config: TrainConfig) -> LabRun:
    """Train a fresh model (the old run, if any, is stopped and dropped)."""
    reset()
    data = load_training_data(spec, config.seed)
    run = LabRun(data=data, config=config, target_steps=config.steps)
    _ss()[RUN_KEY] = run
    submit(run, config.steps)
    return run


def stop_training() -> None:
    run = current_run()
    if run is not None and run.job is not None:
        run.job.cancel()


def resume_training(extra_steps: int | None = None) -> None:
    """Continue the same Trainer: to its target if it stopped early, else `extra_steps` more."""
    run = current_run()
    if run is None or run.trainer is None or run.running:
        return
    target = run.target_steps
    if run.trainer.state.step >= target:
        target = run.trainer.state.step + int(extra_steps or run.config.steps)
    submit(run, target)


def reset() -> None:
    """Stop and forget this session's run (frees the Trainer, its data and cached results)."""
    ss = _ss()
    run = ss.pop(RUN_KEY, None)
    if run is not None and run.job is not None:
        run.job.cancel()
        run.job.result = None
    for key in [k for k in ss.keys() if str(k).startswith("score_lab_cache")]:
        del ss[key]


def set_loaded(model: ScoreModel, history: list[dict]) -> LabRun:
    """Make a loaded model this session's run; its floors are computed here (a second or two)."""
    reset()
    data = data_for_loaded(model)
    run = LabRun(data=data, config=model.config, target_steps=model.steps_trained, loaded=model,
                 loaded_history=history)
    if data is not None:
        c = model.config
        run.floor_calc = LossFloors(data.normalized, model.sigmas / model.scale,
                                    jitter=c.model == "ncsn" and c.sigma_jitter, seed=c.seed)
        run.floor_calc.compute()
    _ss()[RUN_KEY] = run
    return run
