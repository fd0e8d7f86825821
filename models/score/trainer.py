"""A score model's training settings (`TrainConfig`), and its trainer: the lab's one loop with a score objective.

`score_trainer(config, points)` fills the σ's the config leaves open from the data and hands
the loop (models/lab/training.py) the network and the objective: one σ (`SingleSigmaObjective`)
or a ladder of them (`NoiseLadderObjective`, an NCSN), both in objectives.py.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import torch

from models.core.errors import InputError
from models.lab.checks import LIMITS, check_field_types, check_loop_settings, short_repr
from models.lab.training import Trainer

from .networks import build_network
from .noise import default_sigma_max, default_sigma_min, geometric_sigmas
from .objectives import OBJECTIVES, NoiseLadderObjective, SingleSigmaObjective

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
        check_field_types(self, _FIELD_TYPES)
        if self.model not in MODEL_KINDS:
            raise InputError(f"unknown model {short_repr(self.model)}: use 'single-sigma' or 'ncsn'")
        if self.objective not in OBJECTIVES:
            raise InputError(f"unknown objective {short_repr(self.objective)}: use one of {', '.join(OBJECTIVES)}")
        if self.conditioning not in CONDITIONINGS:
            raise InputError(f"unknown conditioning {short_repr(self.conditioning)}: use 'embedding' or 'scale'")
        check_loop_settings(self, LIMITS)
        for name in ("sigma", "sigma_max", "sigma_min"):
            v = getattr(self, name)
            if v is not None and not (math.isfinite(v) and v > 0):
                raise InputError(f"{name.replace('_', ' ').replace('sigma', 'σ')} must be positive (got {v})")
        if self.model == "ncsn" and self.levels < 2:
            raise InputError("the NCSN ladder needs at least 2 noise levels")

    def to_dict(self) -> dict:
        return asdict(self)


# A single-σ model's default noise level, as a share of the data's spread.
SINGLE_SIGMA_SHARE = 0.1


def default_single_sigma(points: torch.Tensor) -> float:
    """The single-σ model's default σ: 0.1 × the data's spread (mean per-axis standard deviation)."""
    return SINGLE_SIGMA_SHARE * float(points.std(0).mean())


def score_trainer(config: TrainConfig, data: torch.Tensor) -> Trainer:
    """The lab's training loop for a score network on standardized points (σ's in the same units).

    σ's left as None are filled in from the data (the ladder's ends, or the single σ), in the
    returned trainer's copy of the config; the ladder itself is `trainer.objective.sigmas`.
    """
    config.validate()
    if data.ndim != 2 or data.shape[1] != 2 or len(data) < 2:
        raise InputError("training data must be an (N, 2) array of at least 2 points")
    config = replace(config)
    data = data.float()
    if config.model == "ncsn":
        config.sigma_max = config.sigma_max or default_sigma_max(data)
        config.sigma_min = config.sigma_min or default_sigma_min(data)
        objective = NoiseLadderObjective(geometric_sigmas(config.sigma_max, config.sigma_min, config.levels),
                                         config.objective, config.sigma_jitter)
    else:
        config.sigma = config.sigma or round(default_single_sigma(data), 4)
        objective = SingleSigmaObjective(config.sigma, config.objective)

    def network() -> torch.nn.Module:
        return build_network(config.model, hidden=config.hidden, depth=config.depth, sigma=config.sigma,
                             conditioning=config.conditioning)
    return Trainer(config, objective, network, data)
