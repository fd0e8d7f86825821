"""The Bayes-optimal floor of the score-matching losses, for a finite training set.

A network's DSM loss at level σ can only approach, never beat, the loss of the exact
score of the training points smoothed at σ. The loss chart draws that floor so a
class can see how close training got ("a perfect network would stop here").
"""

from __future__ import annotations

import hashlib
import math
import threading

import torch

DIM = 2
FLOOR_QUERIES = 400       # noisy points per level (see LossFloors)


def _posterior_variance_floor(points: torch.Tensor, sigmas: torch.Tensor, n: int, seed: int,
                              chunk: int = 256) -> float:
    """½E‖σ s*(x̃) + z‖² for the smoothed point set, with z integrated out exactly.

    For x̃ = x + σz and the optimal score s* = ∇log p_σ, E[z | x̃] = −σ s*(x̃), so
    the Bayes-optimal DSM loss is E_x̃[ tr Cov(z | x̃) ]/2 = E_x̃[ tr Cov(x | x̃) ]/(2σ²),
    where x | x̃ is a softmax over the training points. Averaging the posterior
    variance instead of ½‖σs*+z‖² ("Rao–Blackwellizing") removes the z noise: about
    as accurate as `reference.dsm_loss_floor` with 4–10× fewer queries.
    Each query may have its own σ (the NCSN loss jitters σ within a ladder bin).
    """
    g = torch.Generator().manual_seed(seed)
    pts = points.float()
    idx = torch.randint(len(pts), (n,), generator=g)
    z = torch.randn(n, DIM, generator=g)
    x_noisy = pts[idx] + sigmas[:, None].float() * z
    sq = (pts**2).sum(1)
    total = 0.0
    for i in range(0, n, chunk):
        q, s = x_noisy[i:i + chunk], sigmas[i:i + chunk].float()
        d2 = ((q**2).sum(1, keepdim=True) - 2 * q @ pts.T + sq[None]).clamp_(min=0)  # ‖q − x_j‖²
        r = torch.softmax(-d2 / (2 * s[:, None] ** 2), dim=1)
        # Var(x | q) measured from q: both terms are O(σ²), so float32 does not cancel badly.
        var = ((r * d2).sum(1) - ((r @ pts - q) ** 2).sum(1)).clamp(min=0)
        total += float((var / (2 * s**2)).sum())
    return total / n


_floor_cache: dict[tuple, list[float]] = {}
_floor_lock = threading.Lock()


class LossFloors:
    """The Bayes-optimal DSM loss at each level of the ladder, for THIS training set.

    A network cannot go below these numbers on average: they are the losses of the exact
    score of the training points smoothed at σ (what a perfect network would learn).
    `jitter` matches `ncsn_loss(..., jitter=True)`: σ log-uniform within half a ladder step.
    Computed one level at a time (`step()`), so a stop request is honoured between levels;
    finished results are cached per process (same points + ladder → same floors), so a
    second Train on the same data gets them at once.
    """

    def __init__(self, points: torch.Tensor, sigmas, jitter: bool = False, n: int = FLOOR_QUERIES,
                 seed: int = 0):
        self.points = points.detach().cpu()
        self.sigmas = torch.as_tensor(sigmas, dtype=torch.float64).flatten().cpu()
        self.jitter, self.n, self.seed = bool(jitter), n, seed
        self.key = (hashlib.sha1(self.points.float().numpy().tobytes()).hexdigest(),
                    tuple(round(float(v), 9) for v in self.sigmas), self.jitter, n, seed)
        with _floor_lock:
            cached = _floor_cache.get(self.key)
        self.values: list[float | None] = list(cached) if cached else [None] * len(self.sigmas)

    @property
    def done(self) -> bool:
        return all(v is not None for v in self.values)

    def step(self) -> None:
        """Compute the next missing level."""
        i = self.values.index(None)
        s = float(self.sigmas[i])
        g = torch.Generator().manual_seed(self.seed + 7919 * i)
        per_query = torch.full((self.n,), s, dtype=torch.float64)
        if self.jitter and len(self.sigmas) > 1:
            half_step = 0.5 * math.log(float(self.sigmas[0] / self.sigmas[1]))
            per_query = per_query * torch.exp((2 * torch.rand(self.n, generator=g, dtype=torch.float64) - 1)
                                              * half_step)
        self.values[i] = _posterior_variance_floor(self.points, per_query, self.n, self.seed + i)
        if self.done:
            with _floor_lock:
                if len(_floor_cache) > 64:
                    _floor_cache.clear()
                _floor_cache[self.key] = list(self.values)

    def compute(self) -> list[float]:
        while not self.done:
            self.step()
        return list(self.values)


def loss_floors(points: torch.Tensor, sigmas, jitter: bool = False, n: int = FLOOR_QUERIES,
                seed: int = 0) -> list[float]:
    """All levels at once (see `LossFloors`)."""
    return LossFloors(points, sigmas, jitter, n, seed).compute()


def objective_offset(objective: str) -> float:
    """What to add to a DSM floor to get the floor of `objective`.

    Expanding ½E‖σs + z‖² and using E[z | x̃] = −σ∇log p_σ(x̃) gives, for ANY s,
        DSM(s) = σ²/2 E‖s − ∇log p_σ‖² − σ²/2 E‖∇log p_σ‖² + E‖z‖²/2,
    and the sliced/implicit losses are the same without the last term. So they equal the
    DSM loss minus d/2 = 1 (in 2-D): near the optimum they are negative — that is fine.
    """
    return 0.0 if objective == "dsm" else -DIM / 2
