"""One text-to-image training run as the page holds it, and the worker that trains it in the job pool.

The worker never touches the UI: it reports a `Live` record (step, loss, history, and a grid of the ten
digit words drawn from the same noise every time) and, when training ends or is stopped, puts the
`Trained` result on the run. Everything the page draws comes back as numpy arrays (`lesson.py`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import numpy as np

from models.core.jobs import Job, Task

from .lesson import digit_grid
from .runs import load_run_zip, run_zip_bytes
from .train import Progress, TrainConfig, Trained, train

PREVIEW_EVERY = 100  # steps between two grids of the ten digit words (each costs ~10 ms)


@dataclass
class Live:
    """A training job's progress, as one typed record (`job.snapshot()`)."""
    step: int = 0
    steps: int = 0
    loss: float = float("nan")
    cpu_seconds: float = 0.0
    history: list[dict] = field(default_factory=list)
    grid: np.ndarray | None = None  # (10, 8, 8) in [0, 1]: "zero" … "nine", the same starting noise each time
    grid_step: int = 0


class TextToImageRun:
    """The settings, the job that trains them, and the trained model once there is one."""

    def __init__(self, config: TrainConfig | None = None, trained: Trained | None = None):
        self.id = secrets.token_hex(6)  # keys this run's cached pictures in a session
        self.config = config or (trained.config if trained is not None else TrainConfig())
        self.trained = trained
        self.job: Job | None = None
        self.loaded = trained is not None  # came from a zip, not trained in this session

    @property
    def running(self) -> bool:
        return self.job is not None and not self.job.is_finished

    @property
    def model(self):
        return self.trained.model if self.trained is not None else None

    @property
    def history(self) -> list[dict]:
        return self.trained.history if self.trained is not None else []

    @property
    def steps_done(self) -> int:
        return self.trained.steps_trained if self.trained is not None else 0

    @property
    def seen_ids(self) -> frozenset[int]:
        return frozenset(self.trained.seen_ids) if self.trained is not None else frozenset()

    def live(self) -> Live:
        snap = self.job.snapshot() if self.job is not None else None
        return snap if snap is not None else Live(steps=self.config.steps)

    def zip_bytes(self) -> bytes:
        return run_zip_bytes(self.trained)

    def training_task(self) -> Task:
        """The job that trains this run in a worker process; the trained model comes back onto the run."""
        return Task(train_config, (self.config,), apply=self._take)

    def _take(self, trained: Trained | None) -> Trained | None:
        if trained is not None:
            self.trained = trained
        return trained


def training_job(job: Job, run: TextToImageRun) -> Trained:
    """The worker in this process (tests): train `run.config` and put the result on the run."""
    run.trained = train_config(job, run.config)
    return run.trained


def train_config(job: Job, config: TrainConfig) -> Trained:
    """The worker: train `config`, report `Live` records, keep what was learned even when stopped."""
    live = Live(steps=config.steps)
    job.report(live)

    def progress(p: Progress) -> None:
        nonlocal live
        live = Live(p.step, p.steps, p.loss, p.cpu_seconds, p.history, live.grid, live.grid_step)
        job.report(live)

    def on_log(step: int, cpu: float, model) -> None:
        nonlocal live
        if step % PREVIEW_EVERY == 0 or step == config.steps:
            live = Live(live.step, live.steps, live.loss, live.cpu_seconds, live.history, digit_grid(model), step)
            job.report(live)
            model.train()

    return train(config, progress=progress, report_every=20, stop_event=job.stop_event, on_log=on_log)


def loaded_run(content: bytes, name: str) -> TextToImageRun:
    """A run from a saved zip (InputError when it is not one)."""
    return TextToImageRun(trained=load_run_zip(content, name))
