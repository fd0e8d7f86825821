"""Step-based training of a score network on a fixed set of 2-D points.

The loop (`Trainer._run`) is the plain PyTorch one, read top to bottom:
data (a random batch) → noise + loss (`objectives.py`) → step (backward, Adam, EMA).
Around it, what a live classroom needs, each a small helper: a callback every
`log_every` steps (`_log`), a stop event checked every step, resume from where it
stopped, and a NaN/Inf guard that falls back to the last finite weights
(`_snapshot`/`_restore`) and names the steps between which the loss blew up.
"""

from __future__ import annotations

import copy
import math
import threading
import time
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Callable

import torch

from models.core.devices import available_devices
from models.core.errors import InputError
from models.lab.checks import LIMITS, SEED_MAX, short_repr, type_problem
from models.lab.training import limited_threads

from .networks import build_network
from .noise import default_sigma_max, default_sigma_min, geometric_sigmas
from .objectives import OBJECTIVES, ncsn_loss, single_level_loss


MODEL_KINDS = ("single-sigma", "ncsn")
CONDITIONINGS = ("embedding", "scale")

# What each TrainConfig field may hold (a JSON config can hold anything).
_FIELD_TYPES = {"model": str, "objective": str, "hidden": int, "depth": int, "conditioning": str,
                "sigma": float | None, "sigma_max": float | None, "sigma_min": float | None, "levels": int,
                "sigma_jitter": bool, "steps": int, "batch_size": int, "lr": float, "lr_decay": bool, "ema": float,
                "seed": int, "device": str, "num_threads": int | None, "log_every": int}


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
        """Types first, then bounds: a config may come from an uploaded run, so nothing is trusted."""
        for f in fields(self):
            value = getattr(self, f.name)
            problem = type_problem(value, _FIELD_TYPES[f.name])
            if problem:
                raise InputError(f"{f.name.replace('_', ' ')} must be {problem} (got {short_repr(value)})")
        if self.model not in MODEL_KINDS:
            raise InputError(f"unknown model {short_repr(self.model)}: use 'single-sigma' or 'ncsn'")
        if self.objective not in OBJECTIVES:
            raise InputError(f"unknown objective {short_repr(self.objective)}: use one of {', '.join(OBJECTIVES)}")
        if self.conditioning not in CONDITIONINGS:
            raise InputError(f"unknown conditioning {short_repr(self.conditioning)}: use 'embedding' or 'scale'")
        for name, high in LIMITS.items():
            v = getattr(self, name)
            if v is not None and not 1 <= v <= high:
                raise InputError(f"{name.replace('_', ' ')} must be a whole number from 1 to {high:,} (got {v:,})")
        if not 0 <= self.seed <= SEED_MAX:
            raise InputError(f"seed must be a whole number from 0 to 2**63 − 1 (got {short_repr(self.seed)})")
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
            raise InputError(f"unknown device {short_repr(self.device)}: use cpu, cuda or mps")

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

# A single-σ model's default noise level, as a share of the data's spread.
SINGLE_SIGMA_SHARE = 0.1


def default_single_sigma(points: torch.Tensor) -> float:
    """The single-σ model's default σ: 0.1 × the data's spread (mean per-axis standard deviation)."""
    return SINGLE_SIGMA_SHARE * float(points.std(0).mean())


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


class LossWindow:
    """Loss sums over one log window, kept on the device: reading a number back every step
    would stall a GPU, so the loop reads them once per window."""

    def __init__(self, levels: int, device: torch.device):
        self.loss = torch.zeros((), device=device)
        self.per_level = torch.zeros(levels, device=device) if levels else None
        self.steps = 0
        self.started = time.perf_counter()

    def add(self, loss: torch.Tensor, per_level: torch.Tensor | None) -> None:
        self.loss += loss.detach()
        if per_level is not None:
            self.per_level += per_level
        self.steps += 1

    def reset(self) -> None:
        self.loss.zero_()
        if self.per_level is not None:
            self.per_level.zero_()
        self.steps, self.started = 0, time.perf_counter()


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
            config.sigma = config.sigma or round(default_single_sigma(self.data_cpu), 4)
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
        window = LossWindow(len(self.sigmas) if c.model == "ncsn" else 0, self.device)
        last_good = self._snapshot()  # the weights to fall back on if the loss blows up
        try:
            while self.state.step < target and not (stop_event is not None and stop_event.is_set()):
                step = self.state.step + 1
                batch = self._random_batch()           # data: training points drawn with replacement
                loss, per_level = self.loss(batch)     # noise + loss: x̃ = x + σz, scored by the objective
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
            self.state.seconds += time.perf_counter() - window.started if window.steps else 0.0
        return self.state

    def _random_batch(self) -> torch.Tensor:
        idx = torch.randint(len(self.data), (self.config.batch_size,), device=self.device, generator=self.generator)
        return self.data[idx]

    def _optimizer_step(self, loss: torch.Tensor, step: int) -> None:
        if step % 10 == 1:  # the cosine schedule moves slowly: updating it every step costs ~3%
            for group in self.optimizer.param_groups:
                group["lr"] = self.lr_at(step)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self._update_ema()

    def _log(self, window: LossWindow, step: int, target: int, mean_loss: float) -> Progress:
        """One history row for the window that ends at `step`, and the callback's Progress."""
        seconds = time.perf_counter() - window.started
        rate = window.steps / max(seconds, 1e-9)
        self.state.seconds += seconds
        per_sigma = (window.per_level / window.steps).tolist() if window.per_level is not None else None
        row = {"step": step, "loss": mean_loss, "steps_per_second": rate, "lr": self.lr_at(step)}
        if per_sigma is not None:
            row["per_sigma"] = per_sigma
        self.state.history.append(row)
        return Progress(step, target, mean_loss, per_sigma, rate, row["lr"])

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
