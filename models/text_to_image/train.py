"""Training the text-to-image model: rectified flow on the digits, captions through CLIP tokens, on the
lab's one training loop (models/lab/training.py).

Each step: a batch of digits, one caption each (drawn from the image's captions, `captions.py`), 10 % of
captions dropped to the empty prompt (so the same network gives the unconditional velocity that
classifier-free guidance needs), times t from the logit-normal, and the flow-matching loss
‖v_θ(x_t, t, text) − (ε − x₀)‖² on x_t = (1 − t)·x₀ + t·ε (`models.lab.flow_matching`). The objective
below is that step; the loop brings the batch, Adam, the stop, the CPU-time clock and the NaN guard.

Every random draw has its own generator (`stream`): which digits, which captions, which are dropped,
the times, the noise and the initial weights. Changing one (say, the caption templates) leaves the
others' draws as they were, and no stream replays another's numbers.
"""

from __future__ import annotations

import math
import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Callable

import torch

from models.core.clip_tokenizer import VOCAB_SIZE
from models.core.errors import InputError
from models.lab import flow_matching as fm
from models.lab import training
from models.lab.checks import SEED_MAX
from models.lab.streams import stream

from .captions import CaptionBank, caption_bank
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


class CaptionedDigits:
    """The objective: the flow-matching loss on a batch of digits, each with one of its captions (or the
    empty prompt), t and ε drawn from streams of their own. It records which CLIP ids a training caption
    used (`seen`): the others' embeddings never get a gradient."""

    levels = 0
    DRAWS = ("data", "caption", "dropout", "time", "noise")  # "data": the loop draws the batch's rows

    def __init__(self, config: TrainConfig, bank: CaptionBank, device: torch.device):
        self.config = config
        self.captions = tokenize(bank.texts).to(device)
        self.empty = tokenize([EMPTY_PROMPT]).to(device)
        self.offsets, self.counts = bank.offsets.to(device), bank.counts.to(device)
        self.streams = {name: stream(config.seed, name, device) for name in self.DRAWS}
        self.seen = torch.zeros(VOCAB_SIZE, dtype=torch.bool, device=device)

    def parameter_groups(self, model: TextToImage) -> list[dict]:
        """The token embeddings learn `embed_lr_scale` times faster than the rest.

        They start tiny (std 0.02, as in CLIP), and a caption is a mean of them: at the base rate a digit's
        word took long to outgrow the filler words ("a", "drawing", "of"). Measured: 10× gave 99.8 % vs
        95 % correct digits after 1,000 steps. A row that never gets a gradient still never moves.
        """
        embed = model.text.embed.weight
        return [{"params": [p for p in model.parameters() if p is not embed]},
                {"params": [embed], "lr_scale": self.config.embed_lr_scale}]

    def loss(self, model: TextToImage, batch, generator: torch.Generator) -> tuple[torch.Tensor, None]:
        x0, k = batch  # the digits and their caption-bank keys, rows drawn by the loop from streams["data"]
        g, n = self.streams, len(x0)
        u = torch.rand(n, generator=g["caption"], device=x0.device)
        cap = self.offsets[k] + (u * self.counts[k]).long().clamp_max(self.counts[k] - 1)
        drop = torch.rand(n, generator=g["dropout"], device=x0.device) < self.config.caption_dropout
        tokens = drop_captions(self.captions[cap], drop, self.empty)
        self.seen[tokens.ids[tokens.mask]] = True
        t = fm.sample_times(n, self.config.time_sampling, g["time"], device=x0.device)
        eps = torch.randn(x0.shape, generator=g["noise"], device=x0.device)
        return fm.flow_matching_loss(model, x0, eps, t, tokens), None


def train(config: TrainConfig, *, progress: Callable[[Progress], None] | None = None, report_every: int = 50,
          stop_event: threading.Event | None = None,
          on_log: Callable[[int, float, TextToImage], None] | None = None) -> Trained:
    """Train from scratch. The loop logs every HISTORY_EVERY steps; `progress` is called at the first log at
    or past each multiple of `report_every`, and `on_log(step, cpu_seconds, model)` at every log (a
    benchmark or a preview looks at the model mid-run without its time counting as training). A run stopped
    by `stop_event` keeps what it learned."""
    config.validate()
    device = resolve_device(config.device)
    digits = load_digits()
    bank = caption_bank(digits)
    objective = CaptionedDigits(config, bank, device)
    loop = training.LoopConfig(steps=config.steps, batch_size=config.batch, lr=config.lr, seed=config.seed,
                               device=str(device), num_threads=config.num_threads, log_every=HISTORY_EVERY)
    trainer = training.Trainer(loop, objective, lambda: new_model(config), to_model(digits.images),
                               partners=(bank.key,))
    next_report = report_every

    def logged(p: training.Progress) -> None:
        nonlocal next_report
        if progress is not None and (p.step >= next_report or p.step == config.steps):
            next_report = (p.step // report_every + 1) * report_every
            progress(Progress(p.step, config.steps, p.loss, p.cpu_seconds, history(trainer)))
        if on_log is not None:
            on_log(p.step, p.cpu_seconds, trainer.network)

    state = trainer.run(logged, stop_event)
    model = trainer.network.eval()
    seen_ids = tuple(int(i) for i in objective.seen.nonzero().flatten().tolist())
    return Trained(model=model.cpu(), config=config, seen_ids=seen_ids, history=history(trainer),
                   steps_trained=state.step, cpu_seconds=state.cpu_seconds, stopped=state.step < config.steps)


def history(trainer: training.Trainer) -> list[dict]:
    """The loop's history as this model's runs keep it: step, loss and training CPU seconds."""
    return [{"step": r["step"], "loss": r["loss"], "cpu_seconds": r["cpu_seconds"]} for r in trainer.state.history]
