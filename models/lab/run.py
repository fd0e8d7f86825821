"""A training run of the 2-D lab, whatever its family: the base of the Score lab's `TrainingRun` and the
flow page's `FlowRun`, their one worker, and the live previews.

    run = TrainingRun(data, training_config(steps=2000))         # or FlowRun(data=..., config=...)
    job = pool.submit(run.training_task(training_job))            # in a job worker process

* `Run` holds one model of one session: its data, config, `Trainer` (or a model loaded from a
  zip), its job; `run.target_steps` is the one place that says where training stops. A family
  adds what it trains (`new_trainer`), how its model is read (`model`) and previewed
  (`preview_samples`), and its words (`describe`).
* `training_job(job, run)` is the worker. It runs in a job worker process (or a pool thread), never
  touches the UI, and talks to it only through `job.report`: a `TrainingProgress` record with the
  history rows and, every second or so, a small batch of samples for a live scatter.
* `run.training_task(work)` is what a page submits: a copy of the run without its job or Trainer, the
  Trainer's state beside it (Resume goes on from there), and `work` (a module-level worker such as
  `training_job`). The worker process rebuilds the Trainer, trains, and sends back a `RunOutcome`
  (the Trainer's state: weights as state dicts, Adam's moments, history; and the fields a family
  computes in its worker); `run.absorb` puts them on the page's run.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

import numpy as np
import torch

from models.core.jobs import Job, Task

from .datasets import TrainingData
from .training import Progress, Trainer

PREVIEW_BUDGET = 0.05     # previews aim to take at most this share of the training time...
PREVIEW_MIN_GAP_S = 1.0   # (the page redraws its charts once a second: more often is never seen)
PREVIEW_MAX_GAP_S = 2.0   # ...but the live scatter must keep up on a slow or busy machine

_run_ids = itertools.count(1)


@dataclass(frozen=True)
class TrainingProgress:
    """What a training job tells the page (None: not known yet)."""

    phase: str | None = None               # "building the network", "training", …
    step: int | None = None
    total: int | None = None
    loss: float | None = None              # the mean loss of the last log window
    steps_per_second: float | None = None
    history: list[dict] | None = None      # the trainer's history rows so far
    floors: list | None = None             # a score run's per-level loss floors as far as computed
    preview: np.ndarray | None = None      # a few hundred samples of the network as it is now
    preview_step: int | None = None        # the step the preview was drawn at


def progress_of(job: Job | None) -> TrainingProgress:
    """The job's last progress record (an empty one before its worker reports, or without a job)."""
    snap = job.snapshot() if job is not None else None
    return snap if snap is not None else TrainingProgress()


def log_every_for(steps: int) -> int:
    """About 150 loss points per run: a smooth live chart without per-step overhead."""
    return max(10, min(50, int(steps) // 150))


@dataclass
class Run:
    """One model of one session: trained here (has a Trainer) or loaded from a saved zip."""

    data: TrainingData | None
    config: Any                            # the family's config (σ's of a score run in DATA coordinates)
    target_steps: int = 0                  # training stops here (0: config.steps)
    trainer: Trainer | None = None
    loaded: Any = None                     # a model loaded from a zip
    loaded_history: list[dict] = field(default_factory=list)
    job: Job | None = None
    id: int = field(default_factory=lambda: next(_run_ids))

    def __post_init__(self) -> None:
        self.target_steps = self.target_steps or self.config.steps

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

    # --- what a family adds
    def new_trainer(self) -> Trainer:
        raise NotImplementedError

    def model(self):
        raise NotImplementedError

    def preview_samples(self, seed: int) -> np.ndarray:
        raise NotImplementedError

    def preview_clock(self) -> "PreviewClock":
        return PreviewClock()

    # --- in a worker process
    WORKER_FIELDS: ClassVar[tuple[str, ...]] = ()  # fields the family's worker computes and hands back

    def for_worker(self) -> "Run":
        """The copy a worker process gets: no job, no Trainer (its state travels beside it)."""
        return dataclasses.replace(self, job=None, trainer=None)

    def outcome(self) -> "RunOutcome":
        return RunOutcome(self.trainer.export_state() if self.trainer is not None else None,
                          {name: getattr(self, name) for name in self.WORKER_FIELDS})

    def absorb(self, outcome: "RunOutcome | None") -> "Run":
        """Take back what a worker trained (the Trainer is rebuilt here the first time)."""
        if outcome is None:
            return self
        for name, value in outcome.fields.items():
            setattr(self, name, value)
        if outcome.trainer_state is not None:
            if self.trainer is None:
                self.trainer = self.new_trainer()
            self.trainer.load_state(outcome.trainer_state)
        return self

    def training_task(self, work: Callable[..., Any] | None = None, **options: Any) -> Task:
        """The job that trains this run to `target_steps` in a worker: `work(job, run, **options)`
        (default `training_job`, a module-level function); the result comes back onto this run."""
        state = self.trainer.export_state() if self.trainer is not None else None
        return Task(train_in_worker, (self.for_worker(), state, work or training_job, options), apply=self.absorb)


@dataclass
class RunOutcome:
    """What a worker sends back: the Trainer's `export_state()` and the family's WORKER_FIELDS."""

    trainer_state: dict | None
    fields: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- the worker

@dataclass
class PreviewClock:
    """When the next live preview is due: every `min_gap_s`..`max_gap_s` seconds, spaced so previews
    take about PREVIEW_BUDGET of the time.

    The first preview pays one-off warm-up costs (often 5-10x a later one), so it is not used to
    space the next: budgeting by it once kept the scatter at step 13 while training reached step 702.
    """

    min_gap_s: float = PREVIEW_MIN_GAP_S
    max_gap_s: float = PREVIEW_MAX_GAP_S
    next_at: float = 0.0      # perf_counter time the next preview is due (0: at once)
    cheapest: float = math.inf
    count: int = 0

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def gap(self) -> float:
        """Seconds between the end of one preview and the next (after the warm-up one: the shortest)."""
        if math.isinf(self.cheapest):
            return self.min_gap_s
        return min(max(self.min_gap_s, self.cheapest / PREVIEW_BUDGET), self.max_gap_s)

    def record(self, started: float, finished: float) -> None:
        """A preview ran from `started` to `finished` (perf_counter seconds)."""
        if self.count > 0:
            self.cheapest = min(self.cheapest, finished - started)
        self.count += 1
        self.next_at = finished + self.gap()


def training_job(job: Job, run: Run, *, previews: bool = True,
                 beside: Callable[[Job], Callable[[], None] | None] | None = None) -> Run:
    """The worker: build (or reuse) the run's Trainer and train it to `run.target_steps`.

    Runs in a pool thread. Progress goes out through `job.report`. With `previews` a few hundred
    samples are drawn now and then for the live scatter. `beside(job)` may start work that runs
    next to the training (the Score lab's loss floors) and returns what waits for it at the end.
    """
    job.report(progress_of(job))
    if run.trainer is None:
        job.report(phase="building the network")
        run.trainer = run.new_trainer()
    trainer, target = run.trainer, run.target_steps
    finish = beside(job) if beside is not None else None
    job.report(phase="training", total=target, step=trainer.state.step)
    clock = run.preview_clock()  # the first preview as soon as the first window is logged

    def on_progress(p: Progress) -> None:
        fields: dict[str, Any] = dict(step=p.step, total=p.total_steps, loss=p.loss,
                                      steps_per_second=p.steps_per_second, history=list(trainer.state.history))
        now = time.perf_counter()
        if previews and (clock.due(now) or p.step == p.total_steps):
            fields["preview"] = run.preview_samples(seed=trainer.config.seed)
            fields["preview_step"] = p.step
            clock.record(now, time.perf_counter())
        job.report(**fields)

    try:
        trainer.run(on_progress, job.stop_event, steps=target)
    finally:
        job.report(step=trainer.state.step, history=list(trainer.state.history))
        if finish is not None:
            finish()
    return run


def train_in_worker(job: Job, run: Run, state: dict | None, work: Callable[..., Any], options: dict) -> RunOutcome:
    """A run's job in a worker process: rebuild the Trainer from `state`, `work(job, run, **options)`,
    and return the run's `outcome()` (also when the work fails: the last finite weights are kept)."""
    if state is not None:
        run.trainer = run.new_trainer()
        run.trainer.load_state(state)
    job.on_failure(run.outcome)
    work(job, run, **options)
    return run.outcome()


# ----------------------------------------------------------------------------- what the pages draw

def grid_points(domain: tuple[float, float], n: int) -> tuple[torch.Tensor, np.ndarray]:
    """n×n points on domain² (x varies fastest, as `metrics.score_grid`) and the 1-D axis."""
    axis = torch.linspace(domain[0], domain[1], n)
    gy, gx = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([gx.flatten(), gy.flatten()], 1), axis.numpy()
