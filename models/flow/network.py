"""The velocity network: a small MLP v_θ(x, t[, class]) → a 2-D velocity.

It sees x, the time t as sin/cos features (so it can bend its field quickly near t = 0,
where the data's detail lives) and, for a class-conditional flow, a one-hot class with one
extra slot meaning "no class" (classifier-free guidance trains both with one network).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from models.lab.networks import mlp

N_FREQ = 8


class VelocityNetwork(nn.Module):
    kind = "flow"

    def __init__(self, hidden: int = 128, depth: int = 3, num_classes: int = 0):
        super().__init__()
        self.num_classes = int(num_classes)
        extra = 2 * N_FREQ + 1 + (self.num_classes + 1 if self.num_classes else 0)
        self.net = mlp(2 + extra, 2, hidden, depth)
        self.register_buffer("freqs", math.pi * torch.exp(torch.linspace(0, math.log(16.0), N_FREQ)))

    def embed_time(self, t: torch.Tensor) -> torch.Tensor:
        a = t[:, None] * self.freqs[None]
        return torch.cat([t[:, None], torch.sin(a), torch.cos(a)], dim=1)

    def forward(self, x: torch.Tensor, t: torch.Tensor | float, labels: torch.Tensor | None = None) -> torch.Tensor:
        """labels: class ids 0…C−1, or C (= `null_label`) for "no class"; None means no class for every row."""
        t = torch.as_tensor(t, dtype=x.dtype, device=x.device)
        if t.dim() == 0:
            t = t.expand(x.shape[0])
        parts = [x, self.embed_time(t)]
        if self.num_classes:
            if labels is None:
                labels = torch.full((x.shape[0],), self.num_classes, dtype=torch.long, device=x.device)
            parts.append(nn.functional.one_hot(labels.long(), self.num_classes + 1).to(x.dtype))
        return self.net(torch.cat(parts, dim=1))

    @property
    def null_label(self) -> int:
        return self.num_classes
