"""Sampling a flow: integrate dx/dt = v(x, t) from t = 1 (noise) to t = 0 (data).

* `euler` — FLUX's sampler: x ← x + (t_next − t)·v(x, t), one network call per step
  (FLUX.1-schnell: 4 steps). If the paths were straight lines, one step would be exact.
* `heun`  — Euler's step, then the average of the slopes at both ends (2 calls per step).

`guided_velocity` is classifier-free guidance: v = v_uncond + w·(v_cond − v_uncond), so
w = 0 is unconditional and w = 1 the plain conditional velocity (one pass, no second call).

Every sampler runs without autograd, takes a seed, and returns a `SamplerResult` with
snapshots every `stride` steps (`frame_sigmas` holds the time t of each frame) and, for
straightness, the energy Σ‖v‖²·Δt each path spent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from models.score.samplers import SamplerResult

from .path import time_grid

VelocityFn = Callable[[torch.Tensor, float], torch.Tensor]
SAMPLERS = ("euler", "heun")


@dataclass
class FlowSamples(SamplerResult):
    energy: torch.Tensor | None = None   # (N,) Σ‖v‖²·Δt along each path (standardized units)
    bend: torch.Tensor | None = None     # (N,) energy − ‖x_end − x_start‖² ≥ 0: 0 for a straight path


def noise_start(n: int, seed: int = 0) -> torch.Tensor:
    """n draws of ε ~ N(0, I) (standardized coordinates), from a local generator."""
    if n < 1:
        raise ValueError("the number of samples must be at least 1")
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(int(seed)))


@torch.no_grad()
def integrate(velocity: VelocityFn, start: torch.Tensor, *, steps: int, sampler: str = "euler",
              shift: float = 1.0, stride: int = 0) -> FlowSamples:
    """Solve the ODE from `start` at t = 1 to t = 0 in `steps` steps on `time_grid(steps, shift)`."""
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r} (use {' or '.join(SAMPLERS)})")
    times = time_grid(steps, shift).tolist()
    x = start.float().clone()
    energy = torch.zeros(len(x))
    frames, labels, frame_times = [], [], []

    def record(i: int, t: float) -> None:
        if stride and (i % stride == 0 or i == steps):
            frames.append(x.detach().cpu().clone())
            labels.append(f"step {i}/{steps} · t = {t:.2f}")
            frame_times.append(t)

    record(0, times[0])
    for i, (t, t_next) in enumerate(zip(times[:-1], times[1:]), start=1):
        h = t_next - t  # negative: time runs backwards, from noise to data
        v = velocity(x, t)
        if sampler == "heun":
            v = 0.5 * (v + velocity(x + h * v, t_next))
        x = x + h * v
        energy += (v.float() ** 2).sum(1).cpu() * abs(h)
        record(i, t_next)
    # Cauchy–Schwarz: Σ‖v‖²Δt ≥ ‖Σ v Δt‖² (times summing to 1), equal only for a straight, even-speed path
    bend = energy - ((x.float().cpu() - start.float().cpu()) ** 2).sum(1)
    return FlowSamples(samples=x.cpu(), frames=frames, labels=labels, frame_sigmas=frame_times, energy=energy,
                       bend=bend)


def guided_velocity(network: torch.nn.Module, labels: torch.Tensor | None, guidance: float) -> VelocityFn:
    """A velocity function for `integrate`: unconditional (labels None), or guided towards `labels`.

    w = 1 needs only the conditional pass; any other w runs both (the classic CFG cost: 2×).
    """
    def velocity(x: torch.Tensor, t: float) -> torch.Tensor:
        if labels is None:
            return network(x, t)
        cond = network(x, t, labels)
        if guidance == 1.0:
            return cond
        uncond = network(x, t, None)
        return uncond + guidance * (cond - uncond)
    return velocity

