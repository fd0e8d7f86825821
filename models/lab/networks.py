"""The MLP every 2-D lab network is built from."""

from __future__ import annotations

from torch import nn


def mlp(in_dim: int, out_dim: int, hidden: int, depth: int) -> nn.Sequential:
    """`depth` hidden layers of width `hidden` with SiLU (smooth, so Jacobians are defined)."""
    layers: list[nn.Module] = []
    d = in_dim
    for _ in range(depth):
        layers += [nn.Linear(d, hidden), nn.SiLU()]
        d = hidden
    layers.append(nn.Linear(d, out_dim))
    return nn.Sequential(*layers)
