"""The straight-line probability path FLUX trains on, and what a velocity tells about the score.

Convention (SD3/FLUX, diffusers' FlowMatchEulerDiscreteScheduler):

    x_t = (1 − t)·x₀ + t·ε,   t ∈ [0, 1],  ε ~ N(0, I),  t = 1 is pure noise
    target velocity  dx_t/dt = ε − x₀,      loss ‖v_θ(x_t, t) − (ε − x₀)‖²

The best v is the average of ε − x₀ over all pairs that pass through x at time t:
v(x, t) = E[ε − x₀ | x_t = x]. Because x = (1 − t)·E[x₀|x] + t·E[ε|x] holds exactly,
one network output gives both posterior means, and with Tweedie's formula the score:

    E[ε | x_t]  = x + (1 − t)·v
    E[x₀ | x_t] = x − t·v
    ∇log p_t(x) = −E[ε | x_t]/t = −(x + (1 − t)·v)/t
"""

from __future__ import annotations

import math

import torch

TIME_SAMPLINGS = ("logit-normal", "uniform")


def interpolate(x0: torch.Tensor, eps: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """x_t = (1 − t)·x₀ + t·ε (t of shape (N,) or a number)."""
    t = _column(t, x0)
    return (1 - t) * x0 + t * eps


def target_velocity(x0: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """d x_t / dt along one straight line: ε − x₀ (the same at every t)."""
    return eps - x0


def sample_times(n: int, how: str, generator: torch.Generator, device=None) -> torch.Tensor:
    """Training times: uniform on (0, 1), or logit-normal (SD3/FLUX: t = sigmoid(N(0, 1)), more draws mid-path)."""
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
