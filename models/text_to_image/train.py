"""Training the text-to-image model: rectified flow on the digits, captions through CLIP tokens.

Each step: a batch of digits, one caption each (drawn from the image's captions, `captions.py`), 10 % of
captions dropped to the empty prompt (so the same network gives the unconditional velocity that
classifier-free guidance needs), times t from the logit-normal, and the flow-matching loss
‖v_θ(x_t, t, text) − (ε − x₀)‖² on x_t = (1 − t)·x₀ + t·ε (`models.lab.flow_matching`).

Every random draw has its own generator (`stream`): which digits, which captions, which are dropped,
the times, the noise and the initial weights. Changing one (say, the caption templates) leaves the
others' draws as they were, and no stream replays another's numbers.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Callable

import torch

from models.core.errors import InputError
from models.lab import flow_matching as fm
from models.lab.checks import SEED_MAX
from models.lab.streams import stream
from models.lab.training import limited_threads

from .captions import caption_bank
from .data import load_digits, to_model
from .model import TextToImage
from .text_encoder import EMPTY_PROMPT, Tokens, tokenize

LIMITS = {"steps": 100_000, "batch": 4096, "width": 1024, "depth": 6, "text_dim": 256, "cond_dim": 256,
          "num_threads": 64}
DEVICES = ("auto", "cpu", "cuda")
HISTORY_EVERY = 10  # one loss row per 10 steps (the mean over them)


@dataclass
class TrainConfig:
    steps: int = 1000
    batch: int = 256
    lr: float = 2e-3
    width: int = 256
    depth: int = 3
    text_dim: int = 32
    cond_dim: int = 64
    caption_dropout: float = 0.1
    embed_lr_scale: float = 10.0
    time_sampling: str = "logit-normal"
    seed: int = 0
    num_threads: int = 1  # one thread: a class's laptops and the shared server both stay responsive
    device: str = "auto"  # "auto": CUDA when present

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        """Built from a saved config.json: unknown keys refused, every value checked."""
        if not isinstance(data, dict):
            raise InputError("the run's training settings are not a JSON object")
        names = {f.name for f in fields(cls)}
        extra = sorted(set(data) - names)
        if extra:
            raise InputError(f"the run's training settings have unknown fields: {', '.join(extra)[:200]}")
        config = cls(**{k: data[k] for k in names if k in data})
        config.validate()
        return config

    def validate(self) -> "TrainConfig":
        for name, high in LIMITS.items():
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= high:
                raise InputError(f"{name} must be a whole number from 1 to {high:,}, got {str(v)[:40]}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or not 0 <= self.seed <= SEED_MAX:
            raise InputError(f"seed must be a whole number from 0 to 2**63 − 1, got {str(self.seed)[:40]}")
        for name, low, high in (("lr", 0.0, 1.0), ("embed_lr_scale", 0.0, 100.0), ("caption_dropout", 0.0, 0.9)):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or not low <= v <= high \
                    or (v == low and name != "caption_dropout"):
                raise InputError(f"{name} must be a number from {low} to {high}"
                                 f"{'' if name == 'caption_dropout' else ' (not 0)'}, got {str(v)[:40]}")
        if self.time_sampling not in fm.TIME_SAMPLINGS:
            raise InputError(f"time_sampling must be one of {', '.join(fm.TIME_SAMPLINGS)}, got {str(self.time_sampling)[:40]}")
        if self.device not in DEVICES:
            raise InputError(f"device must be one of {', '.join(DEVICES)}, got {str(self.device)[:40]}")
        return self


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("device cuda was asked for, but torch finds no CUDA GPU here")
    return torch.device(name)


def new_model(config: TrainConfig) -> TextToImage:
    """The untrained model; its initial weights come from the run's own "init" stream."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(stream(config.seed, "init").initial_seed())
        return TextToImage(config.width, config.depth, config.text_dim, config.cond_dim)


def optimizer(model: TextToImage, config: TrainConfig) -> torch.optim.Adam:
    """Adam; the token embeddings learn `embed_lr_scale` times faster than the rest.

    They start tiny (std 0.02, as in CLIP), and a caption is a mean of them: at the base rate a digit's
    word took long to outgrow the filler words ("a", "drawing", "of"). Measured: 10× gave 99.8 % vs
    95 % correct digits after 1,000 steps. A row that never gets a gradient still never moves.
    """
    embed = model.text.embed.weight
    rest = [p for p in model.parameters() if p is not embed]
    return torch.optim.Adam([{"params": rest}, {"params": [embed], "lr": config.lr * config.embed_lr_scale}],
                            lr=config.lr)


@dataclass
class Progress:
    """What a training job reports: the step, the last logged loss, the training CPU seconds so far, and a
    copy of the loss history (one row per 10 steps)."""
    step: int
    steps: int
    loss: float
    cpu_seconds: float
    history: list[dict] = field(default_factory=list)


@dataclass
class Trained:
    model: TextToImage
    config: TrainConfig
    seen_ids: tuple[int, ...]  # the CLIP ids that appeared in a (not dropped) training caption
    history: list[dict] = field(default_factory=list)  # {"step", "loss", "cpu_seconds"}
    steps_trained: int = 0
    cpu_seconds: float = 0.0  # CPU time of the training steps themselves (this thread)
    stopped: bool = False


def drop_captions(tokens: Tokens, drop: torch.Tensor, empty: Tokens) -> Tokens:
    """The captions with the `drop` rows replaced by the empty prompt's tokens."""
    ids, mask = tokens.ids.clone(), tokens.mask.clone()
    width = empty.ids.shape[1]
    ids[drop] = 0
    mask[drop] = False
    ids[drop, :width] = empty.ids[0]
    mask[drop, :width] = empty.mask[0]
    return Tokens(ids, mask)


def train(config: TrainConfig, *, progress: Callable[[Progress], None] | None = None, report_every: int = 50,
          should_stop: Callable[[], bool] | None = None,
          on_step: Callable[[int, float, TextToImage], None] | None = None) -> Trained:
    """Train from scratch. `progress` is called every `report_every` steps; `should_stop` is polled each step
    (a stopped run keeps what it learned); `on_step(step, cpu_seconds, model)` lets a benchmark look at the
    model mid-run without its time counting as training."""
    config.validate()
    device = resolve_device(config.device)
    with limited_threads(config.num_threads):
        digits = load_digits()
        x_all = to_model(digits.images).to(device)
        bank = caption_bank(digits)
        captions = tokenize(bank.texts).to(device)
        empty = tokenize([EMPTY_PROMPT]).to(device)
        key, offsets, counts = bank.key.to(device), bank.offsets.to(device), bank.counts.to(device)
        model = new_model(config).to(device)
        opt = optimizer(model, config)
        g = {name: stream(config.seed, name, device) for name in ("data", "caption", "dropout", "time", "noise")}
        seen = torch.zeros(model.text.embed.num_embeddings, dtype=torch.bool, device=device)
        history: list[dict] = []
        cpu = 0.0
        window: list[torch.Tensor] = []
        step = 0
        stopped = False
        while step < config.steps:
            if should_stop is not None and should_stop():
                stopped = True
                break
            t0 = time.thread_time()
            idx = torch.randint(len(x_all), (config.batch,), generator=g["data"], device=device)
            k = key[idx]
            u = torch.rand(config.batch, generator=g["caption"], device=device)
            cap = offsets[k] + (u * counts[k]).long().clamp_max(counts[k] - 1)
            drop = torch.rand(config.batch, generator=g["dropout"], device=device) < config.caption_dropout
            tokens = drop_captions(captions[cap], drop, empty)
            seen[tokens.ids[tokens.mask]] = True
            x0 = x_all[idx]
            t = fm.sample_times(config.batch, config.time_sampling, g["time"], device=device)
            eps = torch.randn(x0.shape, generator=g["noise"], device=device)
            loss = fm.flow_matching_loss(model, x0, eps, t, tokens)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            window.append(loss.detach())
            step += 1
            cpu += time.thread_time() - t0
            if step % HISTORY_EVERY == 0 or step == config.steps:
                history.append({"step": step, "loss": torch.stack(window).mean().item(), "cpu_seconds": cpu})
                window = []
            if progress is not None and (step % report_every == 0 or step == config.steps):
                progress(Progress(step, config.steps, history[-1]["loss"] if history else float("nan"), cpu,
                                  list(history)))
            if on_step is not None:
                on_step(step, cpu, model)
        model.eval()
        seen_ids = tuple(int(i) for i in seen.nonzero().flatten().tolist())
    return Trained(model=model.cpu(), config=config, seen_ids=seen_ids, history=history, steps_trained=step,
                   cpu_seconds=cpu, stopped=stopped)
