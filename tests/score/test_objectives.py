"""Objectives have the documented sign, scale and minimiser."""

import pytest
import torch
from torch import nn

from models.score.networks import NCSN, DenoisingScoreNetwork, build_network
from models.score.objectives import (dsm_target, implicit_score_matching, ncsn_loss,
                                     single_level_loss, sliced_score_matching, denoising_score_matching)
from models.score.trainer import TrainConfig, score_trainer


class GaussianScore(nn.Module):
    """The exact score of N(0, s²I) smoothed by N(0, σ²I): −x/(s² + σ²)."""

    def __init__(self, s):
        super().__init__()
        self.s = s

    def forward(self, x, sigma):
        sigma = torch.as_tensor(sigma, dtype=x.dtype)
        var = self.s**2 + (sigma**2 if sigma.dim() == 0 else sigma[:, None] ** 2)
        return -x / var


def test_dsm_target_points_back_to_the_clean_point_with_1_over_sigma_squared():
    x = torch.tensor([[1.0, -2.0]])
    x_noisy = torch.tensor([[1.5, -2.0]])
    t = dsm_target(x_noisy, x, 0.5)
    torch.testing.assert_close(t, torch.tensor([[-2.0, 0.0]]))  # −(0.5, 0)/0.25
    assert (t * (x_noisy - x)).sum() < 0  # opposite to the noise


def test_dsm_loss_of_the_exact_score_is_the_analytic_floor():
    s, sigma = 1.0, 0.5
    x = torch.randn(400_000, 2, generator=torch.Generator().manual_seed(0)) * s
    loss = denoising_score_matching(GaussianScore(s), x, torch.tensor(sigma),
                                    torch.Generator().manual_seed(1)).mean()
    assert float(loss) == pytest.approx(s**2 / (s**2 + sigma**2), rel=0.01)


@pytest.mark.parametrize("objective", [implicit_score_matching, sliced_score_matching])
def test_sliced_and_implicit_losses_are_negative_at_the_optimum(objective):
    # at the exact score both equal σ²(E tr∇s + ½E‖s‖²) = −σ²/(s²+σ²) < 0
    s, sigma = 1.0, 0.5
    x = torch.randn(200_000, 2, generator=torch.Generator().manual_seed(0)) * s
    loss = objective(GaussianScore(s), x, torch.tensor(sigma), torch.Generator().manual_seed(2)).mean()
    assert float(loss.detach()) == pytest.approx(-sigma**2 / (s**2 + sigma**2), rel=0.03)


def test_dsm_prefers_the_exact_score_over_a_wrong_one():
    x = torch.randn(100_000, 2, generator=torch.Generator().manual_seed(0))
    sig = torch.tensor(0.5)
    exact = denoising_score_matching(GaussianScore(1.0), x, sig, torch.Generator().manual_seed(1)).mean()
    wrong_sign = denoising_score_matching(lambda y, s: -GaussianScore(1.0)(y, s), x, sig,
                                          torch.Generator().manual_seed(1)).mean()
    too_small = denoising_score_matching(lambda y, s: 0.5 * GaussianScore(1.0)(y, s), x, sig,
                                         torch.Generator().manual_seed(1)).mean()
    assert exact < too_small < wrong_sign


def test_ncsn_loss_reports_one_loss_per_level_and_averages_them():
    sigmas = torch.tensor([2.0, 1.0, 0.5, 0.25])
    x = torch.randn(40_000, 2, generator=torch.Generator().manual_seed(0))
    loss, per_level = ncsn_loss(GaussianScore(1.0), x, sigmas, "dsm", torch.Generator().manual_seed(1))
    assert per_level.shape == (4,)
    torch.testing.assert_close(loss, per_level.mean())
    # each level sits at its Bayes floor 1/(1+σ²) (s = 1): the per-level report is per level
    torch.testing.assert_close(per_level, 1 / (1 + sigmas**2), rtol=0.05, atol=0)


def test_denoising_network_learns_the_analytic_noisy_score_of_a_gaussian():
    s, sigma = 1.0, 0.5
    data = torch.randn(20_000, 2, generator=torch.Generator().manual_seed(0)) * s
    cfg = TrainConfig(model="single-sigma", sigma=sigma, steps=1500, batch_size=512, lr=3e-3, hidden=64, depth=2,
                      ema=0.0, seed=0, log_every=500)
    trainer = score_trainer(cfg, data)
    trainer.run()
    grid = torch.stack(torch.meshgrid(torch.linspace(-2, 2, 21), torch.linspace(-2, 2, 21), indexing="ij"), -1).reshape(-1, 2)
    with torch.no_grad():
        learned = trainer.network(grid)
    exact = GaussianScore(s)(grid, torch.tensor(sigma))
    rel = ((learned - exact) ** 2).sum(1).mean() / (exact**2).sum(1).mean()
    assert rel < 0.02, f"relative squared score error {rel:.4f}"


def test_networks_have_the_documented_shapes_and_scaling():
    x = torch.randn(8, 2)
    d = DenoisingScoreNetwork(0.5, hidden=16, depth=2)
    assert d(x).shape == (8, 2)
    for cond in ("embedding", "scale"):
        n = NCSN(hidden=16, depth=2, conditioning=cond)
        out_a, out_b = n(x, 1.0), n(x, 2.0)
        assert out_a.shape == (8, 2)
        if cond == "scale":  # NCSNv2: s(x, σ) = f(x)/σ exactly
            torch.testing.assert_close(out_a, 2 * out_b)
        per_row = n(x, torch.full((8,), 1.0))
        torch.testing.assert_close(per_row, out_a)
    with pytest.raises(ValueError):
        build_network("gan")
    with pytest.raises(ValueError):
        NCSN(conditioning="film")


def test_single_level_and_ncsn_losses_backpropagate():
    net = NCSN(hidden=16, depth=1)
    x = torch.randn(64, 2)
    for objective in ("dsm", "sliced", "implicit"):
        loss, _ = ncsn_loss(net, x, torch.tensor([1.0, 0.1]), objective)
        loss.backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
        net.zero_grad()
    d = DenoisingScoreNetwork(0.3, hidden=16, depth=1)
    single_level_loss(d, x, 0.3, "implicit").backward()
