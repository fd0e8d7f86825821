"""Reference scores are the exact gradients of the log densities they claim to be."""


import pytest
import torch

from models.lab.mixture import GaussianMixture
from models.score.reference import dsm_loss_floor, empirical_log_prob, empirical_score, mixture_score_fn

MIX = GaussianMixture((0.2, 0.5, 0.3), ((-2.0, 0.0), (1.0, 1.5), (2.0, -1.0)), (0.3, 0.5, 0.2))


def autograd_score(log_prob, x):
    x = x.clone().double().requires_grad_(True)
    (g,) = torch.autograd.grad(log_prob(x).sum(), x)
    return g


@pytest.mark.parametrize("sigma", [0.0, 0.05, 0.5, 3.0])
def test_mixture_score_matches_autograd(sigma):
    x = torch.randn(200, 2, generator=torch.Generator().manual_seed(1)) * 2
    expected = autograd_score(lambda y: MIX.log_prob(y, sigma), x)
    got = MIX.score(x.double(), sigma)
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-8)


def test_mixture_log_prob_is_normalised():
    # ∫ p_σ ≈ Σ p Δ² on a fine grid: checks the 2-D normaliser and the σ² variance growth
    for sigma in (0.0, 0.7):
        g = torch.linspace(-8, 8, 401, dtype=torch.float64)
        xx, yy = torch.meshgrid(g, g, indexing="ij")
        pts = torch.stack([xx.ravel(), yy.ravel()], 1)
        mass = MIX.log_prob(pts, sigma).exp().sum() * (g[1] - g[0]) ** 2
        assert abs(float(mass) - 1.0) < 1e-3


@pytest.mark.parametrize("sigma", [0.05, 0.3, 2.0])
def test_empirical_score_matches_autograd_and_is_chunk_invariant(sigma):
    gen = torch.Generator().manual_seed(0)
    data = torch.randn(300, 2, generator=gen, dtype=torch.float64)
    x = torch.randn(50, 2, generator=gen, dtype=torch.float64) * 1.5
    expected = autograd_score(lambda y: empirical_log_prob(data, y, sigma), x)
    torch.testing.assert_close(empirical_score(data, x, sigma), expected, rtol=1e-6, atol=1e-8)
    torch.testing.assert_close(empirical_score(data, x, sigma, chunk=7), expected, rtol=1e-6, atol=1e-8)


def test_empirical_score_equals_mixture_with_one_component_per_point():
    data = torch.tensor([[0.0, 0.0], [1.0, 2.0], [-1.0, 0.5]], dtype=torch.float64)
    sigma = 0.4
    as_mixture = GaussianMixture((1 / 3,) * 3, tuple(map(tuple, data.tolist())), (1e-12,) * 3)
    x = torch.randn(20, 2, dtype=torch.float64)
    torch.testing.assert_close(empirical_score(data, x, sigma), as_mixture.score(x, sigma))


def test_empirical_score_handles_10k_by_10k():
    gen = torch.Generator().manual_seed(0)
    data = torch.randn(10_000, 2, generator=gen)
    x = torch.randn(10_000, 2, generator=gen)
    s = empirical_score(data, x, 0.1)
    assert s.shape == (10_000, 2) and torch.isfinite(s).all()


def test_dsm_floor_of_a_gaussian_is_analytic():
    # data N(0, s²I): p_σ = N(0,(s²+σ²)I) with score −x/(s²+σ²). The optimal residual
    # σ s*(x̃) + z has variance per dim s²/(s²+σ²), so the floor is ½·2·s²/(s²+σ²).
    s, sigma = 0.5, 1.0
    g = GaussianMixture((1.0,), ((0.0, 0.0),), (s,))
    data = g.sample(200_000, torch.Generator().manual_seed(3))
    floor = dsm_loss_floor(mixture_score_fn(g), data, sigma, n=200_000)
    assert floor == pytest.approx(s**2 / (s**2 + sigma**2), rel=0.02)


def test_dsm_floor_shrinks_as_noise_vanishes():
    # tiny σ: the posterior of the clean point is sharp, so a perfect denoiser pays almost nothing
    data = torch.randn(500, 2, generator=torch.Generator().manual_seed(0))
    from models.score.reference import empirical_score_fn
    small = dsm_loss_floor(empirical_score_fn(data), data, 0.001, n=4000)
    large = dsm_loss_floor(empirical_score_fn(data), data, 1.0, n=4000)
    assert small < 0.01 < large < 1.0 + 1e-6
