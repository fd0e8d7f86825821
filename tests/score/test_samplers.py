"""Samplers driven by exact scores land on the right distribution."""


import pytest
import torch

from models.lab.datasets import dataset_mixture
from models.lab.metrics import energy_distance, mode_shares
from models.lab.mixture import GaussianMixture
from models.score.noise import geometric_sigmas
from models.score.reference import mixture_score_fn
from models.score.samplers import (annealed_langevin, denoising_sampler, gaussian_start,
                                   langevin_dynamics, uniform_start)

NCSN_TOY = dataset_mixture("ncsn-mixture")  # 0.2 N((-5,-5), I) + 0.8 N((5,5), I)
SCORE = mixture_score_fn(NCSN_TOY)


def upper_share(x):
    return float(mode_shares(x, NCSN_TOY.means_tensor())[1])


def test_the_toy_is_the_papers_mixture():
    assert NCSN_TOY.weights == pytest.approx((0.2, 0.8))
    assert NCSN_TOY.means == ((-5.0, -5.0), (5.0, 5.0))


def test_annealed_langevin_recovers_the_mode_weights_plain_langevin_does_not():
    # NCSN Fig. 3: uniform start on [-8, 8]²; exact scores of the clean data.
    x0 = uniform_start(2000, -8, 8, seed=0)
    annealed = annealed_langevin(SCORE, x0, geometric_sigmas(20, 1, 10), eps=0.1, steps_per_level=100, seed=1)
    plain = langevin_dynamics(SCORE, x0, sigma=0.0, eps=0.1, n_steps=1000, seed=1)
    assert upper_share(annealed.samples) == pytest.approx(0.8, abs=0.03)
    assert 0.4 < upper_share(plain.samples) < 0.6


def test_denoising_sampler_agrees_with_annealed_langevin_on_a_mixture():
    center = torch.tensor([3.0, 3.0])  # the mixture's mean: the top of the ladder is ≈ N(mean, σ²I)
    sigmas = geometric_sigmas(20, 0.01, 10)
    ald = annealed_langevin(SCORE, gaussian_start(3000, 20, 0, center), sigmas, eps=0.5 * 0.01**2,
                            steps_per_level=50, final_denoise=True, seed=2)
    den = denoising_sampler(SCORE, gaussian_start(3000, 20, 0, center), geometric_sigmas(20, 0.01, 200), seed=2)
    truth = NCSN_TOY.sample(3000, torch.Generator().manual_seed(9))
    assert upper_share(ald.samples) == pytest.approx(upper_share(den.samples), abs=0.04)
    for x in (ald.samples, den.samples):
        assert upper_share(x) == pytest.approx(0.8, abs=0.04)
        # each mode has unit spread: the sampled clouds must not be blurred or collapsed
        upper = x[(x.sum(1) > 0)]
        assert upper.std(0).mean() == pytest.approx(1.0, abs=0.1)
        assert energy_distance(x, truth) < 0.05


def test_langevin_at_one_level_samples_the_smoothed_gaussian():
    g = GaussianMixture((1.0,), ((1.0, -1.0),), (0.5,))
    sigma = 0.5  # p_σ = N(μ, (0.25 + 0.25) I)
    out = langevin_dynamics(mixture_score_fn(g), torch.zeros(4000, 2), sigma=sigma, eps=0.02, n_steps=600, seed=0)
    assert out.samples.mean(0).tolist() == pytest.approx([1.0, -1.0], abs=0.05)
    assert out.samples.var(0).mean().item() == pytest.approx(0.5, rel=0.1)


def test_samplers_are_seeded_and_leave_global_rng_alone():
    x0 = uniform_start(100, -8, 8, seed=0)
    sig = geometric_sigmas(20, 1, 3)
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = annealed_langevin(SCORE, x0, sig, eps=0.1, steps_per_level=5, seed=7).samples
    after = torch.rand(1)
    b = annealed_langevin(SCORE, x0, sig, eps=0.1, steps_per_level=5, seed=7).samples
    c = annealed_langevin(SCORE, x0, sig, eps=0.1, steps_per_level=5, seed=8).samples
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(before, after)


def test_trajectories_are_recorded_at_the_stride_with_labels():
    x0 = uniform_start(50, -8, 8)
    r = annealed_langevin(SCORE, x0, geometric_sigmas(20, 1, 4), eps=0.1, steps_per_level=10, stride=5,
                          final_denoise=True)
    # start + every 5th step of 40 (8) + final denoise; level ends coincide with the stride
    assert len(r.frames) == len(r.labels) == len(r.frame_sigmas) == 1 + 8 + 1
    assert torch.equal(r.frames[-1], r.samples)
    assert "level 4/4" in r.labels[-2] and "Tweedie" in r.labels[-1]
    assert r.frame_sigmas[1] == pytest.approx(20.0)
    none = annealed_langevin(SCORE, x0, geometric_sigmas(20, 1, 4), eps=0.1, steps_per_level=10)
    assert none.frames == []


def test_final_denoise_removes_the_last_levels_blur():
    g = GaussianMixture((1.0,), ((0.0, 0.0),), (0.1,))
    sig = geometric_sigmas(3.0, 0.3, 5)
    kw = dict(eps=0.5 * 0.3**2, steps_per_level=100, seed=0)
    blurred = annealed_langevin(mixture_score_fn(g), gaussian_start(3000, 3.0), sig, **kw).samples
    sharp = annealed_langevin(mixture_score_fn(g), gaussian_start(3000, 3.0), sig, final_denoise=True, **kw).samples
    # p_σL has variance v = 0.1² + 0.3² = 0.1. Langevin with step α on a Gaussian is stationary at
    # v / (1 − α/4v) (the discretisation bias of unadjusted Langevin), and Tweedie's mean x·s²/v
    # shrinks that by (s²/v)²: from 0.113 down to 0.0011.
    v, alpha = 0.1, 0.5 * 0.3**2
    v_ula = v / (1 - alpha / (4 * v))
    assert blurred.var(0).mean().item() == pytest.approx(v_ula, rel=0.06)
    assert sharp.var(0).mean().item() == pytest.approx((0.01 / v) ** 2 * v_ula, rel=0.06)


def test_bad_sampler_settings_are_rejected():
    x0 = torch.zeros(3, 2)
    with pytest.raises(ValueError):
        langevin_dynamics(SCORE, x0, eps=0.0)
    with pytest.raises(ValueError):
        annealed_langevin(SCORE, x0, [1.0, 0.5], steps_per_level=0)
