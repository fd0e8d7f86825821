"""Step-based training of a score network on a fixed set of 2-D points.

The loop is the plain PyTorch one (sample a batch, loss, backward, Adam step) plus
what a live classroom needs: a callback every `log_every` steps, a stop event
checked every step, resume from where it stopped, and a NaN/Inf guard that keeps
the last finite weights and names the step that blew up.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Callable

import torch

from .errors import InputError
from .networks import build_network
from .noise import default_sigma_max, default_sigma_min, geometric_sigmas
from .objectives import OBJECTIVES, ncsn_loss, single_level_loss


def available_devices() -> list[str]:
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        devices.append("mps")
    return devices


def default_num_threads() -> int:
    # On 2 cores a second busy thread (the app, another student) makes multi-threaded
    # toy training collapse; one thread is faster there.
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


MODEL_KINDS = ("single-sigma", "ncsn")


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved in the checkpoint's config.json)."""

    model: str = "ncsn"                  # "single-sigma" (one σ) or "ncsn" (a σ-conditioned ladder)
    objective: str = "dsm"               # "dsm", "sliced" or "implicit"
    hidden: int = 128
    depth: int = 3
    conditioning: str = "embedding"      # NCSN only: "embedding" or "scale" (NCSNv2 s(x)/σ)
    sigma: float | None = None           # the denoising network's one σ (default: 0.1 × data spread)
    sigma_max: float | None = None       # NCSN ladder (defaults from the data, see noise.py)
    sigma_min: float | None = None
    levels: int = 10
    sigma_jitter: bool = True            # NCSN: also train between the ladder's rungs (see ncsn_loss)
    steps: int = 2000
    batch_size: int = 256
    lr: float = 5e-3
    lr_decay: bool = True                # cosine decay to 5% of lr over `steps`
    ema: float = 0.99                    # weight averaging; 0 turns it off
    seed: int = 0
    device: str = "cpu"
    num_threads: int | None = None       # None: 1 thread on ≤ 2 cores
    log_every: int = 50

    def __post_init__(self) -> None:
        # "dsm" was the single-σ model's old name (runs saved before the rename say so); the
        # name now belongs to the objective only
        if self.model == "dsm":
            self.model = "single-sigma"

    def validate(self) -> None:
        if self.model not in MODEL_KINDS:
            raise InputError(f"unknown model {self.model!r}: use 'single-sigma' or 'ncsn'")
        if self.objective not in OBJECTIVES:
            raise InputError(f"unknown objective {self.objective!r}: use one of {', '.join(OBJECTIVES)}")
        for name in ("steps", "batch_size", "hidden", "depth", "log_every"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"{name.replace('_', ' ')} must be a positive whole number")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise InputError(f"learning rate must be a positive number (got {self.lr})")
        for name in ("sigma", "sigma_max", "sigma_min"):
            v = getattr(self, name)
            if v is not None and not (math.isfinite(v) and v > 0):
                raise InputError(f"{name.replace('_', ' ').replace('sigma', 'σ')} must be positive (got {v})")
        if self.model == "ncsn" and self.levels < 2:
            raise InputError("the NCSN ladder needs at least 2 noise levels")
        if not 0 <= self.ema < 1:
            raise InputError("EMA decay must be in [0, 1)")
        if self.device not in ("cpu", "cuda", "mps") and not self.device.startswith("cuda:"):
            raise InputError(f"unknown device {self.device!r}: use cpu, cuda or mps")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Progress:
    """What the callback receives every `log_every` steps."""

    step: int
    total_steps: int
    loss: float                          # mean loss over the last log window
    per_sigma: list[float] | None        # NCSN: mean loss per level over the window
    steps_per_second: float
    lr: float


# The λ(σ)=σ² weighting keeps every objective O(1) for a sane network (DSM starts near 1);
# a window mean beyond this means the weights have blown up even if no NaN appeared yet.
EXPLODED_LOSS = 1e6


# Weights to fall back on are copied at most this often: copying every log window cost a few %.
SNAPSHOT_EVERY_S = 0.5


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the model keeps the last finite weights."""


@dataclass
class TrainState:
    step: int = 0
    history: list[dict] = field(default_factory=list)   # one row per log window
    seconds: float = 0.0


class Trainer:
    """Train a score network; `run()` can be called again after a stop to resume."""

    def __init__(self, config: TrainConfig, data: torch.Tensor):
        config.validate()
        if data.ndim != 2 or data.shape[1] != 2 or len(data) < 2:
            raise InputError("training data must be an (N, 2) array of at least 2 points")
        self.config = config = replace(config)
        self.data_cpu = data.float()
        if config.model == "ncsn":
            s_max = config.sigma_max or default_sigma_max(self.data_cpu)
            s_min = config.sigma_min or default_sigma_min(self.data_cpu)
            config.sigma_max, config.sigma_min = s_max, s_min
            self.sigmas = geometric_sigmas(s_max, s_min, config.levels)
        else:
            config.sigma = config.sigma or round(0.1 * float(self.data_cpu.std(0).mean()), 4)
            self.sigmas = torch.tensor([config.sigma])
        self.device = torch.device(config.device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise InputError("CUDA was requested but no CUDA GPU is available; use device 'cpu'")
        if self.device.type == "mps" and "mps" not in available_devices():
            raise InputError("MPS was requested but is not available on this machine; use device 'cpu'")
        torch.manual_seed(config.seed)  # weight init only; batches use their own generator
        self.network = build_network(config.model, hidden=config.hidden, depth=config.depth,
                                     sigma=config.sigma, conditioning=config.conditioning).to(self.device)
        self.ema_network = copy.deepcopy(self.network).requires_grad_(False) if config.ema else None
        self.optimizer = torch.optim.Adam(self.network.parameters(), lr=config.lr)
        self.data = self.data_cpu.to(self.device)
        self.sigmas_dev = self.sigmas.to(self.device)
        self.generator = torch.Generator(device=self.device).manual_seed(config.seed)
        self.state = TrainState()

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

    def loss(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        c = self.config
        if c.model == "ncsn":
            return ncsn_loss(self.network, batch, self.sigmas_dev, c.objective, self.generator, c.sigma_jitter)
        return single_level_loss(self.network, batch, c.sigma, c.objective, self.generator), None

    def run(self, callback: Callable[[Progress], None] | None = None,
            stop_event: threading.Event | None = None, steps: int | None = None) -> TrainState:
        """Train up to `steps` (default: config.steps) total steps, or until stop_event is set."""
        c = self.config
        target = c.steps if steps is None else steps
        with limited_threads(c.num_threads):
            return self._run(callback, stop_event, target)

    def _run(self, callback, stop_event, target: int) -> TrainState:
        c = self.config
        n = len(self.data)
        sum_loss = torch.zeros((), device=self.device)
        sum_levels = torch.zeros(len(self.sigmas), device=self.device) if c.model == "ncsn" else None
        window, t_window = 0, time.perf_counter()
        last_good = self._snapshot()
        try:
            while self.state.step < target:
                if stop_event is not None and stop_event.is_set():
                    break
                step = self.state.step + 1
                if step % 10 == 1:  # the cosine schedule moves slowly: updating it every step costs ~3%
                    for group in self.optimizer.param_groups:
                        group["lr"] = self.lr_at(step)
                idx = torch.randint(n, (c.batch_size,), device=self.device, generator=self.generator)
                loss, per_level = self.loss(self.data[idx])
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                self._update_ema()
                sum_loss += loss.detach()
                if per_level is not None:
                    sum_levels += per_level
                window += 1
                self.state.step = step
                if step % c.log_every == 0 or step == target:
                    mean_loss = float(sum_loss) / window
                    if not math.isfinite(mean_loss) or abs(mean_loss) > EXPLODED_LOSS:
                        self._restore(last_good)
                        self.state.step = last_good["step"]
                        self.state.history = [r for r in self.state.history if r["step"] <= last_good["step"]]
                        what = ("NaN" if math.isnan(mean_loss) else "infinite" if math.isinf(mean_loss)
                                else f"{mean_loss:.3g} (exploded)")
                        raise TrainingDiverged(
                            f"the loss became {what} "
                            f"between steps {last_good['step'] + 1} and {step}; the last finite weights "
                            f"(step {last_good['step']}) were kept. Try a smaller learning rate "
                            f"(now {c.lr:g}).")
                    now = time.perf_counter()
                    rate = window / max(now - t_window, 1e-9)
                    self.state.seconds += now - t_window
                    per_sigma = (sum_levels / window).tolist() if sum_levels is not None else None
                    row = {"step": step, "loss": mean_loss, "steps_per_second": rate, "lr": self.lr_at(step)}
                    if per_sigma is not None:
                        row["per_sigma"] = per_sigma
                    self.state.history.append(row)
                    if now - last_good["time"] >= SNAPSHOT_EVERY_S:
                        last_good = self._snapshot()
                    if callback is not None:
                        callback(Progress(step, target, mean_loss, per_sigma, rate, row["lr"]))
                    sum_loss.zero_()
                    if sum_levels is not None:
                        sum_levels.zero_()
                    window, t_window = 0, time.perf_counter()
        finally:
            self.state.seconds += time.perf_counter() - t_window if window else 0.0
        return self.state

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
        self.network.load_state_dict(snap["network"])
        self.optimizer.load_state_dict(snap["optimizer"])
        if self.ema_network is not None:
            self.ema_network.load_state_dict(snap["ema"])
