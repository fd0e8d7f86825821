"""The front door of flow matching: every page and the CLI train, sample and measure flows through here.

    run = FlowRun(data=training_data(DatasetSpec.builtin("moons")), config=flow_config())
    job = pool.submit(run.training_task(training_job))           # the lab's worker, in a job worker process
    result = run.model().sample(n=2000, steps=4)                  # FLUX.1-schnell's 4 Euler steps

* `FlowRun` — one flow of one session: the lab's run (models/lab/run.py: data, config,
  Trainer, job) with labels, class names and, for a reflow, its parent and pairs; trained
  by the lab's worker `training_job` (history rows + a live preview, the same
  `TrainingProgress` the Score lab's live charts read).
* `reflow_job` — sample pairs from a finished flow, then train its reflow.
* The analyses each view draws: `velocity_field`, `paths`, `quality_vs_steps`,
  `guidance_summary`, `implied_score_field`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from models.core.errors import InputError
from models.core.jobs import Job
from models.lab.datasets import DatasetSpec, TrainingData, load_dataset, training_data
from models.lab.metrics import energy_distance, energy_distance_floor
from models.lab.run import PreviewClock, Run, grid_points, log_every_for, progress_of, training_job
from models.lab.training import Trainer

from .defaults import DEFAULTS
from .exact import mixture_velocity, standardized
from .labels import LabelledData, labelled_data
from .model import FlowModel
from .reflow import reflow_pairs, reflow_trainer, straightness
from .trainer import FlowConfig, flow_trainer

N_TRAIN = 10_000
PREVIEW_POINTS = 400
PREVIEW_STEPS = 20
PREVIEW_GAP_S = 1.5
SAMPLE_STEPS = DEFAULTS.sample_steps       # the default sampler: Euler
SCHNELL_STEPS = 4                          # FLUX.1-schnell's choice
STEP_COUNTS = (1, 2, 3, 4, 6, 8, 12, 16, 25, 50)
EVAL_POINTS = 2000
EVAL_SEED = 12_345
REFLOW_PAIRS = 10_000
GUIDANCE_WEIGHTS = (0.0, 1.0, 3.0, 5.0)    # the rows of the guidance table


def flow_config(*, steps: int | None = None, batch_size: int | None = None, lr: float | None = None,
                time_sampling: str = "logit-normal", num_classes: int = 0, seed: int = 0,
                device: str = "cpu") -> FlowConfig:
    """A checked FlowConfig; None keeps the engine's default."""
    base = FlowConfig()
    config = FlowConfig(steps=base.steps if steps is None else int(steps),
                        batch_size=base.batch_size if batch_size is None else int(batch_size),
                        lr=base.lr if lr is None else float(lr), time_sampling=time_sampling,
                        num_classes=int(num_classes), seed=int(seed), device=device)
    config.log_every = log_every_for(config.steps)
    config.validate()
    return config


def load_training_data(spec: DatasetSpec, *, conditional: bool, n: int = N_TRAIN, seed: int = 0
                       ) -> tuple[TrainingData, torch.Tensor | None, list[str]]:
    """The points (and for a conditional flow their labels and class names)."""
    if conditional:
        labelled: LabelledData = labelled_data(spec, n, seed)
        return labelled.data, labelled.labels, labelled.class_names
    return training_data(spec, n, seed), None, []


@dataclass
class FlowRun(Run):
    """One flow of one session: trained here (has a Trainer) or loaded from a saved run."""

    labels: torch.Tensor | None = None
    class_names: list[str] = field(default_factory=list)
    pairs: tuple[torch.Tensor, torch.Tensor] | None = None   # reflow: the parent's (noise, sample) pairs
    parent: "FlowRun | None" = None                           # reflow: the flow these pairs came from

    WORKER_FIELDS = ("pairs",)

    def for_worker(self) -> "FlowRun":
        """The copy a worker gets: a reflow's parent travels as its trained model only."""
        copy = super().for_worker()
        if self.parent is not None and self.parent.loaded is None:
            copy.parent = FlowRun(data=self.parent.data, config=self.parent.config, loaded=self.parent.model(),
                                  labels=self.parent.labels, class_names=self.parent.class_names)
        return copy

    def new_trainer(self) -> Trainer:
        if self.pairs is not None:
            return reflow_trainer(self.parent.model(), self.pairs, steps=self.config.steps, seed=self.config.seed)
        return flow_trainer(self.config, self.data.normalized, labels=self.labels)

    def model(self) -> FlowModel | None:
        if self.loaded is not None:
            return self.loaded
        if self.trainer is None or self.data is None or self.trainer.state.step == 0:
            return None
        return FlowModel.from_trainer(self.trainer, self.data.center, self.data.spread, self.data.spec.to_dict())

    def preview_samples(self, seed: int) -> np.ndarray:
        return self.model().sample(n=PREVIEW_POINTS, steps=PREVIEW_STEPS, seed=seed).samples.numpy()

    def preview_clock(self) -> PreviewClock:
        return PreviewClock(min_gap_s=PREVIEW_GAP_S, max_gap_s=PREVIEW_GAP_S)

    def describe(self) -> str:
        c = self.config
        what = "class-conditional flow" if c.conditional else "flow"
        if c.reflow:
            what = f"reflow {c.reflow} of a {what}"
        data = self.data.spec.describe() if self.data is not None else "unknown data"
        return f"{what} · {c.time_sampling} times · {data} · {self.steps_done:,} steps"


def train(data: TrainingData, config: FlowConfig, labels: torch.Tensor | None = None, callback=None
          ) -> tuple[FlowModel, Trainer]:
    """Train in this thread (the CLI, benchmarks, tests)."""
    trainer = flow_trainer(config, data.normalized, labels=labels)
    trainer.run(callback)
    return FlowModel.from_trainer(trainer, data.center, data.spread, data.spec.to_dict()), trainer


# ----------------------------------------------------------------------------- workers

def reflow_run(parent: FlowRun, steps: int | None = None) -> FlowRun:
    """A new run that will train the reflow of `parent` (its pairs are made by `reflow_job`)."""
    if parent.model() is None:
        raise InputError("train a flow first: reflow needs its samples")
    if parent.config.conditional:
        raise InputError("reflow is for unconditional flows: this one was trained with classes")
    config = FlowConfig(**{**parent.config.to_dict(), "reflow": parent.config.reflow + 1,
                           "steps": steps or parent.config.steps})
    return FlowRun(data=parent.data, config=config, parent=parent)


def reflow_job(job: Job, run: FlowRun, *, previews: bool = True) -> FlowRun:
    """Couple noise with samples through the parent's ODE, then train the reflow on those pairs."""
    if run.pairs is None:
        job.report(progress_of(job), phase="sampling (noise, sample) pairs from the first flow")
        run.pairs = reflow_pairs(run.parent.model(), REFLOW_PAIRS, seed=run.config.seed + 1)
    if job.should_stop():
        return run
    return training_job(job, run, previews=previews)


# ----------------------------------------------------------------------------- what the page draws

def evaluation_points(spec: DatasetSpec, n: int = EVAL_POINTS, seed: int = EVAL_SEED) -> torch.Tensor:
    """Fresh data (another seed) to compare samples with."""
    return load_dataset(spec, n, seed)


def ed_floor(spec: DatasetSpec, n: int = EVAL_POINTS) -> float:
    """The energy distance between two fresh draws of the data, averaged over three pairs: what a perfect
    sampler scores on average at this n (see `fresh_data_ratios` for how far one draw strays from it)."""
    return energy_distance_floor(lambda k, s: load_dataset(spec, k, s), n)


FRESH_DRAW_SEEDS = tuple(range(2001, 2011))   # apart from the floor's (1001–1006) and the evaluation's seeds


def fresh_data_ratios(spec: DatasetSpec, evaluation: torch.Tensor, floor: float, n: int = EVAL_POINTS) -> list[float]:
    """Energy distance ÷ floor of 10 fresh draws of the data itself, sorted: the band one run of a perfect
    sampler lands in (moons: 0.6× to 2.5×), so a single ratio near or below 1× is as good as data."""
    return sorted(energy_distance(load_dataset(spec, n, s), evaluation) / floor for s in FRESH_DRAW_SEEDS)


def quality_vs_steps(model: FlowModel, evaluation: torch.Tensor, floor: float, *, step_counts=STEP_COUNTS,
                     sampler: str = "euler", n: int = EVAL_POINTS, seed: int = 0) -> list[dict]:
    """Energy distance to fresh data (and as a multiple of the data-vs-data floor) for each step count."""
    rows = []
    for k in step_counts:
        ed = energy_distance(model.sample(n=n, steps=int(k), sampler=sampler, seed=seed).samples, evaluation)
        rows.append({"steps": int(k), "energy_distance": ed, "ratio": ed / floor})
    return rows


def velocity_field(model: FlowModel, t: float, domain: tuple[float, float], arrows: int = 21) -> dict:
    """Arrows of the learned velocity at time t on a grid (data coordinates); the arrows point towards NOISE
    (dx/dt with t growing), so the sampler walks against them."""
    points, _ = grid_points(domain, arrows)
    return {"arrow_points": points.numpy(), "arrows": model.velocity(points, t).numpy()}


def exact_velocity_field(spec: DatasetSpec, model: FlowModel, t: float, domain: tuple[float, float],
                         arrows: int = 21) -> dict | None:
    """The exact velocity of a Gaussian-mixture dataset on the same grid (None for other data)."""
    from models.lab.datasets import dataset_mixture

    mixture = dataset_mixture(spec.name) if spec.kind == "builtin" else None
    if mixture is None:
        return None
    points, _ = grid_points(domain, arrows)
    exact = standardized(mixture, model.center, model.spread)
    v = model.spread * mixture_velocity(exact, model.to_standard(points).double(), t).float()
    return {"arrow_points": points.numpy(), "arrows": v.numpy()}


def paths(model: FlowModel, *, n: int = 40, steps: int = 50, seed: int = 7) -> dict:
    """The learned ODE paths from n noise points (curved), and the straight lines from each start to its end
    (what one Euler step would need v to point along)."""
    result = model.sample(n=n, steps=steps, seed=seed, stride=1)
    frames = torch.stack(result.frames)             # (steps + 1, n, 2), t from 1 to 0 (charts.trajectories' shape)
    start, end = frames[0], frames[-1]
    return {"learned": frames.numpy(), "start": start.numpy(), "end": end.numpy(),
            "bend": float(result.bend.mean())}


def reflow_numbers(before: FlowModel, after: FlowModel, evaluation: torch.Tensor, floor: float,
                   n: int = EVAL_POINTS) -> dict:
    """Straightness and 1- and 4-step quality of a flow and of its reflow."""
    out = {}
    for name, model in (("before", before), ("after", after)):
        eds = {k: energy_distance(model.sample(n=n, steps=k).samples, evaluation) for k in (1, SCHNELL_STEPS)}
        out[name] = {"straightness": straightness(model), "ed_1": eds[1], "ed_4": eds[SCHNELL_STEPS],
                     "ratio_1": eds[1] / floor, "ratio_4": eds[SCHNELL_STEPS] / floor}
    return out


def guidance_summary(model: FlowModel, label: int, guidance: float, centers: torch.Tensor | None, *,
                     n: int = 1000, steps: int = SAMPLE_STEPS, seed: int = 0,
                     interval: tuple[float, float] | None = None) -> dict:
    """Samples for one class at guidance w (on the whole path, or only for t in `interval`) and what
    guidance does to them:
    share — of samples landing nearest that class's centre (None when classes have no centre);
    spread — their root-mean-square distance to their own mean (the class's diversity);
    offset — how far their mean sits from the class centre (guidance pushes away from the other classes)."""
    samples = model.sample(n=n, steps=steps, seed=seed, label=label, guidance=guidance,
                           guidance_interval=interval).samples
    finite = samples[torch.isfinite(samples).all(1)]
    mean = finite.mean(0)
    spread = float(((finite - mean) ** 2).sum(1).mean().sqrt())
    share = offset = None
    if centers is not None:
        share = float((torch.cdist(finite, centers).argmin(1) == label).float().mean())
        offset = float((mean - centers[label]).norm())
    return {"samples": samples.numpy(), "share": share, "spread": spread, "offset": offset}


def implied_score_field(model: FlowModel, reference_score, sigma: float, domain: tuple[float, float],
                        arrows: int = 21) -> dict:
    """The flow's implied score s(x, σ) (see FlowModel.implied_score) on a grid, the reference score there
    (exact for a mixture, or an NCSN's), and their mean relative difference σ·‖s − s_ref‖ / mean σ·‖s_ref‖."""
    points, _ = grid_points(domain, arrows)
    s = model.implied_score(points, sigma)
    out = {"arrow_points": points.numpy(), "flow": s.numpy(), "reference": None, "relative_error": None}
    if reference_score is not None:
        with torch.no_grad():
            ref = reference_score(points, float(sigma)).float().cpu()
        out["reference"] = ref.numpy()
        out["relative_error"] = float((s - ref).norm(dim=1).mean() / ref.norm(dim=1).mean())
    return out



def samples_at_steps(model: FlowModel, steps: int, evaluation: torch.Tensor | None, floor: float | None, *,
                     sampler: str = "euler", n: int = EVAL_POINTS, seed: int = 0) -> dict:
    """n samples with `steps` steps, their energy distance to fresh data and its ratio to the floor."""
    samples = model.sample(n=n, steps=int(steps), sampler=sampler, seed=seed).samples
    ed = energy_distance(samples, evaluation) if evaluation is not None else None
    return {"samples": samples.numpy(), "energy_distance": ed,
            "ratio": ed / floor if ed is not None and floor else None}


def interval_label(interval: tuple[float, float] | None) -> str:
    return "whole path" if interval is None else f"{interval[0]:g} < t ≤ {interval[1]:g}"


def guidance_table(model: FlowModel, label: int, centers: torch.Tensor | None, weights=GUIDANCE_WEIGHTS, *,
                   interval: tuple[float, float] = DEFAULTS.guidance_interval, n: int = 1000,
                   seed: int = 0) -> list[dict]:
    """Share nearest the class centre, spread and the mean's offset for a few guidance weights on the whole
    path, then for the weights above 1 with guidance only in `interval` (what the limited interval changes)."""
    rows = []
    for w, where in [(w, None) for w in weights] + [(w, interval) for w in weights if w > 1]:
        s = guidance_summary(model, label, float(w), centers, n=n, seed=seed, interval=where)
        rows.append({"w": float(w), "guided": interval_label(where), "share": s["share"], "spread": s["spread"],
                     "offset": s["offset"]})
    return rows


def training_lines(model: FlowModel, data: TrainingData, *, n: int = 40, seed: int = 7) -> dict:
    """n training pairs as the loss sees them: a data point x₀, an independent noise draw ε (data coordinates),
    and the straight line between them. Lines of different pairs cross: at a crossing the network can only
    learn their average direction, which is why the learned paths bend."""
    g = torch.Generator().manual_seed(int(seed))
    x0 = data.points[torch.randint(len(data.points), (n,), generator=g)]
    eps = model.to_data(torch.randn(n, 2, generator=g))
    return {"lines": torch.stack([x0, eps]).numpy(), "data": x0.numpy(), "noise": eps.numpy()}


def loaded_flow_run(model: FlowModel, history: list[dict], class_names: list[str]) -> FlowRun:
    """A run for a flow loaded from a zip; its training data is rebuilt from the config when it can be
    (a built-in shape or a word; never a CSV path an upload names)."""
    data, labels = None, None
    if model.dataset is not None:
        try:
            data, labels, names = load_training_data(DatasetSpec.from_dict(model.dataset),
                                                     conditional=model.config.conditional, seed=model.config.seed)
        except (InputError, OSError):
            data, labels, names = None, None, []
        if model.config.conditional and len(names) != model.config.num_classes:
            data, labels = None, None  # a config naming data of other classes: not this model's data
    return FlowRun(data=data, config=model.config, labels=labels, class_names=list(class_names),
                   target_steps=max(model.steps_trained, 1), loaded=model, loaded_history=history)


def run_zip_bytes(run: FlowRun) -> bytes:
    """The run as one zip (model.safetensors + config.json + losses.csv), for a download."""
    from .checkpoints import flow_zip_bytes

    model = run.model()
    if model is None:
        raise InputError("nothing to save yet: train a flow first")
    return flow_zip_bytes(model, run.history, run.class_names)
