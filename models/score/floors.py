"""The Bayes-optimal floors of the score-matching losses: of the training set, and of the population.

* Training-set floor (`LossFloors`): on average over the training points, no network's
  DSM loss at level σ can beat the exact score of those points smoothed at σ. At a
  large σ that is also (nearly) the population's floor; at a small σ it is the loss of
  a model that has MEMORIZED the training set (ncsn-mixture, 10,000 points, σ = 0.041:
  0.88, against 1.00 for the population). A generalizing network stays above it there.
* Population floor (`population_floors`): the same for the true distribution, known
  when the data is a Gaussian mixture. As σ → 0 it tends to d/2 = 1: the noise z
  cannot be predicted from x̃ at all.
"""

from __future__ import annotations

import hashlib
import math
import threading

import torch

from models.lab.datasets import DatasetSpec, dataset_mixture
from models.lab.mixture import GaussianMixture

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


def _jittered_sigmas(sigmas: torch.Tensor, i: int, n: int, jitter: bool, g: torch.Generator) -> torch.Tensor:
    """n copies of level i's σ; with `jitter`, log-uniform within half a ladder step (as `ncsn_loss`)."""
    per_query = torch.full((n,), float(sigmas[i]), dtype=torch.float64)
    if jitter and len(sigmas) > 1:
        half_step = 0.5 * math.log(float(sigmas[0] / sigmas[1]))
        per_query = per_query * torch.exp((2 * torch.rand(n, generator=g, dtype=torch.float64) - 1) * half_step)
    return per_query


class LossFloors:
    """The Bayes-optimal DSM loss at each level of the ladder, for THIS training set.

    A network cannot go below these numbers on average over the training points: they
    are the losses of the exact score of the training points smoothed at σ. At the
    smallest σ that exact score memorizes the points, so a network that generalizes
    stays above the floor there (see `population_floors`).
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
        g = torch.Generator().manual_seed(self.seed + 7919 * i)
        per_query = _jittered_sigmas(self.sigmas, i, self.n, self.jitter, g)
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


def _mixture_posterior_variance_floor(mixture: GaussianMixture, sigmas: torch.Tensor, seed: int) -> float:
    """E_x̃[tr Cov(x | x̃)]/(2σ²) for x ~ the mixture: the population's Bayes-optimal DSM loss.

    Given component k, x | x̃ ~ N(m_k, v_k I) with m_k = μ_k + s_k²/(s_k² + σ²)(x̃ − μ_k) and
    v_k = s_k²σ²/(s_k² + σ²); the responsibilities r_k ∝ w_k N(x̃; μ_k, (s_k² + σ²)I) mix them.
    """
    g = torch.Generator().manual_seed(seed)
    n = len(sigmas)
    w = torch.tensor(mixture.weights, dtype=torch.float64)
    mu = torch.tensor(mixture.means, dtype=torch.float64)
    s2 = torch.tensor(mixture.stds, dtype=torch.float64) ** 2
    k = torch.multinomial(w, n, replacement=True, generator=g)
    x = mu[k] + s2[k].sqrt()[:, None] * torch.randn(n, DIM, generator=g, dtype=torch.float64)
    sig2 = sigmas.double()[:, None] ** 2                                   # (n, 1)
    x_noisy = x + sig2.sqrt() * torch.randn(n, DIM, generator=g, dtype=torch.float64)
    var = s2[None] + sig2                                                  # (n, K)
    d2 = ((x_noisy[:, None] - mu[None]) ** 2).sum(-1)
    r = torch.softmax(torch.log(w)[None] - DIM / 2 * torch.log(var) - d2 / (2 * var), dim=1)
    gain = (s2[None] / var)[..., None]                                     # (n, K, 1)
    m = mu[None] + gain * (x_noisy[:, None] - mu[None])                    # (n, K, 2)
    v = s2[None] * sig2 / var
    mean = (r[..., None] * m).sum(1)
    trace = (r * (DIM * v + ((m - mean[:, None]) ** 2).sum(-1))).sum(1)   # law of total variance
    return float((trace / (2 * sig2[:, 0])).mean())


def population_floors(mixture: GaussianMixture, sigmas, jitter: bool = False, n: int = 2000,
                      seed: int = 0) -> list[float]:
    """The Bayes-optimal DSM loss of the TRUE distribution (a Gaussian mixture) at each level.

    What a perfect, generalizing network reaches: no finite-sample memorization in it.
    `sigmas` in the mixture's own coordinates (the loss is unchanged when data and σ are
    scaled together); `jitter` as in `LossFloors`. Tends to d/2 = 1 as σ → 0.
    Monte Carlo over n noisy points per level (ncsn-mixture, n = 2000: ±0.01 at σ ≈ 3, where
    it is noisiest); cached per process like the training-set floors.
    """
    key = (mixture, tuple(round(float(v), 9) for v in torch.as_tensor(sigmas).flatten()), bool(jitter), n, seed)
    with _floor_lock:
        cached = _population_cache.get(key)
    if cached is None:
        cached = _population_floors(mixture, torch.tensor(key[1], dtype=torch.float64), jitter, n, seed)
        with _floor_lock:
            if len(_population_cache) > 64:
                _population_cache.clear()
            _population_cache[key] = cached
    return list(cached)


_population_cache: dict[tuple, list[float]] = {}


def _population_floors(mixture: GaussianMixture, sigmas: torch.Tensor, jitter: bool, n: int, seed: int) -> list[float]:
    out = []
    for i in range(len(sigmas)):
        g = torch.Generator().manual_seed(seed + 7919 * i)
        out.append(_mixture_posterior_variance_floor(mixture, _jittered_sigmas(sigmas, i, n, jitter, g), seed + i))
    return out


def population_loss_floor(spec: DatasetSpec, floors: LossFloors | None, spread: float,
                          objective: str = "dsm") -> float | None:
    """The population counterpart of a run's mean training-set floor (same levels, same jitter, same
    objective), or None when the data is not a known mixture or the floors are not computed yet.

    `floors.sigmas` are in the network's normalized units; × `spread` puts them in the data's.
    """
    mixture = dataset_mixture(spec.name) if spec.kind == "builtin" else None
    if mixture is None or floors is None or not floors.done:
        return None
    values = population_floors(mixture, floors.sigmas * float(spread), jitter=floors.jitter)
    return sum(values) / len(values) + objective_offset(objective)


def objective_offset(objective: str) -> float:
    """What to add to a DSM floor to get the floor of `objective`.

    Expanding ½E‖σs + z‖² and using E[z | x̃] = −σ∇log p_σ(x̃) gives, for ANY s,
        DSM(s) = σ²/2 E‖s − ∇log p_σ‖² − σ²/2 E‖∇log p_σ‖² + E‖z‖²/2,
    and the sliced/implicit losses are the same without the last term. So they equal the
    DSM loss minus d/2 = 1 (in 2-D): near the optimum they are negative — that is fine.
    """
    return 0.0 if objective == "dsm" else -DIM / 2
