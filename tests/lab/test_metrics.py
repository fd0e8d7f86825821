"""Sample metrics (energy distance, mode shares, k-NN precision/recall) and score errors."""

import math
from functools import partial

import numpy as np
import pytest
import torch

from models.lab import metrics
from models.lab.datasets import dataset_mixture, sample_dataset
from models.lab.metrics import (
    energy_distance,
    energy_distance_floor,
    mean_score_error,
    mode_shares,
    nearest_distances,
    precision_recall,
    relative_score_error,
    score_grid,
)


def _gen(seed):
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------- energy distance


def test_identical_sets_give_exactly_zero():
    x = sample_dataset("moons", 700, seed=0)
    assert energy_distance(x, x) == 0.0
    assert energy_distance(x.numpy(), x.clone()) == 0.0  # numpy and torch mixed
    # The U-statistic is the other choice: for identical sets it is slightly negative.
    assert energy_distance(x, x, unbiased=True) < 0


def test_two_point_masses_closed_form():
    a = torch.tensor([[1.0, 2.0]]).repeat(30, 1)
    b = torch.tensor([[4.0, 6.0]]).repeat(50, 1)
    assert energy_distance(a, b) == pytest.approx(2 * 5.0)  # 2|a−b| − 0 − 0
    assert energy_distance(a, b, unbiased=True) == pytest.approx(10.0)


def test_small_hand_computed_value():
    # x = {(0,0), (1,0)}, y = {(0,0)}: 2·½ − (0+1+1+0)/4 − 0 = 0.5
    assert energy_distance([[0.0, 0.0], [1.0, 0.0]], [[0.0, 0.0]]) == pytest.approx(0.5)
    # U-statistic: 2·½ − (1+1)/2 − (no pairs → y needs 2 points)
    assert energy_distance([[0.0, 0.0], [1.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]], unbiased=True) == pytest.approx(0.0)


def test_symmetric_and_non_negative():
    g = _gen(0)
    for _ in range(10):
        x = torch.randn(int(torch.randint(2, 60, (1,), generator=g)), 2, generator=g)
        y = 0.3 * torch.randn(int(torch.randint(2, 60, (1,), generator=g)), 2, generator=g) + 0.2
        d = energy_distance(x, y)
        assert d >= 0
        assert d == pytest.approx(energy_distance(y, x), rel=1e-12, abs=1e-15)


def test_grows_with_shift():
    x = sample_dataset("circles", 400, seed=1)
    values = [energy_distance(x, x + torch.tensor([s, 0.0])) for s in (0.0, 0.1, 0.3, 1.0, 3.0)]
    assert values[0] == 0.0
    assert all(a < b for a, b in zip(values, values[1:]))
    # Far apart: E|X−Y| ≈ shift, so D ≈ 2·shift − 2 E|X−X'|, i.e. slope 2 in the shift.
    far = [energy_distance(x, x + torch.tensor([s, 0.0])) for s in (50.0, 60.0)]
    assert far[1] - far[0] == pytest.approx(20.0, rel=1e-3)


def test_scales_linearly():
    x = sample_dataset("moons", 300, seed=0).double()
    y = sample_dataset("spirals", 300, seed=0).double()
    assert energy_distance(3 * x, 3 * y) == pytest.approx(3 * energy_distance(x, y), rel=1e-9)


def test_chunking_does_not_change_the_answer(monkeypatch):
    x = sample_dataset("moons", 500, seed=0)
    y = sample_dataset("swiss-roll", 300, seed=0)
    whole = energy_distance(x, y)
    monkeypatch.setattr(metrics, "_CHUNK_ELEMENTS", 1000)  # many tiny chunks
    assert energy_distance(x, y) == pytest.approx(whole, rel=1e-10)


def test_max_points_subsamples_deterministically():
    x = sample_dataset("moons", 3000, seed=0)
    y = sample_dataset("moons", 3000, seed=1) + 0.5
    a = energy_distance(x, y, max_points=200, seed=3)
    assert a == energy_distance(x, y, max_points=200, seed=3)
    assert a != energy_distance(x, y, max_points=200, seed=4)
    assert a == pytest.approx(energy_distance(x, y), rel=0.3)


def test_non_finite_points_are_left_out():
    x = sample_dataset("moons", 200, seed=0)
    y = torch.cat([x, torch.tensor([[float("nan"), 0.0], [float("inf"), 1.0]])])
    assert energy_distance(x, y) == 0.0
    with pytest.raises(ValueError):
        energy_distance(x, torch.full((3, 2), float("nan")))


def test_bad_shapes():
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        energy_distance(torch.zeros(5, 3), torch.zeros(5, 2))


def test_calibration_ordering_on_moons():
    # Matches the REFERENCE calibration in order: floor < blur < weights/Gaussian < N(0, I).
    n = 2000
    g = _gen(5)
    data = sample_dataset("moons", n, seed=0)
    fresh = sample_dataset("moons", n, seed=1)
    floor = energy_distance_floor(partial(sample_dataset, "moons"), n)
    blur = energy_distance(data, fresh + 0.3 * torch.randn(n, 2, generator=g))
    mu, cov = data.mean(0), torch.cov(data.T)
    gauss = energy_distance(data, mu + torch.randn(n, 2, generator=g) @ torch.linalg.cholesky(cov).T)
    normal = energy_distance(data, torch.randn(n, 2, generator=g))
    assert 0 < floor < 0.004
    assert floor < blur < gauss < normal
    assert blur < 0.012 and 0.015 < gauss < 0.04 and 0.04 < normal < 0.08


def test_floor_properties():
    # A "sampler" that ignores the seed draws the same set twice: the floor is exactly 0.
    fixed = sample_dataset("moons", 300, seed=0)
    assert energy_distance_floor(lambda n, seed: fixed[:n], 300) == 0.0
    # With real independent draws, the V-statistic floor is ≈ (E|X−X'| + E|Y−Y'|)/n.
    f = energy_distance_floor(partial(sample_dataset, "moons"), 400, seeds=(1, 2, 3, 4, 5, 6, 7, 8))
    assert f > 0
    x = sample_dataset("moons", 2000, seed=10)
    e_xx = metrics._sum_pairwise_distances(x.double(), x.double()) / 2000**2
    assert f == pytest.approx(2 * e_xx / 400, rel=0.5)
    # The U-statistic floor averages to ≈ 0 (it can be slightly negative).
    u = energy_distance_floor(partial(sample_dataset, "moons"), 400, seeds=(1, 2, 3, 4, 5, 6, 7, 8), unbiased=True)
    assert abs(u) < f
    with pytest.raises(ValueError):
        energy_distance_floor(partial(sample_dataset, "moons"), 10, seeds=(1,))


# ----------------------------------------------------------------------------- mode shares


def test_mode_shares_exact():
    means = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    x = np.array([[0.1, 0.2], [-0.3, 0.0], [1.0, 1.0], [9.0, 0.5], [np.nan, 0.0]])
    shares = mode_shares(x, means)
    assert isinstance(shares, np.ndarray)
    np.testing.assert_allclose(shares, [0.75, 0.25, 0.0])
    np.testing.assert_allclose(mode_shares(np.full((4, 2), np.nan), means), [0, 0, 0])


def test_mode_shares_of_ncsn_mixture():
    mix = dataset_mixture("ncsn-mixture")
    shares = mode_shares(sample_dataset("ncsn-mixture", 10_000, seed=0), mix.means_tensor())
    assert shares.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(shares, [0.2, 0.8], atol=0.015)


# ----------------------------------------------------------------------------- precision / recall


def test_precision_recall_identical_sets():
    x = sample_dataset("spirals", 500, seed=0)
    assert precision_recall(x, x) == (1.0, 1.0)


def test_precision_recall_far_away():
    x = sample_dataset("moons", 300, seed=0)
    assert precision_recall(x + 100.0, x) == (0.0, 0.0)


def test_precision_recall_half_the_modes():
    # Samples from 4 of the 8 Gaussians: all realistic (precision ≈ 1), half the data covered (recall ≈ ½).
    data = sample_dataset("8-gaussians", 2000, seed=0)
    mix = dataset_mixture("8-gaussians")
    mode = mode_shares(data, mix.means_tensor())  # sanity: balanced data
    assert mode.min() > 0.1
    means = mix.means_tensor()
    nearest = torch.cdist(sample_dataset("8-gaussians", 4000, seed=1), means).argmin(1)
    samples = sample_dataset("8-gaussians", 4000, seed=1)[nearest < 4][:1500]
    p, r = precision_recall(samples, data, k=5)
    assert p > 0.95
    assert r == pytest.approx(0.5, abs=0.05)


def test_precision_counts_diverged_samples_as_not_precise():
    x = sample_dataset("moons", 400, seed=0)
    bad = torch.cat([x[:300], torch.full((100, 2), float("nan"))])
    p, r = precision_recall(bad, x)
    assert p == pytest.approx(0.75)
    assert 0.5 < r <= 1.0


def test_precision_recall_needs_more_than_k_points():
    with pytest.raises(ValueError, match="k=5"):
        precision_recall(torch.zeros(5, 2), torch.zeros(100, 2))


# ----------------------------------------------------------------------------- score errors


def test_score_grid_layout():
    g = score_grid(lim=2.0, n=5)
    assert g.shape == (25, 2) and g.dtype == torch.float32
    img = g.reshape(5, 5, 2)
    assert torch.allclose(img[0, :, 0], torch.linspace(-2, 2, 5))  # x varies along a row
    assert torch.allclose(img[:, 0, 1], torch.linspace(-2, 2, 5))  # y varies down the rows
    assert g.abs().max() == 2.0
    assert score_grid().shape == (625, 2)


def test_score_errors_exact():
    pts = score_grid(3.0, 11)
    ref = lambda x: -x  # noqa: E731  (the score of N(0, I))
    shifted = lambda x: -x + torch.tensor([0.3, -0.4])  # noqa: E731
    assert mean_score_error(ref, ref, pts) == 0.0
    assert mean_score_error(shifted, ref, pts) == pytest.approx(0.25)  # |(0.3, −0.4)|² = 0.25
    assert relative_score_error(lambda x: torch.zeros_like(x), ref, pts) == pytest.approx(1.0)
    assert relative_score_error(shifted, ref, pts) == pytest.approx(0.25 / float((pts.double() ** 2).sum(1).mean()))
    # numpy outputs are fine too
    assert mean_score_error(lambda x: (-x).numpy(), ref, pts.numpy()) == 0.0


def test_score_error_against_mixture_score():
    mix = dataset_mixture("8-gaussians")
    pts = score_grid(3.0, 15)
    exact = partial(mix.score, sigma=0.5)
    assert mean_score_error(exact, exact, pts) == 0.0
    coarse = partial(mix.score, sigma=0.6)
    assert 0 < relative_score_error(coarse, exact, pts) < 0.5
    assert relative_score_error(lambda x: torch.zeros_like(x), lambda x: torch.zeros_like(x), pts) == 0.0


def test_score_functions_run_without_grad():
    w = torch.ones(2, requires_grad=True)

    def net(x):
        assert not torch.is_grad_enabled()
        return x * w

    assert mean_score_error(net, lambda x: x, score_grid(1.0, 3)) == 0.0


# ----------------------------------------------------------------------------- memorization


def test_nearest_distances(monkeypatch):
    train = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    samples = np.array([[3.0, 4.0], [10.0, 0.0], [np.nan, 1.0], [7.0, 4.0]])
    d = nearest_distances(samples, train)
    assert isinstance(d, np.ndarray) and d.shape == (4,)
    np.testing.assert_allclose(d[[0, 1, 3]], [5.0, 0.0, 5.0])
    assert math.isnan(d[2])
    # chunked = unchunked, and training points are at distance 0 from themselves
    x = sample_dataset("moons", 600, seed=0)
    t = sample_dataset("moons", 400, seed=1)
    whole = nearest_distances(x, t)
    monkeypatch.setattr(metrics, "_CHUNK_ELEMENTS", 500)
    np.testing.assert_allclose(nearest_distances(x, t), whole)
    assert np.all(nearest_distances(t, t) == 0)
