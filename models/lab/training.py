"""ONE training loop for every model trained here (the 2-D lab's and the 8×8 digits'), read top to bottom:
data (a random batch) → loss (the objective's) → step (backward, Adam, EMA).

What a family changes is its objective: `objective.loss(network, batch, generator)` returns the
loss and, for a ladder of noise levels, the loss per level (`objective.levels` of them, 0 for
none). The score families' objectives live in models/score/objectives.py, the flow's in
models/flow/trainer.py, the text-to-image model's in models/text_to_image/train.py; the loop never
asks which family it trains. Two things an objective may add (`Objective` says how): parameter
groups that learn at a multiple of the learning rate, and random streams of its own.

Around the loop, what a live classroom needs, each a small helper: a callback every
`log_every` steps (`_log`), a stop event checked every step, resume from where it
stopped, and a NaN/Inf guard that falls back to the last finite weights
(`_snapshot`/`_restore`) and names the steps between which the loss blew up.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Protocol

import torch

from models.core.devices import available_devices
from models.core.errors import InputError
from models.lab.streams import BATCHES, INIT, stream, stream_seed


def default_num_threads() -> int:
    # On 2 cores a second busy thread (the app, another student) makes multi-threaded
    # toy training collapse; one thread is faster there. A job worker process has one (DC_TORCH_THREADS).
    if os.environ.get("DC_TORCH_THREADS", "").isdigit():
        return max(1, int(os.environ["DC_TORCH_THREADS"]))
    cores = os.cpu_count() or 1
    return 1 if cores <= 2 else min(4, cores)


@contextlib.contextmanager
def limited_threads(n: int | None = None):
    """Run a block with `n` torch threads (default: `default_num_threads()`), then restore.

    2-D point clouds are far too small for intra-op threads: on a busy 2-core laptop one
    thread was 4–5× faster than two fighting for the cores.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(n or default_num_threads())
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@dataclass
class Progress:
    """What the callback receives every `log_every` steps."""

    step: int
    total_steps: int
    loss: float                          # mean loss over the last log window
    per_sigma: list[float] | None        # a ladder's mean loss per level over the window (else None)
    steps_per_second: float
    lr: float
    cpu_seconds: float = 0.0             # the training steps' own CPU time so far (this thread)


# Every objective here is O(1) for a sane network (score losses by their λ(σ)=σ² weighting, DSM
# starting near 1; a flow's ‖v − (ε − x₀)‖² near 2): a window mean beyond this means the weights
# have blown up even if no NaN appeared yet.
EXPLODED_LOSS = 1e6


# Weights to fall back on are copied at most this often: copying every log window cost a few %.
SNAPSHOT_EVERY_S = 0.5


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the model keeps the last finite weights."""


def loss_diverged(mean_loss: float) -> bool:
    return not math.isfinite(mean_loss) or abs(mean_loss) > EXPLODED_LOSS


def divergence_message(mean_loss: float, last_good_step: int, step: int, lr: float) -> str:
    what = ("NaN" if math.isnan(mean_loss) else "infinite" if math.isinf(mean_loss)
            else f"{mean_loss:.3g} (exploded)")
    return (f"the loss became {what} between steps {last_good_step + 1} and {step}; the last finite weights "
            f"(step {last_good_step}) were kept. Try a smaller learning rate (now {lr:g}).")


@dataclass
class TrainState:
    step: int = 0
    history: list[dict] = field(default_factory=list)   # one row per log window
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # thread CPU time: wall time says little on a machine a class shares


class LossWindow:
    """Loss sums over one log window, kept on the device: reading a number back every step
    would stall a GPU, so the loop reads them once per window."""

    def __init__(self, levels: int, device: torch.device):
        self.loss = torch.zeros((), device=device)
        self.per_level = torch.zeros(levels, device=device) if levels else None
        self.steps = 0
        self.started, self.cpu_started = time.perf_counter(), time.thread_time()

    def add(self, loss: torch.Tensor, per_level: torch.Tensor | None) -> None:
        self.loss += loss.detach()
        if per_level is not None:
            self.per_level += per_level
        self.steps += 1

    def reset(self) -> None:
        self.loss.zero_()
        if self.per_level is not None:
            self.per_level.zero_()
        self.steps, self.started, self.cpu_started = 0, time.perf_counter(), time.thread_time()


class Objective(Protocol):
    """What the loop trains towards; `batch` is the data's rows (with their partners, if any), and
    `generator` the loop's, which drew them.

    Optional, where a family needs them:
      parameter_groups(network) -> list[dict]   Adam's parameter groups; a group's "lr_scale" multiplies
                                                the schedule's learning rate (default: one group, ×1)
      streams: dict[str, torch.Generator]       a generator per kind of draw (models/lab/streams.py),
                                                the batch's rows from streams["data"]; they travel in
                                                export_state. Without them one generator seeded with the
                                                seed serves the batch and the objective (score and flow:
                                                their seeded outputs were fixed that way).
    """

    levels: int  # losses per noise level it reports (0: none)

    def loss(self, network: torch.nn.Module, batch, generator: torch.Generator
             ) -> tuple[torch.Tensor, torch.Tensor | None]: ...


class LoopSettings(Protocol):
    """The fields of a family's config the loop reads (TrainConfig and FlowConfig both have them)."""

    steps: int
    batch_size: int
    lr: float
    lr_decay: bool
    ema: float
    seed: int
    device: str
    num_threads: int | None
    log_every: int


@dataclass(frozen=True)
class LoopConfig:
    """The loop's settings on their own, for a family whose config names them otherwise (text to image)."""

    steps: int
    batch_size: int
    lr: float
    seed: int
    device: str = "cpu"
    lr_decay: bool = False
    ema: float = 0.0
    num_threads: int | None = None
    log_every: int = 50


def training_device(name: str) -> torch.device:
    """The device to train on; InputError when it is not on this machine."""
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError("CUDA was requested but no CUDA GPU is available; use device 'cpu'")
    if device.type == "mps" and "mps" not in available_devices():
        raise InputError("MPS was requested but is not available on this machine; use device 'cpu'")
    return device


class Trainer:
    """Train `network` towards `objective` on `data` (rows of points, standardized); `run()` resumes after a stop.

    `partners` are tensors with one row per data row that travel with it into each batch (a reflow's
    fixed noise, a conditional flow's labels; None for one that is absent): the batch is then the
    tuple (points, *partners).
    """

    def __init__(self, config: LoopSettings, objective: Objective, build_network: Callable[[], torch.nn.Module],
                 data: torch.Tensor, *, partners: tuple[torch.Tensor | None, ...] = ()):
        self.config = config
        self.objective = objective
        self.data_cpu = data.float()
        self.device = training_device(config.device)
        # the initial weights and the batches each take a stream of their own: seeded with the seed itself,
        # they would replay the numbers that drew the dataset (models/lab/datasets.py) and each other's
        torch.manual_seed(stream_seed(config.seed, INIT))
        self.network = build_network().to(self.device)
        self.ema_network = copy.deepcopy(self.network).requires_grad_(False) if config.ema else None
        groups = getattr(objective, "parameter_groups", None)
        self.optimizer = torch.optim.Adam(self.network.parameters() if groups is None else groups(self.network),
                                          lr=config.lr)
        for group in self.optimizer.param_groups:
            group["lr"] = config.lr * group.get("lr_scale", 1.0)
        self.data = self.data_cpu.to(self.device)
        self.partners = tuple(None if p is None else p.to(self.device) for p in partners)
        self.streams: dict[str, torch.Generator] = getattr(objective, "streams", None) or {}
        self.generator = (self.streams["data"] if "data" in self.streams
                          else stream(config.seed, BATCHES, device=self.device))
        self.state = TrainState()

    def export_state(self) -> dict:
        """Everything a new Trainer of the same config needs to go on exactly from here: the weights, the
        EMA weights, Adam's moments, the batch generator and the objective's streams, the step count and
        the history (CPU tensors: it travels between a job's worker process and the app)."""
        def cpu(state: dict) -> dict:
            return {k: v.detach().to("cpu", copy=True) for k, v in state.items()}

        optimizer = self.optimizer.state_dict()
        optimizer = {"param_groups": copy.deepcopy(optimizer["param_groups"]),
                     "state": {k: cpu(v) if isinstance(v, dict) else v for k, v in optimizer["state"].items()}}
        return {"network": cpu(self.network.state_dict()),
                "ema": cpu(self.ema_network.state_dict()) if self.ema_network is not None else None,
                "optimizer": optimizer, "generator": self.generator.get_state().cpu(),
                "streams": {name: g.get_state().cpu() for name, g in self.streams.items()},
                "step": self.state.step, "history": list(self.state.history), "seconds": self.state.seconds,
                "cpu_seconds": self.state.cpu_seconds}

    def load_state(self, state: dict) -> None:
        """Go on from `export_state()` of a Trainer of the same config (trained elsewhere)."""
        self.network.load_state_dict(state["network"])
        if self.ema_network is not None and state["ema"] is not None:
            self.ema_network.load_state_dict(state["ema"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])  # a CPU byte tensor, whatever the generator's device
        for name, g in self.streams.items():
            g.set_state(state["streams"][name])
        self.state = TrainState(int(state["step"]), list(state["history"]), float(state["seconds"]),
                                float(state["cpu_seconds"]))

    # The network to sample with: the EMA weights when kept (smoother samples).
    @property
    def sampling_network(self) -> torch.nn.Module:
        return self.ema_network if self.ema_network is not None else self.network

    def lr_at(self, step: int) -> float:
        c = self.config
        if not c.lr_decay:
            return c.lr
        t = min(step / max(c.steps, 1), 1.0)
        return c.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t)))

    def run(self, callback: Callable[[Progress], None] | None = None,
            stop_event: threading.Event | None = None, steps: int | None = None) -> TrainState:
        """Train up to `steps` (default: config.steps) total steps, or until stop_event is set."""
        c = self.config
        target = c.steps if steps is None else steps
        with limited_threads(c.num_threads):
            return self._run(callback, stop_event, target)

    def _run(self, callback, stop_event, target: int) -> TrainState:
        c = self.config
        window = LossWindow(self.objective.levels, self.device)
        last_good = self._snapshot()  # the weights to fall back on if the loss blows up
        try:
            while self.state.step < target and not (stop_event is not None and stop_event.is_set()):
                step = self.state.step + 1
                batch = self._random_batch()           # data: training points drawn with replacement
                loss, per_level = self.objective.loss(self.network, batch, self.generator)  # noise + loss
                self._optimizer_step(loss, step)       # step: backward, Adam, EMA
                window.add(loss, per_level)
                self.state.step = step
                if step % c.log_every == 0 or step == target:
                    mean_loss = float(window.loss) / window.steps
                    if loss_diverged(mean_loss):
                        self._restore(last_good)
                        raise TrainingDiverged(divergence_message(mean_loss, last_good["step"], step, c.lr))
                    progress = self._log(window, step, target, mean_loss)
                    if time.perf_counter() - last_good["time"] >= SNAPSHOT_EVERY_S:
                        last_good = self._snapshot()
                    if callback is not None:
                        callback(progress)
                    window.reset()
        finally:
            if window.steps:
                self.state.seconds += time.perf_counter() - window.started
                self.state.cpu_seconds += time.thread_time() - window.cpu_started
        return self.state

    def _random_batch(self):
        idx = torch.randint(len(self.data), (self.config.batch_size,), device=self.device, generator=self.generator)
        if not self.partners:
            return self.data[idx]
        return (self.data[idx], *(None if p is None else p[idx] for p in self.partners))

    def _optimizer_step(self, loss: torch.Tensor, step: int) -> None:
        if step % 10 == 1:  # the cosine schedule moves slowly: updating it every step costs ~3%
            for group in self.optimizer.param_groups:
                group["lr"] = self.lr_at(step) * group.get("lr_scale", 1.0)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self._update_ema()

    def _log(self, window: LossWindow, step: int, target: int, mean_loss: float) -> Progress:
        """One history row for the window that ends at `step`, and the callback's Progress."""
        seconds = time.perf_counter() - window.started
        rate = window.steps / max(seconds, 1e-9)
        self.state.seconds += seconds
        self.state.cpu_seconds += time.thread_time() - window.cpu_started
        per_sigma = (window.per_level / window.steps).tolist() if window.per_level is not None else None
        row = {"step": step, "loss": mean_loss, "steps_per_second": rate, "lr": self.lr_at(step),
               "cpu_seconds": self.state.cpu_seconds}
        if per_sigma is not None:
            row["per_sigma"] = per_sigma
        self.state.history.append(row)
        return Progress(step, target, mean_loss, per_sigma, rate, row["lr"], self.state.cpu_seconds)

    @torch.no_grad()
    def _update_ema(self) -> None:
        if self.ema_network is None:
            return
        # one fused call instead of a Python loop over parameters: keeps per-step overhead tiny
        torch._foreach_lerp_(list(self.ema_network.parameters()), list(self.network.parameters()),
                             1 - self.config.ema)

    def _snapshot(self) -> dict:
        snap = {"step": self.state.step, "time": time.perf_counter(),
                "network": {k: v.detach().clone() for k, v in self.network.state_dict().items()},
                "optimizer": copy.deepcopy(self.optimizer.state_dict())}
        if self.ema_network is not None:
            snap["ema"] = {k: v.detach().clone() for k, v in self.ema_network.state_dict().items()}
        return snap

    def _restore(self, snap: dict) -> None:
        """Back to a snapshot: weights, optimizer, step count and history."""
        self.network.load_state_dict(snap["network"])
        self.optimizer.load_state_dict(snap["optimizer"])
        if self.ema_network is not None:
            self.ema_network.load_state_dict(snap["ema"])
        self.state.step = snap["step"]
        self.state.history = [row for row in self.state.history if row["step"] <= snap["step"]]
