"""Every number the pages (and docs/samplers.md) state about the score models, recomputed from the math.

Each test calls the code that does the thing (exact scores, fixed seeds), finds THE sentence that
states the number (tests/claims.py: by a phrase only that sentence holds), and checks the number
against the measurement: within 3 standard errors of the measurement (from the spread over 8 seeds,
or a closed form where one exists) plus the rounding of the figure as written.
"""

from __future__ import annotations

import math
import re
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from models.lab.datasets import DatasetSpec, dataset_mixture, training_data
from models.lab.metrics import mode_shares
from models.lab.streams import SAMPLER_NOISE, stream
from models.score.experiments import (NCSN_TOY, forward_noising, heavy_mode_std, heavy_side_mass,
                                      model_log_density, ncsn_toy_sampling, recovery)
from models.score.floors import loss_floors, population_floors
from models.score.noise import default_sigmas, geometric_sigmas
from models.score.prior import mixture_prior
from models.score.reference import dsm_loss_floor, mixture_score_fn
from models.score.sampler_comparison import within_mode_std
from models.score.samplers import (ancestral_step_parts, denoising_sampler, langevin_dynamics, predictor_corrector,
                                   tweedie)
from models.score.sampling import (ANNEALED_LEVELS, sample_annealed_langevin, sample_denoising, sample_ode,
                                   sample_predictor_corrector)
from tests.claims import Stated, mean_and_se, sentence, sentences, stated

TOY_SCORE = mixture_score_fn(NCSN_TOY)
SEEDS = range(8)
HOME, LANGEVIN, SAMPLERS, NOISING = ("app/views/home.py", "app/views/langevin.py", "app/views/samplers.py",
                                     "app/views/forward_noising.py")
SAMPLERS_DOC = "docs/samplers.md"   # the reference text repeats Home's sampler claim


def heavy_share(x: torch.Tensor) -> float:
    return float(mode_shares(x, NCSN_TOY.means_tensor())[1])


def agrees(said: Stated, values, scale: float = 1.0) -> bool:
    """The stated figure agrees with the mean of per-seed measurements (3 s.e. plus its rounding)."""
    mean, se = mean_and_se(values)
    ok = said.agrees(mean, se, scale)
    if not ok:
        print(f"stated {said.text}, measured {mean:.4f} ± {se:.4f}")
    return ok


# ----------------------------------------------------------------------------- the reader itself

def test_stated_reads_the_sentence_that_holds_the_phrase(tmp_path):
    """A number elsewhere in the file does not count: "0.80" twice, only one of them after the phrase."""
    page = tmp_path / "page.py"
    page.write_text('st.markdown(\n    "The truth is 0.80. Annealed Langevin gives "\n    "0.787 here.\\n\\n"\n'
                    '    "- The ancestral sampler gives 0.81, truth 0.80."\n)\n', encoding="utf-8")
    assert [s.text for s in stated(page, "Annealed Langevin gives")] == ["0.787"]
    assert stated(page, "ancestral sampler gives", 2)[1].value == 0.80
    with pytest.raises(AssertionError):
        sentence(page, "0.80")                       # two sentences hold it: which one is meant is unclear
    with pytest.raises(AssertionError):
        stated(page, "Annealed Langevin gives", 2)   # that sentence states one number, not two
    assert Stated(0.8, "0.80").rounding == 0.005 and Stated(58, "58").rounding == 0.5


# ----------------------------------------------------------------------------- 1. same score, different samplers

def test_ancestral_step_is_not_one_langevin_step():
    """docs/samplers.md: a Langevin chain with exactly the ancestral drift (one step per level with α = 2Δσ², exact
    score, exact prior, 100 levels) is NOT the ancestral sampler: it lands at 0.70 in the heavy mode with
    within-mode std 1.45, the ancestral sampler at 0.81 and 0.97 (8 seeds × 4000: s.e. 0.002 and 0.006)."""
    data = training_data(DatasetSpec.builtin("ncsn-mixture"), 10_000, 0)
    ladder = default_sigmas(data.points)
    fine = [float(s) for s in geometric_sigmas(float(ladder[0]), float(ladder[-1]), 100)]
    prior = mixture_prior(NCSN_TOY, fine[0])
    chain, ancestral = [], []
    for seed in SEEDS:
        x0 = prior.sample(4000, seed)
        ancestral.append(denoising_sampler(TOY_SCORE, x0, fine, seed=seed).samples)
        x, g = x0.clone(), stream(seed, SAMPLER_NOISE)
        for big, small in zip(fine, fine[1:]):   # drift Δσ²·s (the ancestral one) → Langevin α = 2Δσ²
            step = big**2 - small**2
            x = x + step * TOY_SCORE(x, big) + math.sqrt(2 * step) * torch.randn(x.shape, generator=g)
        chain.append(x)
    chain_share, chain_std = stated(SAMPLERS_DOC, "that chain puts", 2)
    ancestral_share, ancestral_std = stated(SAMPLERS_DOC, "where the ancestral sampler gives", 2)
    assert agrees(chain_share, map(heavy_share, chain)) and agrees(chain_std, map(heavy_mode_std, chain))
    assert agrees(ancestral_share, map(heavy_share, ancestral))
    assert agrees(ancestral_std, map(heavy_mode_std, ancestral))


ANCESTRAL_TEXTS = (HOME, SAMPLERS, "models/score/samplers.py", "models/score/sampler_comparison.py",
                   SAMPLERS_DOC, "README.md")


def test_an_ancestral_step_has_the_drift_of_an_ode_step_plus_a_langevin_step_but_less_noise():
    """`ancestral_step_parts` on particles of the exact p_σ: the drift identity Δσ²·s = ½Δσ²·s (ODE) + ½α·s
    (Langevin, α = Δσ²) is exact; the ancestral noise is the Langevin step's times σᵢ₊₁/σᵢ; and ODE step +
    Langevin step is exactly the Euler–Maruyama step of the reverse SDE. The texts say so, and no heading
    says the ancestral step IS an ODE step plus a Langevin step."""
    sigma, nxt = 2.0, 1.8
    x = mixture_prior(NCSN_TOY, sigma).sample(4000, 0).double()
    parts = ancestral_step_parts(TOY_SCORE, x, sigma, nxt, seed=0)
    s, delta = TOY_SCORE(x, sigma), sigma**2 - nxt**2
    z = (parts.langevin_half - parts.ode_half) / math.sqrt(delta)            # the one noise draw
    ancestral_drift = parts.ancestral - x - parts.noise_std_ancestral * z
    langevin_drift = parts.langevin_half - x - math.sqrt(delta) * z
    torch.testing.assert_close(ancestral_drift, (parts.ode_half - x) + langevin_drift)
    torch.testing.assert_close(ancestral_drift, delta * s)
    assert parts.noise_std_ancestral / parts.noise_std_langevin == pytest.approx(nxt / sigma, rel=1e-12)
    torch.testing.assert_close(parts.both, x + delta * s + math.sqrt(delta) * z)   # reverse-SDE Euler–Maruyama
    overclaim = re.compile(r"ancestral step\W*(=|is)\s*(exactly\s*)?one\s*\**\s*(ODE|probability-flow)", re.I)
    for path in ANCESTRAL_TEXTS:
        assert not [x for x in sentences(path) if overclaim.search(x)], path
    assert "exactly two halves" in sentence(SAMPLERS, "The ancestral step's drift")
    assert "σᵢ₊₁/σᵢ" in sentence(SAMPLERS, "smaller than that Langevin step's by the factor")
    assert "reverse SDE" in sentence(SAMPLERS, "Euler–Maruyama step")


TOY_LADDER = default_sigmas(training_data(DatasetSpec.builtin("ncsn-mixture"), 10_000, 0).points)
TOY_PRIOR = mixture_prior(NCSN_TOY, float(TOY_LADDER[0]))
DEFAULT_DRAW = {
    "annealed": lambda s: sample_annealed_langevin(TOY_SCORE, TOY_LADDER, n=4000, seed=s, levels=ANNEALED_LEVELS,
                                                   prior=TOY_PRIOR),
    "denoise": lambda s: sample_denoising(TOY_SCORE, TOY_LADDER, n=4000, seed=s, prior=TOY_PRIOR),
    "pc": lambda s: sample_predictor_corrector(TOY_SCORE, TOY_LADDER, n=4000, seed=s, prior=TOY_PRIOR),
    "ode": lambda s: sample_ode(TOY_SCORE, TOY_LADDER, n=4000, seed=s, prior=TOY_PRIOR),
}


@pytest.mark.parametrize("sampler", [pytest.param("annealed", marks=pytest.mark.slow), "denoise", "pc", "ode"])
def test_default_samplers_with_the_exact_score(sampler):
    """The samplers page: with the exact score and the defaults every sampler lands within 2 points of
    0.80 (beyond 3 s.e. of doubt), at the share the page states for it (8 seeds × 4000, as
    benchmarks/bench_samplers.py measures them); the ODE and predictor–corrector keep the within-mode
    std at 1.00. The default sampler (denoise) is among them."""
    clouds = [DEFAULT_DRAW[sampler](seed).samples for seed in SEEDS]
    shares = [heavy_share(x) for x in clouds]
    mean, se = mean_and_se(shares)
    points, = stated(SAMPLERS, "every sampler lands within about")
    assert abs(mean - 0.80) + 3 * se <= points.value / 100
    said = dict(zip(DEFAULT_DRAW, stated(SAMPLERS, "the heavy-mode share is: annealed", 4)))[sampler]
    assert agrees(said, shares)
    if sampler in ("annealed", "denoise"):  # docs/defaults.md rests its choice of sampler on these two
        repeated = dict(zip(("annealed", "denoise"), stated("docs/defaults.md", "the heavy-mode share is", 2)))
        assert agrees(repeated[sampler], shares)
    if sampler in ("pc", "ode"):
        std, = stated(SAMPLERS, "also get the within-mode spread right (std ≈")
        assert agrees(std, [within_mode_std(x, NCSN_TOY) for x in clouds])


# ----------------------------------------------------------------------------- 2. the final Tweedie step

def test_final_tweedie_step_shrinks_the_variance():
    """Langevin page: with σ_L = 1 and unit-variance modes, x̂ = x + σ²s turns std √2 = 1.41 into
    1/√2 = 0.71 (truth 1.00): the variance ends at 1/(1 + σ_L²) of the truth's. Exact samples of p_1."""
    noisy, denoised = [], []
    for seed in SEEDS:
        g = torch.Generator().manual_seed(seed)
        x = NCSN_TOY.sample(4000, g) + torch.randn(4000, 2, generator=g)   # exactly p_σ with σ = 1
        noisy.append(heavy_mode_std(x))
        denoised.append(heavy_mode_std(tweedie(x, 1.0, TOY_SCORE(x, 1.0))))
    before, after = stated(LANGEVIN, "it turns the within-mode std", 2)
    assert before.agrees(math.sqrt(2), 0) and after.agrees(1 / math.sqrt(2), 0)
    assert agrees(before, noisy) and agrees(after, denoised)
    assert "1/(1 + σ_L²)" in sentence(LANGEVIN, "it turns the within-mode std")


@pytest.mark.slow
def test_annealed_langevin_with_and_without_the_final_step():
    """What the Langevin page shows with its checkbox (paper settings, 8 seeds × 1000)."""
    kw = dict(n=1000, eps=0.1, steps=100)
    without = [ncsn_toy_sampling("annealed", seed=s, **kw).heavy_std for s in SEEDS]
    with_step = [ncsn_toy_sampling("annealed", seed=s, final_denoise=True, **kw).heavy_std for s in SEEDS]
    before, after = stated(LANGEVIN, "the (5, 5) mode's std goes from", 2)
    assert agrees(before, without) and agrees(after, with_step)


# ----------------------------------------------------------------------------- 3. loss floors

@pytest.mark.slow
def test_training_set_floor_is_a_memorizing_floor_at_small_sigma():
    """Score lab: ncsn-mixture, 10,000 points, σ_min = 0.041: the training-set floor is ≈ 0.88 (8 seeds of
    2000 queries), the population floor 1 − σ²/(1 + σ²) = 1.00 for unit modes this far apart."""
    data = training_data(DatasetSpec.builtin("ncsn-mixture"), 10_000, 0)
    sigma = 0.041
    training = [loss_floors(data.normalized, [sigma / data.spread], n=2000, seed=s)[0] for s in SEEDS]
    population = population_floors(NCSN_TOY, [sigma])[0]
    assert population == pytest.approx(1 - sigma**2 / (1 + sigma**2), abs=1e-3)
    said_training, said_population = stated("app/score_lab/intro.py", "10,000 points, σ = 0.041:", 2)
    assert agrees(said_training, training) and said_population.agrees(population, 1e-3)


@pytest.mark.parametrize("sigma", [0.1, 1.0, 5.0])
def test_population_floor_matches_monte_carlo(sigma):
    """The Rao–Blackwellized population floor against the plain ½E‖σs* + z‖² (60k samples, s.e. ≤ 0.004)."""
    g = torch.Generator().manual_seed(3)
    x = NCSN_TOY.sample(60_000, g)
    mc = dsm_loss_floor(TOY_SCORE, x, sigma, n=60_000)
    z = torch.randn(60_000, 2, generator=g)
    per_point = 0.5 * ((sigma * TOY_SCORE(x + sigma * z, sigma) + z) ** 2).sum(1)
    se = float(per_point.std()) / math.sqrt(len(per_point))
    # the Rao–Blackwellized estimate has its own, smaller, error: √2·se bounds the difference's s.e.
    assert population_floors(NCSN_TOY, [sigma], n=20_000)[0] == pytest.approx(mc, abs=3 * math.sqrt(2) * se)


def test_population_floor_tends_to_half_the_dimension():
    """'Near σ → 0 the loss tends to d/2 = 1': z cannot be predicted from x̃."""
    mix = dataset_mixture("8-gaussians")
    values = population_floors(mix, [1e-3, 1e-2, 0.1])
    assert values[0] == pytest.approx(1.0, abs=1e-3)
    assert values[0] > values[1] > values[2]
    assert sentence("app/score_lab/intro.py", "the loss tends to d/2 = 1")


# ----------------------------------------------------------------------------- 4–5. forward noising

@pytest.mark.slow
def test_tweedie_lands_on_the_data_but_not_on_its_own_point():
    """Forward noising, moons, 1000 points (the page's default), empirical score, 8 seeds: at σ = 0.3, x̂
    is 0.22 from its own clean point (x̃: 0.35), and 84–99 % of x̂ are nearest a different data point
    for σ from 0.05 to 0.3."""
    at_03 = [recovery(forward_noising("moons", 1000, 0.3, s, 3.0)) for s in SEEDS]
    at_005 = [recovery(forward_noising("moons", 1000, 0.05, s, 3.0)) for s in SEEDS]
    for r in at_03:
        assert r.denoised_to_data < r.noisy_to_data          # "on the data" ...
        assert r.denoised_to_own > 5 * r.denoised_to_data    # ... but not "recovered"
    denoised, noisy = stated(NOISING, "at σ = 0.3, x̂ is", 2)
    assert agrees(denoised, [r.denoised_to_own for r in at_03]) and agrees(noisy, [r.noisy_to_own for r in at_03])
    low, high = stated(NOISING, "for σ from 0.05 to 0.3,", 2)
    assert agrees(low, [r.other_nearest for r in at_005], scale=100)
    assert agrees(high, [r.other_nearest for r in at_03], scale=100)


def test_marginal_score_is_not_the_conditional_score():
    """Forward noising: ∇log p_σ(x̃) = −E[z | x̃]/σ. ncsn-mixture, σ = 0.01: median ‖s‖ ≈ 1.2 against
    ‖z‖/σ ≈ 120 (8 seeds × 1000 points)."""
    runs = [recovery(forward_noising("ncsn-mixture", 1000, 0.01, s, 9.0)) for s in SEEDS]
    marginal, conditional = stated(NOISING, "the median ‖s‖ at the noisy points is", 2)
    assert agrees(marginal, [r.marginal_score for r in runs])
    assert agrees(conditional, [r.conditional_score for r in runs])
    assert sentence(NOISING, "−E[z | x̃]/σ")


# ----------------------------------------------------------------------------- 6–7. the Langevin page

def test_the_divide_is_the_anti_diagonal():
    """Both modes lie on y = x; the plain-Langevin split follows the side of x + y = 0 a particle starts on."""
    means = np.array(NCSN_TOY.means)
    assert np.allclose(means[:, 0], means[:, 1])
    r = ncsn_toy_sampling("langevin", n=400, seed=0, eps=0.1, steps=300)
    from models.score.samplers import uniform_start
    start = uniform_start(400, -8.0, 8.0, seed=0).numpy()
    side = start.sum(1) > 0
    landed = r.samples.sum(1) > 0
    assert np.mean(side == landed) > 0.95
    assert sentence(LANGEVIN, "each particle just rolls into the mode on its side of the anti-diagonal x + y = 0")


def test_heavy_side_mass_of_the_noisy_density():
    """Exact: p_σ's mass on the heavy side of x + y = 0 is 58 % at σ = 20, 75 % at 5, 80 % at 2."""
    at_20, = stated(LANGEVIN, "so large that the two modes blur into one bump — only")
    at_5, _, at_2 = stated(LANGEVIN, "around **σ ≈ 2–5** (", 3)
    assert at_20.agrees(100 * heavy_side_mass(20.0), 0)
    assert at_5.agrees(100 * heavy_side_mass(5.0), 0) and at_2.agrees(100 * heavy_side_mass(2.0), 0)


@pytest.mark.slow
def test_annealed_share_with_the_papers_settings():
    """Langevin page (twice): exact score, ε = 0.1, T = 100, σ 20 → 1, L = 10, 8 seeds × 1000."""
    shares = [ncsn_toy_sampling("annealed", n=1000, seed=s, eps=0.1, steps=100).shares[1] for s in SEEDS]
    assert agrees(stated(LANGEVIN, "By the last levels they are in about the right proportions:")[0], shares)
    assert agrees(stated(LANGEVIN, "as the exact score does (")[0], shares)


@pytest.mark.slow
@pytest.mark.parametrize("sigma_max, levels, phrase", [(5.0, 10, "σ₁ = 5 still gives about"),
                                                       (2.0, 10, "σ₁ = 2 about"),
                                                       (20.0, 2, "L = 2 levels (σ 20 → 1) about")])
def test_annealed_share_vs_the_top_of_the_ladder(sigma_max, levels, phrase):
    """Langevin page: exact score, ε = 0.1, T = 100, σ_L = 1, 8 seeds × 1000; and the seed-to-seed
    spread it quotes (±0.02 with 1000 particles)."""
    shares = [ncsn_toy_sampling("annealed", n=1000, seed=s, eps=0.1, steps=100, sigma_max=sigma_max,
                                levels=levels).shares[1] for s in SEEDS]
    assert agrees(stated(LANGEVIN, phrase)[0], shares)
    spread = stated(LANGEVIN, "L = 2 levels (σ 20 → 1) about", 2)[1]
    sd = float(np.std(shares, ddof=1))
    assert spread.agrees(sd, sd / math.sqrt(2 * (len(shares) - 1)))   # s.e. of a standard deviation


# ----------------------------------------------------------------------------- 8. sampler claims

def test_langevin_with_alpha_half_sigma_squared_is_fourteen_percent_too_wide():
    """ε = 0.5σ_L² gives α_i = σ_i²/2: noise √α_i = 0.71σ_i per step, and on a Gaussian of variance σ² the
    chain's stationary variance is σ²/(1 − α/4σ²) = 8/7 σ² (14 % too wide). 4000 chains × 2 axes: the
    variance ratio's s.e. is (8/7)·√(2/8000)."""
    sigma = 0.5
    x = langevin_dynamics(lambda x, s: -x / sigma**2, torch.zeros(4000, 2), eps=sigma**2 / 2, n_steps=200,
                          seed=0).samples
    ratio, se = float(x.var(0).mean()) / sigma**2, 8 / 7 * math.sqrt(2 / 8000)
    assert abs(ratio - 8 / 7) <= 3 * se
    noise, = stated("models/score/sampling.py", "the noise moves a particle √α_i ≈", 1)
    assert noise.agrees(math.sqrt(0.5), 0)
    wide, = stated("models/score/sampling.py", "8/7 σ_i²,", 1)
    assert wide.agrees(100 * (8 / 7 - 1), 0)


def test_sigma_times_score_is_small_at_a_typical_noisy_point():
    """Score lab caption: σ‖s‖ at noisy points of ncsn-mixture, σ = 0.1, has median ≈ 0.12, not ≈ 1
    (8 seeds × 1000)."""
    runs = [recovery(forward_noising("ncsn-mixture", 1000, 0.1, s, 9.0)) for s in SEEDS]
    assert agrees(stated("app/score_lab/results.py", "(ncsn-mixture, σ = 0.1: median")[0],
                  [0.1 * r.marginal_score for r in runs])


# ----------------------------------------------------------------------------- 9. dark is not likely

def test_the_score_vanishes_where_the_density_is_low():
    """Score lab: 'dark = the score vanishes: modes, and saddles between them'. At the centre of
    8-gaussians the score is exactly 0 yet the log-density is ~190 nats below the modes; the
    log-density map (probability-flow ODE, the page's 50 Heun steps) agrees with the true log p_σmin
    to 0.3 nats wherever it is within the 12 nats it colours (measured 0.20; 0.02 with 200 steps)."""
    mix = dataset_mixture("8-gaussians")
    data = training_data(DatasetSpec.builtin("8-gaussians"), 10_000, 0)
    ladder = default_sigmas(data.points)
    # 0 up to float32 rounding: the eight means come from cos/sin, so they cancel only to ~1e-6 (torch 2.13)
    assert float(mix.score(torch.zeros(1, 2), float(ladder[-1])).norm()) < 1e-4
    exact_model = SimpleNamespace(score=mixture_score_fn(mix), sigmas=ladder, center=data.center, spread=data.spread)
    cells = 9
    out = model_log_density(exact_model, (-3.0, 3.0), cells=cells, steps=50)
    axis = torch.tensor(out["axis"], dtype=torch.float64)
    gy, gx = torch.meshgrid(axis, axis, indexing="ij")
    true = mix.log_prob(torch.stack([gx.flatten(), gy.flatten()], 1), float(ladder[-1])).reshape(cells, cells).numpy()
    shown = true > true.max() - 12
    assert np.abs(out["log_p"] - true)[shown].max() < 0.3
    centre = out["log_p"][cells // 2, cells // 2]
    assert centre < out["log_p"].max() - 150
    assert sentence("app/score_lab/results.py",
                    "Dark = the score vanishes: at the modes, and at the saddles between them")


# ----------------------------------------------------------------------------- 10. off every mode

def test_samples_far_from_every_mode_get_their_own_share():
    """A diverged model's samples are off every mode, not split among them; exact samples are not."""
    mix = dataset_mixture("8-gaussians")
    means, stds = mix.means_tensor(), mix.stds
    good = mode_shares(mix.sample(4000, torch.Generator().manual_seed(0)), means, stds)
    assert len(good) == len(means) + 1 and good.sum() == pytest.approx(1.0)
    assert good[-1] < 1e-3
    diverged = 50 * torch.randn(1000, 2, generator=torch.Generator().manual_seed(1))
    diverged[:100] = float("nan")
    bad = mode_shares(diverged, means, stds)
    assert bad[-1] > 0.99 and bad.sum() == pytest.approx(1.0)


# ----------------------------------------------------------------------------- the predictor–corrector step

def test_predictor_corrector_takes_the_step_the_samplers_page_shows():
    """One level of `predictor_corrector`, recomputed by hand: the corrector x ← x + εs + √(2ε)z with
    ε = 2(r‖z‖/‖s‖)², the norms averaged over the particles, then one ancestral predictor step; its
    noise draws come from the seed's sampler-noise stream in that order. The page shows that update."""
    sigma, nxt, r = 2.0, 1.5, 0.1
    x = mixture_prior(NCSN_TOY, sigma).sample(2000, 0)
    out = predictor_corrector(TOY_SCORE, x, [sigma, nxt], corrector_steps=1, snr=r, seed=3, stride=1)
    g = stream(3, SAMPLER_NOISE)
    z1, z2 = torch.randn(x.shape, generator=g), torch.randn(x.shape, generator=g)
    s = TOY_SCORE(x, sigma)
    eps = 2 * (r * z1.norm(dim=1).mean() / s.norm(dim=1).mean()) ** 2
    corrected = x + eps * s + torch.sqrt(2 * eps) * z1
    noise = nxt * math.sqrt(1 - nxt**2 / sigma**2) * z2
    torch.testing.assert_close(out.frames[1], corrected + (sigma**2 - nxt**2) * TOY_SCORE(corrected, sigma) + noise)
    said = sentence(SAMPLERS, "\\varepsilon = 2(r\\\\|z\\\\|/\\\\|s\\\\|)^2")
    assert "averaged over the particles" in said, said
    assert sentence(SAMPLERS, "\\sqrt{2\\varepsilon}\\,z")
