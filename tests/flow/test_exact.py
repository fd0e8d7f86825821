"""The flow-matching path checked against exact answers: a Gaussian mixture's velocity and score."""

import math

import pytest
import torch

from models.flow.exact import marginal_mixture, mixture_log_prob, mixture_velocity, standardized
from models.lab.datasets import dataset_mixture
from models.lab.flow_matching import (interpolate, sample_times, score_to_velocity, sigma_of_time, target_velocity,
                              time_grid, time_of_sigma, velocity_to_eps, velocity_to_score, velocity_to_x0)
from models.lab.flow_matching import guided_velocity, integrate, noise_start
from models.lab.metrics import energy_distance, mode_shares
from models.lab.mixture import GaussianMixture

EIGHT = dataset_mixture("8-gaussians")
NCSN = dataset_mixture("ncsn-mixture")
UNEVEN = GaussianMixture(weights=(0.5, 0.3, 0.2), means=((0.0, 1.0), (2.0, -1.0), (-1.5, -0.5)),
                         stds=(0.3, 0.8, 0.05))


def _points(n=400, scale=3.0, seed=0):
    return scale * torch.randn(n, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("mixture", [EIGHT, NCSN, UNEVEN], ids=["8-gaussians", "ncsn-mixture", "uneven"])
@pytest.mark.parametrize("t", [0.02, 0.1, 0.3, 0.5, 0.8, 0.97])
def test_exact_velocity_turned_into_a_score_is_the_exact_mixture_score(mixture, t):
    x = _points(scale=2.0 + 4 * (mixture is NCSN))
    from_velocity = velocity_to_score(x, t, mixture_velocity(mixture, x, t))
    exact = marginal_mixture(mixture, t).score(x, sigma=t)   # the mixture code of Part 2, independent
    rel = (from_velocity - exact).norm(dim=1).max() / exact.norm(dim=1).max()
    assert rel <= 1e-5, rel
    # and back: the score gives the same velocity
    back = score_to_velocity(x, t, exact)
    assert torch.allclose(back, mixture_velocity(mixture, x, t), rtol=1e-6, atol=1e-6 * back.abs().max())


@pytest.mark.parametrize("t", [0.05, 0.4, 0.9])
def test_velocity_score_matches_finite_differences_of_log_p_t(t):
    x = _points(n=50, seed=3)
    h = 1e-5
    grad = torch.zeros_like(x)
    for i in range(2):
        e = torch.zeros(2, dtype=torch.float64)
        e[i] = h
        grad[:, i] = (mixture_log_prob(UNEVEN, x + e, t) - mixture_log_prob(UNEVEN, x - e, t)) / (2 * h)
    score = velocity_to_score(x, t, mixture_velocity(UNEVEN, x, t))
    assert torch.allclose(score, grad, rtol=1e-5, atol=1e-6)
    # autograd agrees too
    xr = x.clone().requires_grad_(True)
    (auto,) = torch.autograd.grad(mixture_log_prob(UNEVEN, xr, t).sum(), xr)
    assert torch.allclose(score, auto, rtol=1e-8, atol=1e-10)


def test_exact_velocity_is_the_posterior_mean_of_eps_minus_x0():
    """Self-normalized importance sampling of E[ε − x₀ | x_t = x] from x₀ draws: the closed form, within MC error."""
    g = torch.Generator().manual_seed(1)
    x0 = UNEVEN.sample(400_000, generator=g).double()
    t = 0.4
    x = torch.tensor([[0.3, 0.2], [1.0, -0.8], [-0.6, -0.3]], dtype=torch.float64)
    for point, v in zip(x, mixture_velocity(UNEVEN, x, t)):
        eps = (point - (1 - t) * x0) / t                       # the ε each x₀ needs to reach this x
        logw = -(eps**2).sum(1) / 2                            # N(ε; 0, I) up to a constant (Jacobian is constant)
        w = torch.softmax(logw, 0)
        mc = (w[:, None] * (eps - x0)).sum(0)
        assert torch.allclose(mc, v, atol=0.03), (mc, v)


def test_integrating_the_exact_velocity_from_noise_lands_on_the_mixture():
    exact = standardized(EIGHT, torch.zeros(2), 1.0)
    result = integrate(lambda x, t: mixture_velocity(exact, x.double(), t).float(), noise_start(1000, seed=0),
                       steps=30, sampler="heun")
    shares = mode_shares(result.samples, EIGHT.means_tensor())
    assert abs(shares - 1 / 8).max() < 0.035
    fresh = EIGHT.sample(1000, generator=torch.Generator().manual_seed(5))
    assert energy_distance(result.samples, fresh) < 0.01


def test_paths_are_straight_only_when_nothing_is_averaged():
    """Data = one point μ: every noise draw has one partner, v = ε − μ is constant along each line and one Euler
    step is exact. Data N(μ, I) already bends (the ODE must shrink then regrow the cloud), 8 modes bend more."""
    def field(m):
        return lambda x, t: mixture_velocity(m, x.double(), t).float()
    start = noise_start(500, seed=2)
    point = GaussianMixture(weights=(1.0,), means=((1.5, -0.5),), stds=(1e-6,))
    single, fine = integrate(field(point), start, steps=1), integrate(field(point), start, steps=50)
    assert torch.allclose(single.samples, fine.samples, atol=1e-4)
    assert fine.bend.abs().max() < 1e-3
    unit = GaussianMixture(weights=(1.0,), means=((1.5, -0.5),), stds=(1.0,))
    bends = [float(integrate(field(m), start, steps=50).bend.mean()) for m in (unit, EIGHT)]
    assert 0.05 < bends[0] < bends[1]


def test_path_conventions():
    x0, eps = torch.randn(10, 2), torch.randn(10, 2)
    t = torch.rand(10)
    xt = interpolate(x0, eps, t)
    v = target_velocity(x0, eps)
    assert torch.allclose(interpolate(x0, eps, torch.ones(10)), eps)       # t = 1 is noise
    assert torch.allclose(interpolate(x0, eps, torch.zeros(10)), x0)
    # with the pair's own velocity the conversions give back the pair exactly
    assert torch.allclose(velocity_to_eps(xt, t, v), eps, atol=1e-5)
    assert torch.allclose(velocity_to_x0(xt, t, v), x0, atol=1e-5)
    assert sigma_of_time(time_of_sigma(0.7)) == pytest.approx(0.7)


def test_time_grid_runs_from_noise_to_data_and_the_shift_moves_steps_towards_noise():
    plain, shifted = time_grid(4), time_grid(4, shift=3.0)
    assert plain.tolist() == [1.0, 0.75, 0.5, 0.25, 0.0]
    assert shifted[0] == 1.0 and shifted[-1] == 0.0
    assert (shifted[1:-1] > plain[1:-1]).all()
    assert shifted[2] == pytest.approx(3 * 0.5 / (1 + 2 * 0.5))
    with pytest.raises(ValueError):
        time_grid(0)


def test_logit_normal_times_crowd_the_middle():
    g = torch.Generator().manual_seed(0)
    ln, un = sample_times(100_000, "logit-normal", g), sample_times(100_000, "uniform", g)
    assert 0 < ln.min() and ln.max() < 1
    assert abs(float(ln.median()) - 0.5) < 0.01
    middle = lambda t: float(((t > 0.25) & (t < 0.75)).float().mean())  # noqa: E731
    assert middle(ln) > 0.7 > 0.55 > middle(un) > 0.45   # logit-normal: ~75% in the middle half


def test_guidance_mixes_conditional_and_unconditional_velocities():
    class Fake(torch.nn.Module):
        def forward(self, x, t, labels=None):
            return torch.zeros_like(x) if labels is None else torch.ones_like(x) * (labels[:, None] + 1)

    x = torch.zeros(3, 2)
    labels = torch.tensor([0, 1, 2])
    assert torch.equal(guided_velocity(Fake(), None, 3.0)(x, 0.5), torch.zeros(3, 2))
    assert torch.equal(guided_velocity(Fake(), labels, 1.0)(x, 0.5)[:, 0], torch.tensor([1.0, 2.0, 3.0]))
    assert torch.equal(guided_velocity(Fake(), labels, 3.0)(x, 0.5)[:, 0], torch.tensor([3.0, 6.0, 9.0]))
    assert torch.equal(guided_velocity(Fake(), labels, 0.0)(x, 0.5), torch.zeros(3, 2))
    assert math.isfinite(1.0)


def test_exact_guidance_concentrates_a_class_and_pushes_it_past_its_mode():
    """CFG with the exact velocities of 8-gaussians (class = mode 3): w = 3 keeps every sample on its mode, with a
    smaller spread than w = 1 and a mean pushed away from the other modes (radially outward)."""
    component = GaussianMixture(weights=(1.0,), means=(EIGHT.means[2],), stds=(EIGHT.stds[2],))

    def guided(w):
        def velocity(x, t):
            vu, vc = mixture_velocity(EIGHT, x.double(), t), mixture_velocity(component, x.double(), t)
            return (vu + w * (vc - vu)).float()
        return integrate(velocity, noise_start(1000, seed=0), steps=40).samples

    mode = torch.tensor(EIGHT.means[2])
    stats = {}
    for w in (1.0, 3.0):
        s = guided(w)
        near = float((torch.cdist(s, EIGHT.means_tensor()).argmin(1) == 2).float().mean())
        stats[w] = (near, float(((s - s.mean(0)) ** 2).sum(1).mean().sqrt()), s.mean(0))
    assert stats[1.0][0] == 1.0 and stats[3.0][0] == 1.0
    assert stats[3.0][1] < 0.7 * stats[1.0][1]                      # spread 0.13 → 0.06
    assert float(stats[3.0][2].norm()) > float(mode.norm()) + 0.1     # mean at radius ≈ 2.17, the mode at 2


def test_guidance_in_a_limited_interval_of_t():
    """Kynkäänniemi et al. 2024: guidance only while t_low < t ≤ t_high; elsewhere the plain conditional
    velocity (w = 1), one network pass."""
    calls = []

    class Fake(torch.nn.Module):
        def forward(self, x, t, labels=None):
            calls.append(labels is None)
            return torch.zeros_like(x) if labels is None else torch.ones_like(x)

    x, labels = torch.zeros(3, 2), torch.tensor([0, 1, 2])
    velocity = guided_velocity(Fake(), labels, 3.0, interval=(0.4, 0.8))
    for t, expected, passes in ((0.9, 1.0, 1), (0.8, 3.0, 2), (0.5, 3.0, 2), (0.4, 1.0, 1), (0.1, 1.0, 1)):
        calls.clear()
        assert torch.equal(velocity(x, t), torch.full((3, 2), expected)), t
        assert len(calls) == passes, t
    with pytest.raises(ValueError):
        guided_velocity(Fake(), labels, 3.0, interval=(0.8, 0.4))
