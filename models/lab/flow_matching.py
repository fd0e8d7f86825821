"""Flow matching with FLUX's convention, written once for every flow here (2-D points, 8×8 images as 64-D vectors).

Convention (SD3/FLUX, diffusers' FlowMatchEulerDiscreteScheduler):

    x_t = (1 − t)·x₀ + t·ε,   t ∈ [0, 1],  ε ~ N(0, I),  t = 1 is pure noise
    target velocity  dx_t/dt = ε − x₀,      loss ‖v_θ(x_t, t) − (ε − x₀)‖²

The best v is the average of ε − x₀ over all pairs that pass through x at time t:
v(x, t) = E[ε − x₀ | x_t = x]. Because x = (1 − t)·E[x₀|x] + t·E[ε|x] holds exactly,
one network output gives both posterior means, and with Tweedie's formula the score:

    E[ε | x_t]  = x + (1 − t)·v
    E[x₀ | x_t] = x − t·v
    ∇log p_t(x) = −E[ε | x_t]/t = −(x + (1 − t)·v)/t

Sampling integrates dx/dt = v(x, t) from t = 1 (noise) to t = 0 (data):

* `euler` — FLUX's sampler: x ← x + (t_next − t)·v(x, t), one network call per step
  (FLUX.1-schnell: 4 steps). If the paths were straight lines, one step would be exact.
* `heun`  — Euler's step, then the average of the slopes at both ends (2 calls per step).

`guided_velocity` is classifier-free guidance: v = v_uncond + w·(v_cond − v_uncond), so
w = 0 is unconditional and w = 1 the plain conditional velocity (one pass, no second call).
Training for guidance drops the label to "no class" with probability p (`drop_labels`), so one
network learns both velocities (Ho & Salimans 2022).

Every sampler runs without autograd and returns a `FlowSamples` with snapshots every `stride`
steps (`frame_sigmas` holds the time t of each frame) and, for straightness, the energy
Σ‖v‖²·Δt each path spent. Tensors are (N, D): D = 2 for points, 64 for an 8×8 image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from .sampler_result import SamplerResult
from .streams import PRIOR, stream

TIME_SAMPLINGS = ("logit-normal", "uniform")
SAMPLERS = ("euler", "heun")
VelocityFn = Callable[[torch.Tensor, float], torch.Tensor]


def interpolate(x0: torch.Tensor, eps: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """x_t = (1 − t)·x₀ + t·ε (t of shape (N,) or a number)."""
    t = _column(t, x0)
    return (1 - t) * x0 + t * eps


def target_velocity(x0: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """d x_t / dt along one straight line: ε − x₀ (the same at every t)."""
    return eps - x0


def sample_times(n: int, how: str, generator: torch.Generator, device=None) -> torch.Tensor:
    """Training times: uniform on (0, 1), or logit-normal (SD3, Esser et al. 2024: t = sigmoid(N(0, 1)), more
    draws mid-path)."""
    if how == "uniform":
        return torch.rand(n, generator=generator, device=device)
    if how == "logit-normal":
        return torch.sigmoid(torch.randn(n, generator=generator, device=device))
    raise ValueError(f"unknown time sampling {how!r} (use {' or '.join(TIME_SAMPLINGS)})")


def time_grid(steps: int, shift: float = 1.0) -> torch.Tensor:
    """steps + 1 times from 1 (noise) down to 0 (data), evenly spaced before the shift.

    shift s > 1 maps t → s·t / (1 + (s − 1)·t) (the time shift of SD3/FLUX's schedulers),
    which spends more of the steps near the noise end; s = 1 is the plain even grid.
    """
    if steps < 1:
        raise ValueError("the number of steps must be at least 1")
    if not (math.isfinite(shift) and shift > 0):
        raise ValueError("the time shift must be a positive number")
    t = torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64)
    if shift != 1.0:
        t = shift * t / (1 + (shift - 1) * t)
    return t


def flow_matching_loss(network, x0: torch.Tensor, eps: torch.Tensor, t: torch.Tensor, *cond) -> torch.Tensor:
    """‖v_θ(x_t, t, *cond) − (ε − x₀)‖², averaged over the batch and the coordinates."""
    v = network(interpolate(x0, eps, t), t, *cond)
    return ((v - target_velocity(x0, eps)) ** 2).mean()


def drop_labels(labels: torch.Tensor, p: float, null_label: int, generator: torch.Generator) -> torch.Tensor:
    """Each label replaced by `null_label` ("no class") with probability p: one network learns both
    the conditional and the unconditional velocity, which guidance mixes."""
    drop = torch.rand(len(labels), generator=generator, device=labels.device) < p
    return torch.where(drop, torch.full_like(labels, null_label), labels)


# ----------------------------------------------------------------------------- score ↔ velocity

def velocity_to_eps(x: torch.Tensor, t, v: torch.Tensor) -> torch.Tensor:
    """E[ε | x_t = x] = x + (1 − t)·v."""
    return x + (1 - _column(t, x)) * v


def velocity_to_x0(x: torch.Tensor, t, v: torch.Tensor) -> torch.Tensor:
    """E[x₀ | x_t = x] = x − t·v (the flow's "denoised" guess)."""
    return x - _column(t, x) * v


def velocity_to_score(x: torch.Tensor, t, v: torch.Tensor) -> torch.Tensor:
    """∇log p_t(x) = −(x + (1 − t)·v)/t (t > 0: at t = 0 the data's score is not defined by v)."""
    t = _column(t, x)
    return -(x + (1 - t) * v) / t


def score_to_velocity(x: torch.Tensor, t, score: torch.Tensor) -> torch.Tensor:
    """The inverse: v = −(x + t·score)/(1 − t) (t < 1: at t = 1 every velocity gives the same score −x)."""
    t = _column(t, x)
    return -(x + t * score) / (1 - t)


def sigma_of_time(t: float) -> float:
    """The NCSN noise level whose blur the path shows at time t: x_t/(1 − t) = x₀ + σ·ε with σ = t/(1 − t)."""
    return t / (1 - t)


def time_of_sigma(sigma: float) -> float:
    """The inverse of `sigma_of_time`: t = σ/(1 + σ)."""
    return sigma / (1 + sigma)


def _column(t, like: torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(t, dtype=like.dtype, device=like.device)
    return t[:, None] if t.dim() == 1 else t


# ----------------------------------------------------------------------------- sampling

@dataclass
class FlowSamples(SamplerResult):
    energy: torch.Tensor | None = None   # (N,) Σ‖v‖²·Δt along each path (standardized units)
    bend: torch.Tensor | None = None     # (N,) energy − ‖x_end − x_start‖² ≥ 0: 0 for a straight path


def noise_start(n: int, seed: int = 0, dim: int = 2) -> torch.Tensor:
    """n draws of ε ~ N(0, I) in `dim` (standardized) coordinates, from the seed's "prior" stream (a
    training generator seeded alike would otherwise hand the sampler its own training noise)."""
    if n < 1:
        raise ValueError("the number of samples must be at least 1")
    return torch.randn(n, dim, generator=stream(seed, PRIOR))


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


def guided_velocity(network: torch.nn.Module, labels: torch.Tensor | None, guidance: float, *,
                    interval: tuple[float, float] | None = None) -> VelocityFn:
    """A velocity function for `integrate`: unconditional (labels None), or guided towards `labels`.

    w = 1 needs only the conditional pass; any other w runs both (the classic CFG cost: 2×).
    `interval` (t_low, t_high): guidance only while t_low < t ≤ t_high, the plain conditional velocity
    elsewhere (Kynkäänniemi et al. 2024: guidance near pure noise drags samples along, and near the data
    it mostly amplifies the network's errors).
    """
    if interval is not None and not 0.0 <= interval[0] < interval[1] <= 1.0:
        raise ValueError(f"a guidance interval is 0 ≤ t_low < t_high ≤ 1 (got {interval})")

    def velocity(x: torch.Tensor, t: float) -> torch.Tensor:
        if labels is None:
            return network(x, t)
        cond = network(x, t, labels)
        inside = interval is None or interval[0] < float(t) <= interval[1]
        if guidance == 1.0 or not inside:
            return cond
        uncond = network(x, t, None)
        return uncond + guidance * (cond - uncond)
    return velocity

