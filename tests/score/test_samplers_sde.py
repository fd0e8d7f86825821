"""One score, many samplers: reverse-SDE, predictor–corrector, probability-flow ODE,
the ODE log-likelihood and the data-centred prior, each checked against exact answers.

The NCSN toy p = 0.2 N((−5,−5), I) + 0.8 N((5,5), I) has an exact score at every σ, so any
shortfall in the heavy-mode share (truth 0.80) or within-mode std (truth 1.00) is the sampler's.
"""

import math

import pytest
import torch

from models.lab.datasets import dataset_mixture, sample_dataset
from models.lab.metrics import mode_shares
from models.score.likelihood import ode_log_likelihood, score_and_divergence
from models.score.noise import default_sigmas, geometric_sigmas
from models.score.prior import gaussian_prior, mixture_prior, points_gaussian_prior, points_prior
from models.score.reference import mixture_score_fn
from models.score.samplers import ancestral_step_parts, probability_flow_ode
from models.score.sampling import (default_langevin_eps, movement_warning, sample_annealed_langevin,
                                   sample_denoising)

TOY = dataset_mixture("ncsn-mixture")
SCORE = mixture_score_fn(TOY)
LADDER = default_sigmas(sample_dataset("ncsn-mixture", 10_000, 0))  # 21 → 0.041, the CLI's reference ladder
PRIOR = mixture_prior(TOY, float(LADDER[0]))


def heavy_share(x):
    return float(mode_shares(x, TOY.means_tensor())[1])


def within_mode_std(x):
    """Mean per-axis std of each mode's particles (split by the anti-diagonal), averaged over the modes."""
    return 0.5 * float(x[x.sum(1) > 0].std(0).mean() + x[x.sum(1) <= 0].std(0).mean())


def test_the_ladder_is_the_default_one():
    assert float(LADDER[0]) == pytest.approx(21.0, abs=0.5) and float(LADDER[-1]) == pytest.approx(0.041, abs=0.002)


SEEDS, N = range(8), 4000   # binomial s.e. of a share over 32,000 independent particles ≈ 0.0022


def over_seeds(draw) -> tuple[float, float]:
    """Heavy-mode share over SEEDS × N samples and its standard error √(p(1 − p)/(8·4000))."""
    share = sum(heavy_share(draw(seed)) for seed in SEEDS) / len(SEEDS)
    return share, math.sqrt(share * (1 - share) / (len(SEEDS) * N))


@pytest.mark.slow
def test_the_ancestral_sampler_is_unbiased_with_the_exact_score():
    """With its noise seeded like the prior, the noise replayed the prior's draws: 0.791 even at 400 levels.
    On streams of their own and with steps fine enough for the step bias to vanish (+0.006 at the default
    100 levels, +0.0006 at 400: 32 seeds × 4000), the share is the truth's 0.80 within 3 standard errors."""
    share, se = over_seeds(lambda s: sample_denoising(SCORE, LADDER, n=N, seed=s, levels=400, prior=PRIOR).samples)
    assert abs(share - 0.80) <= 3 * se, (share, se)


def test_the_old_annealed_default_under_reports_the_heavy_mode():
    # 10 levels × 20 steps (the old default): the share the class saw even with the exact score
    old = sample_annealed_langevin(SCORE, LADDER, n=3000, seed=1, prior=PRIOR).samples
    assert heavy_share(old) < 0.77


def test_ode_is_deterministic_given_its_start_and_heun_beats_euler_at_equal_steps():
    x0 = PRIOR.sample(2000, seed=4)
    fine = geometric_sigmas(float(LADDER[0]), float(LADDER[-1]), 26)
    a = probability_flow_ode(SCORE, x0, fine, solver="heun").samples
    b = probability_flow_ode(SCORE, x0, fine, solver="heun").samples
    assert torch.equal(a, b)
    euler = probability_flow_ode(SCORE, x0, fine, solver="euler").samples
    # a unit-variance mode: Euler's few big steps leave it too wide, Heun is close
    assert abs(within_mode_std(a) - 1) < abs(within_mode_std(euler) - 1)


def test_one_ancestral_step_is_an_ode_half_plus_a_langevin_half():
    x = PRIOR.sample(500, seed=2)
    parts = ancestral_step_parts(SCORE, x, 3.0, 2.5, seed=5)
    s = SCORE(x, 3.0)
    delta = 3.0**2 - 2.5**2
    torch.testing.assert_close(parts.ode_half, x + 0.5 * delta * s)
    z = (parts.langevin_half - x - 0.5 * delta * s) / math.sqrt(delta)          # the one noise draw
    torch.testing.assert_close(parts.ancestral, x + delta * s + parts.noise_std_ancestral * z, atol=1e-4, rtol=0)
    torch.testing.assert_close(parts.both, x + delta * s + math.sqrt(delta) * z, atol=1e-4, rtol=0)
    # same drift; the noise sizes differ by the factor σ_next/σ
    assert parts.noise_std_ancestral / parts.noise_std_langevin == pytest.approx(2.5 / 3.0)
    assert parts.alpha == pytest.approx(delta)


def test_ode_log_likelihood_matches_the_true_mixture_density():
    x = TOY.sample(150, torch.Generator().manual_seed(3))
    low, high = 1e-3, float(LADDER[0])
    ll = ode_log_likelihood(SCORE, x, sigma_min=low, sigma_max=high, prior=mixture_prior(TOY, high), steps=100)
    true = TOY.log_prob(x.double(), 0.0)
    assert float((ll.double() - true).mean().abs()) <= 0.05
    assert float((ll.double() - true).abs().max()) <= 0.2


def test_exact_divergence_of_a_gaussian_score():
    # p_σ = N(μ, (1 + σ²) I): s = −(x − μ)/(1 + σ²), so tr ∇s = −2/(1 + σ²) everywhere
    unit = dataset_mixture("ncsn-mixture").__class__((1.0,), ((1.0, 2.0),), (1.0,))
    _, div = score_and_divergence(mixture_score_fn(unit), torch.randn(50, 2), 0.5)
    torch.testing.assert_close(div, torch.full((50,), -2 / 1.25))


def test_priors_match_the_data_moments_at_sigma_max():
    exact = mixture_prior(TOY, 20.0)
    assert exact.mean.tolist() == pytest.approx([3.0, 3.0])
    # between the modes 0.2·0.8·(10, 10)(10, 10)ᵀ = 16 on every entry, + 1 within a mode, + σ_max² on the diagonal
    torch.testing.assert_close(exact.cov, torch.tensor([[417.0, 16.0], [16.0, 417.0]]))
    pts = TOY.sample(20_000, torch.Generator().manual_seed(0))
    matched = points_gaussian_prior(pts, 20.0)
    torch.testing.assert_close(matched.cov, exact.cov, atol=0.5, rtol=0)
    drawn = exact.sample(20_000, seed=1)
    assert drawn.mean(0).tolist() == pytest.approx([3.0, 3.0], abs=0.4)
    assert torch.cov(drawn.T).diagonal().tolist() == pytest.approx([417.0, 417.0], rel=0.03)
    iso = gaussian_prior(torch.tensor([1.0, -2.0]), 2.0, 10.0)
    torch.testing.assert_close(iso.cov, torch.tensor([[104.0, 0.0], [0.0, 104.0]]))
    on_points = points_prior(pts[:100], 5.0)
    assert on_points.log_prob(pts[:3]).shape == (3,) and on_points.sample(10, seed=0).shape == (10, 2)


def test_plain_langevin_default_eps_moves_particles_and_a_timid_eps_is_flagged():
    spread = 4.09  # the NCSN toy's mean per-axis std
    assert default_langevin_eps(0.041, spread) == pytest.approx(0.01 * (spread**2 + 0.041**2))
    start = torch.zeros(100, 2)
    assert movement_warning(start, start + 1.0, spread) is not None       # RMS 1.4: a third of the spread
    assert movement_warning(start, start + 3.0, spread) is None


def test_the_two_halves_match_the_ancestral_step_only_for_small_steps():
    # the numbers the page's decomposition caption states (NCSN toy, exact p_σ particles)
    from models.score.sampler_comparison import step_decomposition
    ancestral, ode, langevin, both, truth = step_decomposition(SCORE, TOY, 2.0, 1.8)
    assert ode.within_std == pytest.approx(math.sqrt(1 + 1.8**2), rel=0.03)        # carried to p_σ′
    assert langevin.within_std == pytest.approx(math.sqrt(1 + 2.0**2), rel=0.03)   # stays at p_σ
    assert both.within_std == pytest.approx(ancestral.within_std, rel=0.03)
    ancestral, ode, langevin, both, truth = step_decomposition(SCORE, TOY, 5.0, 2.5)
    assert truth.within_std == pytest.approx(2.7, abs=0.1)
    assert ancestral.within_std == pytest.approx(2.8, abs=0.1)
    assert both.within_std == pytest.approx(4.4, abs=0.1)
    assert ode.noise_std == 0 and both.drift == pytest.approx(ancestral.drift) == pytest.approx(2 * ode.drift)


def test_a_trained_network_is_compared_from_its_own_prior_and_a_single_sigma_run_is_refused():
    from models.lab.datasets import DatasetSpec, training_data
    from models.score.run import TrainingRun, model_prior, new_trainer, training_config
    from models.score.sampler_comparison import compare_samplers, network_setup
    run = TrainingRun(training_data(DatasetSpec.builtin("ncsn-mixture"), 1000, 0), training_config(steps=5))
    run.trainer = new_trainer(run.data, run.config)
    run.trainer.run(steps=5)
    setup = network_setup(run)
    assert setup.truth is TOY or setup.truth == TOY
    torch.testing.assert_close(setup.prior.cov, model_prior(run.model()).cov)
    result = compare_samplers(setup.score_fn, setup.sigmas, setup.prior, setup.fresh_fn, truth=setup.truth,
                              score_label=setup.label, n=100, samplers=("ode",))
    (ode,) = result.outcomes
    assert ode.calls == 200 and ode.samples.shape == (100, 2) and ode.paths.shape[1:] == (8, 2)
    single = TrainingRun(run.data, training_config(model="single-sigma", steps=5))
    single.trainer = new_trainer(single.data, single.config)
    with pytest.raises(ValueError, match="trained NCSN"):
        network_setup(single)
