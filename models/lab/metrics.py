"""How close are generated 2-D points to the data? Sample metrics and score errors.

- `energy_distance`: one number for "same distribution?" (0 = identical sets). It sees
  big moves of mass (a missing mode, wrong weights) but barely sees blur, so pair it
  with `mode_shares` (for mixtures) and `precision_recall` (for blur / coverage).
- `mean_score_error` / `relative_score_error`: how far a network's score is from an
  exact reference score on a grid of points.
- `nearest_distances`: how close each sample is to its nearest training point, the
  tell-tale of memorization.

Inputs may be torch tensors or numpy arrays of shape (N, 2); results are python floats
or numpy arrays. Pairwise work is done in chunks so 10k × 10k points fit in memory.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

_CHUNK_ELEMENTS = 4_000_000  # pairwise distances per chunk (~32 MB in float64)


def _as_points(x, name: str = "points") -> torch.Tensor:
    """(N, 2) float64 CPU tensor from a tensor / array / nested list."""
    if isinstance(x, torch.Tensor):
        t = x.detach().to("cpu", torch.float64)
    else:
        t = torch.as_tensor(np.asarray(x, dtype=np.float64))
    if t.ndim != 2 or t.shape[1] != 2:
        raise ValueError(f"{name} must have shape (N, 2), got {tuple(t.shape)}")
    return t


def _row_chunks(n_rows: int, n_cols: int):
    step = max(1, _CHUNK_ELEMENTS // max(1, n_cols))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def _pairwise(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    # Direct differences, not the |a|²+|b|²−2ab matmul trick: exact zeros for identical points.
    return torch.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist")


def _sum_pairwise_distances(a: torch.Tensor, b: torch.Tensor) -> float:
    total = 0.0
    for rows in _row_chunks(len(a), len(b)):
        total += _pairwise(a[rows], b).sum().item()
    return total


def _subsample(x: torch.Tensor, max_points: int | None, g: torch.Generator) -> torch.Tensor:
    if max_points is None or len(x) <= max_points:
        return x
    return x[torch.randperm(len(x), generator=g)[:max_points]]


def energy_distance(x, y, max_points: int | None = None, seed: int = 0, unbiased: bool = False) -> float:
    """Energy distance D² = 2 E|X−Y| − E|X−X'| − E|Y−Y'| between two point sets.

    Default is the V-statistic (all pairs, including a point with itself): it is exactly
    0 for identical sets, symmetric and never negative, but two independent draws of the
    same distribution give a small positive value ≈ (E|X−X'| + E|Y−Y'|)/n; report
    `energy_distance_floor` next to it. `unbiased=True` gives the U-statistic (pairs
    i ≠ j within a set): mean 0 for equal distributions, but it can be slightly negative.

    What the numbers mean (built-in standardized moons, overall std 1, n = 2000 per set;
    the value grows linearly with the data's scale and the floor halves when n doubles):
      data vs a fresh draw of data (the floor) ... ≈ 0.0015 (0.0005–0.003 draw to draw)
      fresh data + N(0, 0.1²) blur ............... floor + 0.0003
      fresh data + N(0, 0.3²) blur ............... ≈ 0.006
      moon weights 40/60 instead of 50/50 ........ 0.01–0.02
      one Gaussian with the data's mean and cov .. ≈ 0.025
      N(0, I) .................................... ≈ 0.055
      the data shifted by 0.5 .................... ≈ 0.11
    So a small number with a visibly blurred picture is normal: energy distance barely
    sees blur. Pair it with `mode_shares` and `precision_recall`.

    `max_points` randomly subsamples each set first (seeded) to bound the cost.
    Non-finite points (a diverged sampler) are left out: count them separately.
    """
    g = torch.Generator().manual_seed(int(seed))
    a = _subsample(_as_points(x, "x"), max_points, g)
    b = _subsample(_as_points(y, "y"), max_points, g)
    a, b = a[torch.isfinite(a).all(1)], b[torch.isfinite(b).all(1)]
    n, m = len(a), len(b)
    if n == 0 or m == 0:
        raise ValueError("energy_distance needs at least one finite point in each set")
    cross = _sum_pairwise_distances(a, b) / (n * m)
    within_a = _sum_pairwise_distances(a, a)
    within_b = _sum_pairwise_distances(b, b)
    if unbiased:
        if n < 2 or m < 2:
            raise ValueError("the unbiased energy distance needs at least two points in each set")
        return 2 * cross - within_a / (n * (n - 1)) - within_b / (m * (m - 1))
    value = 2 * cross - within_a / n**2 - within_b / m**2
    # ≥ 0 in exact arithmetic; only round-off (e.g. identical sets) can dip below.
    return 0.0 if -1e-12 < value < 0 else value


def energy_distance_floor(
    sample_fn: Callable[[int, int], object],
    n: int,
    seeds: Sequence[int] = (1001, 1002, 1003, 1004, 1005, 1006),
    unbiased: bool = False,
) -> float:
    """The energy distance between two independent draws of the data itself, averaged.

    `sample_fn(n, seed)` returns n points (e.g. `functools.partial(sample_dataset, "moons")`).
    Seeds are used in pairs: (seeds[0], seeds[1]), (seeds[2], seeds[3]), ... A model cannot
    be expected to beat this number at the same n.
    """
    if len(seeds) < 2:
        raise ValueError("energy_distance_floor needs at least two seeds (one pair of draws)")
    values = [
        energy_distance(sample_fn(n, seeds[i]), sample_fn(n, seeds[i + 1]), unbiased=unbiased)
        for i in range(0, len(seeds) - 1, 2)
    ]
    return float(np.mean(values))


OFF_MODE_STDS = 5.0  # "far from every mode": beyond 5 of its stds (an exact sample lands there with p ≈ 4e-6)


def mode_shares(x, means, stds=None) -> np.ndarray:
    """Fraction of points whose nearest mean is each mode.

    Without `stds`: shape (K,), shares of the finite points, summing to 1 (non-finite
    points are left out; none finite → all zeros). With `stds` (one per mode): shape
    (K + 1,), shares of ALL points, where the last entry counts the points "off every
    mode" — farther than OFF_MODE_STDS of its std from every mean, or not finite. A
    diverged model then shows most of its samples there instead of a plausible split.
    """
    pts = _as_points(x)
    mu = _as_points(means, "means")
    n_all = len(pts)
    pts = pts[torch.isfinite(pts).all(1)]
    counts = torch.zeros(len(mu) + 1, dtype=torch.float64)
    radius = None if stds is None else OFF_MODE_STDS * torch.as_tensor(stds, dtype=torch.float64).flatten()
    if radius is not None and len(radius) != len(mu):
        raise ValueError(f"mode_shares needs one std per mode ({len(mu)}), got {len(radius)}")
    for rows in _row_chunks(len(pts), len(mu)):
        d = _pairwise(pts[rows], mu)
        nearest = d.argmin(1)
        if radius is not None:
            off = (d > radius[None]).all(1)
            nearest = torch.where(off, torch.full_like(nearest, len(mu)), nearest)
        counts += torch.bincount(nearest, minlength=len(mu) + 1).double()
    if radius is None:
        counts = counts[:-1]
        total = counts.sum()
    else:
        counts[-1] += n_all - len(pts)  # non-finite points are off every mode
        total = torch.tensor(float(n_all), dtype=torch.float64)
    return (counts / total).numpy() if total > 0 else counts.numpy()


def _knn_radii(x: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each point to its k-th nearest other point of the same set."""
    radii = torch.empty(len(x), dtype=torch.float64)
    for rows in _row_chunks(len(x), len(x)):
        d = _pairwise(x[rows], x)
        # k+1 smallest: the first is the point itself (distance 0).
        radii[rows] = d.topk(k + 1, dim=1, largest=False).values[:, k]
    return radii


def _covered(queries: torch.Tensor, refs: torch.Tensor, radii: torch.Tensor) -> torch.Tensor:
    """For each query: is it inside the k-NN ball of some reference point?"""
    inside = torch.zeros(len(queries), dtype=torch.bool)
    for rows in _row_chunks(len(queries), len(refs)):
        inside[rows] = (_pairwise(queries[rows], refs) <= radii[None, :]).any(1)
    return inside


def precision_recall(samples, data, k: int = 5) -> tuple[float, float]:
    """k-NN manifold precision and recall (Kynkäänniemi et al. 2019).

    Precision: share of samples that fall inside the k-NN ball of some data point
    (are samples realistic?). Recall: share of data points inside the k-NN ball of some
    sample (is all of the data covered?). Non-finite samples count as not precise.
    """
    s = _as_points(samples, "samples")
    d = _as_points(data, "data")
    if len(s) <= k or len(d) <= k:
        raise ValueError(f"precision_recall needs more than k={k} points in each set")
    finite = torch.isfinite(s).all(1)
    s_ok = s[finite]
    if len(s_ok) <= k:
        return 0.0, 0.0
    precision = _covered(s_ok, d, _knn_radii(d, k)).sum().item() / len(s)
    recall = _covered(d, s_ok, _knn_radii(s_ok, k)).float().mean().item()
    return float(precision), float(recall)


def score_grid(lim: float = 3.0, n: int = 25) -> torch.Tensor:
    """An n×n grid of points on [−lim, lim]², shape (n*n, 2), float32; x varies fastest.

    Row i*n + j is (xs[j], ys[i]), so `.reshape(n, n, 2)` gives an image-like layout.
    """
    if n < 2:
        raise ValueError("score_grid needs n >= 2")
    xs = torch.linspace(-lim, lim, n)
    gy, gx = torch.meshgrid(xs, xs, indexing="ij")
    return torch.stack([gx.flatten(), gy.flatten()], 1)


def _eval_score(fn: Callable, points: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        out = fn(points)
    return _as_points(out, "score output")


def _score_errors(score_fn: Callable, reference_fn: Callable, points) -> tuple[torch.Tensor, torch.Tensor]:
    pts = _as_points(points).to(torch.float32)
    s = _eval_score(score_fn, pts)
    ref = _eval_score(reference_fn, pts)
    return (s - ref).pow(2).sum(1), ref.pow(2).sum(1)


def mean_score_error(score_fn: Callable, reference_fn: Callable, points) -> float:
    """Mean over points of ‖s(x) − s_ref(x)‖²; both functions map (N, 2) → (N, 2)."""
    err, _ = _score_errors(score_fn, reference_fn, points)
    return float(err.mean())


def relative_score_error(score_fn: Callable, reference_fn: Callable, points) -> float:
    """mean ‖s − s_ref‖² / mean ‖s_ref‖²: 0 is perfect, 1 is as bad as predicting zero."""
    err, ref = _score_errors(score_fn, reference_fn, points)
    denom = float(ref.mean())
    if denom == 0.0:
        return 0.0 if float(err.mean()) == 0.0 else float("inf")
    return float(err.mean()) / denom


def nearest_distances(samples, train) -> np.ndarray:
    """Distance from each sample to its nearest training point, shape (N,) (NaN for non-finite samples)."""
    s = _as_points(samples, "samples")
    t = _as_points(train, "train")
    if len(t) == 0:
        raise ValueError("nearest_distances needs at least one training point")
    out = torch.empty(len(s), dtype=torch.float64)
    for rows in _row_chunks(len(s), len(t)):
        out[rows] = _pairwise(s[rows], t).min(1).values
    out[~torch.isfinite(s).all(1)] = float("nan")
    return out.numpy()
