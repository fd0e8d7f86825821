"""What every sampler returns: the final points and, for the pages' players, snapshots along the way."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class SamplerResult:
    samples: torch.Tensor                                      # (N, 2) final points (CPU)
    frames: list[torch.Tensor] = field(default_factory=list)   # snapshots (CPU), first = start
    labels: list[str] = field(default_factory=list)            # one caption per frame
    frame_sigmas: list[float] = field(default_factory=list)    # the σ each frame was taken at
