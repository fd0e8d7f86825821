"""Training a velocity network with the flow-matching loss, on the lab's one training loop.

The loop (models/lab/training.py) brings callbacks every `log_every` steps, stop event,
resume, EMA, cosine learning rate and NaN guard. Only what differs is written here: the
config, the network, the batch's partners (for reflow each point's fixed noise, for
guidance its label) and the objective

    t ~ uniform or logit-normal,  x_t = (1 − t)·x₀ + t·ε,  loss = ‖v_θ(x_t, t) − (ε − x₀)‖²

averaged over the batch and the two coordinates. For classifier-free guidance the label is
replaced by "no class" with probability `label_dropout`, so one network learns both the
conditional and the unconditional velocity (Ho & Salimans 2022).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import torch

from models.core.errors import InputError
from models.lab.checks import check_field_types, check_loop_settings, short_repr
from models.lab.flow_matching import TIME_SAMPLINGS, drop_labels, flow_matching_loss, sample_times
from models.lab.training import Trainer

from .defaults import DEFAULTS
from .network import VelocityNetwork

MAX_CLASSES = 64
MAX_REFLOWS = 10

_FIELD_TYPES = {"model": str, "hidden": int, "depth": int, "time_sampling": str, "steps": int, "batch_size": int,
                "lr": float, "lr_decay": bool, "ema": float, "seed": int, "device": str, "num_threads": int | None,
                "log_every": int, "num_classes": int, "label_dropout": float, "reflow": int}


@dataclass
class FlowConfig:
    """Everything that defines a flow-matching run (saved in the run's config.json)."""

    model: str = "flow"
    hidden: int = 128
    depth: int = 3
    time_sampling: str = "logit-normal"   # SD3 (Esser et al. 2024); "uniform" is the original rectified flow
    steps: int = DEFAULTS.train_steps
    batch_size: int = 256
    lr: float = 5e-3
    lr_decay: bool = True                 # cosine decay to 5% of lr over `steps`
    ema: float = 0.99
    seed: int = 0
    device: str = "cpu"
    num_threads: int | None = None
    log_every: int = 50
    num_classes: int = 0                  # > 0: class-conditional with label dropout (guidance)
    label_dropout: float = 0.1
    reflow: int = 0                       # 0: trained on (data, fresh noise); k: the k-th reflow

    def validate(self) -> None:
        """Types first, then bounds: a config may come from an uploaded run, so nothing is trusted."""
        check_field_types(self, _FIELD_TYPES)
        if self.model != "flow":
            raise InputError(f"a flow config has model 'flow' (got {short_repr(self.model)})")
        if self.time_sampling not in TIME_SAMPLINGS:
            raise InputError(f"unknown time sampling {short_repr(self.time_sampling)}: use "
                             f"{' or '.join(TIME_SAMPLINGS)}")
        check_loop_settings(self, ("hidden", "depth", "steps", "batch_size", "log_every", "num_threads"))
        if not 0 <= self.num_classes <= MAX_CLASSES:
            raise InputError(f"num classes must be from 0 to {MAX_CLASSES} (got {self.num_classes})")
        if not 0 <= self.label_dropout < 1:
            raise InputError(f"label dropout must be in [0, 1) (got {self.label_dropout})")
        if not 0 <= self.reflow <= MAX_REFLOWS:
            raise InputError(f"reflow must be from 0 to {MAX_REFLOWS} (got {self.reflow})")

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def conditional(self) -> bool:
        return self.num_classes > 0


class FlowObjective:
    """The flow-matching loss with FLUX's path: t drawn by `time_sampling`, ε fresh unless the batch fixes it
    (reflow), and for a conditional flow each label dropped to "no class" with probability `label_dropout`."""

    levels = 0

    def __init__(self, time_sampling: str, label_dropout: float, null_label: int):
        self.time_sampling, self.label_dropout, self.null_label = time_sampling, label_dropout, null_label

    def loss(self, network: torch.nn.Module, batch, generator: torch.Generator) -> tuple[torch.Tensor, None]:
        x0, eps, labels = batch
        if eps is None:
            eps = torch.randn(x0.shape, generator=generator, device=x0.device)
        t = sample_times(len(x0), self.time_sampling, generator, x0.device)
        if labels is not None:
            labels = drop_labels(labels, self.label_dropout, self.null_label, generator)
        return flow_matching_loss(network, x0, eps, t, labels), None


def flow_trainer(config: FlowConfig, data: torch.Tensor, *, labels: torch.Tensor | None = None,
                 noise: torch.Tensor | None = None) -> Trainer:
    """The lab's training loop for v_θ on standardized points; `noise` (reflow) fixes each point's ε partner;
    `labels` for guidance."""
    config.validate()
    if data.ndim != 2 or data.shape[1] != 2 or len(data) < 2:
        raise InputError("training data must be an (N, 2) array of at least 2 points")
    if noise is not None and noise.shape != data.shape:
        raise InputError("reflow pairs: the noise must have the same shape as the points")
    if config.conditional:
        if labels is None or labels.shape != (len(data),):
            raise InputError("a class-conditional flow needs one label per training point")
        if int(labels.min()) < 0 or int(labels.max()) >= config.num_classes:
            raise InputError(f"labels must lie in 0…{config.num_classes - 1}")
    config = replace(config)
    objective = FlowObjective(config.time_sampling, config.label_dropout, config.num_classes)
    partners = (None if noise is None else noise.float(), labels.long() if config.conditional else None)
    return Trainer(config, objective, lambda: VelocityNetwork(config.hidden, config.depth, config.num_classes),
                   data, partners=partners)
