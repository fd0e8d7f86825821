"""Every number a page or the README states about the score models, recomputed from the math.

Each test computes a claim (exact scores, fixed seeds, small n) and, where a page prints
the number, checks that the page's text says it, so the text cannot drift from the math.
Tolerances are a few Monte-Carlo standard errors of the sample size used (noted per test).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from models.lab.datasets import DatasetSpec, dataset_mixture, training_data
from models.lab.metrics import OFF_MODE_STDS, mode_shares
from models.lab.training import limited_threads
from models.score.experiments import (NCSN_TOY, forward_noising, heavy_mode_std, heavy_side_mass,
                                      model_log_density, ncsn_toy_sampling, recovery)
from models.score.floors import loss_floors, population_floors
from models.score.noise import default_sigmas, geometric_sigmas
from models.score.reference import dsm_loss_floor, mixture_score_fn
from models.score.prior import mixture_prior
from models.lab.streams import SAMPLER_NOISE, stream
from models.score.samplers import (ancestral_step_parts, denoising_sampler, langevin_dynamics, predictor_corrector,
                                   tweedie)
from tests.claims import sentence, sentences

ROOT = Path(__file__).resolve().parents[1]
TOY_SCORE = mixture_score_fn(NCSN_TOY)


@pytest.fixture(autouse=True)
def one_thread():
    """2-D clouds are too small for intra-op threads (one thread is many times faster on a busy machine)."""
    with limited_threads(1):
        yield


def says(path: str, *phrases: str) -> None:
    """The file's text contains each phrase (adjacent string literals joined, whitespace-insensitive,
    so line wrapping does not matter)."""
    raw = re.sub(r'"\s*\n\s*f?"', "", (ROOT / path).read_text(encoding="utf-8"))
    text = " ".join(raw.split())
    for phrase in phrases:
        assert " ".join(phrase.split()) in text, f"{path} should say {phrase!r}"


def heavy_share(x: torch.Tensor) -> float:
    return float(mode_shares(x, NCSN_TOY.means_tensor())[1])


# ----------------------------------------------------------------------------- 1. same score, different samplers

def test_ancestral_step_is_not_one_langevin_step():
    """Home/README: a Langevin chain with exactly the ancestral drift (one step per level, exact score,
    exact prior p_σmax) is NOT the ancestral sampler: heavy share ≈ 0.70, std ≈ 1.45 vs 0.80 and 0.98.
    n = 2000: share s.e. ≈ 0.009, so ±0.03; std s.e. ≈ 0.025, so ±0.08."""
    data = training_data(DatasetSpec.builtin("ncsn-mixture"), 10_000, 0)
    ladder = default_sigmas(data.points)
    fine = [float(s) for s in geometric_sigmas(float(ladder[0]), float(ladder[-1]), 100)]
    n, g = 2000, torch.Generator().manual_seed(1)
    x0 = NCSN_TOY.sample(n, g) + fine[0] * torch.randn(n, 2, generator=g)  # exactly p_σmax
    ancestral = denoising_sampler(TOY_SCORE, x0, fine, seed=0).samples
    x, g = x0.clone(), torch.Generator().manual_seed(0)
    for big, small in zip(fine, fine[1:]):  # drift Δσ²·s (the ancestral one) → Langevin α = 2Δσ²
        step = big**2 - small**2
        x = x + step * TOY_SCORE(x, big) + math.sqrt(2 * step) * torch.randn(x.shape, generator=g)
    assert heavy_share(ancestral) == pytest.approx(0.80, abs=0.03)
    assert heavy_mode_std(ancestral) == pytest.approx(0.98, abs=0.08)
    assert heavy_share(x) == pytest.approx(0.70, abs=0.03)
    assert heavy_mode_std(x) == pytest.approx(1.45, abs=0.08)
    for path in ("app/views/home.py", "README.md"):
        says(path, "0.70", "1.45", "0.80", "0.98")


ANCESTRAL_TEXTS = ("app/views/home.py", "app/views/samplers.py", "models/score/samplers.py",
                   "models/score/sampler_comparison.py")


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
    assert "exactly the drift" in sentence("app/views/home.py", "One step of the denoising (ancestral) sampler")
    for path in ("app/views/home.py", "app/views/samplers.py"):
        assert "σᵢ₊₁/σᵢ" in sentence(path, "smaller than that Langevin step's by the factor")
        assert "reverse SDE" in sentence(path, "Euler–Maruyama step")


# ----------------------------------------------------------------------------- 2. the final Tweedie step

def test_final_tweedie_step_shrinks_the_variance():
    """Langevin page: with σ_L = 1 and unit-variance modes, x̂ = x + σ²s turns std √2 = 1.41 into
    1/√2 = 0.71 (truth 1.00): the variance ends at 1/(1 + σ_L²) of the truth's. Exact samples of p_1,
    n = 20000: std s.e. ≈ 0.006."""
    g = torch.Generator().manual_seed(0)
    x = NCSN_TOY.sample(20_000, g) + torch.randn(20_000, 2, generator=g)   # exactly p_σ with σ = 1
    assert heavy_mode_std(x) == pytest.approx(math.sqrt(2), abs=0.03)
    assert heavy_mode_std(tweedie(x, 1.0, TOY_SCORE(x, 1.0))) == pytest.approx(1 / math.sqrt(2), abs=0.02)
    says("app/views/langevin.py", "1.41", "0.71", "1/(1 + σ_L²)")


def test_annealed_langevin_with_and_without_the_final_step():
    """What the Langevin page shows with its checkbox (paper settings, n = 1000: std s.e. ≈ 0.03)."""
    kw = dict(n=1000, seed=0, eps=0.1, steps=100)
    assert ncsn_toy_sampling("annealed", **kw).heavy_std == pytest.approx(1.43, abs=0.08)
    assert ncsn_toy_sampling("annealed", final_denoise=True, **kw).heavy_std == pytest.approx(0.72, abs=0.05)
    says("app/views/langevin.py", "1.43 to 0.72")


# ----------------------------------------------------------------------------- 3. loss floors

def test_training_set_floor_is_a_memorizing_floor_at_small_sigma():
    """Score lab: ncsn-mixture, 10,000 points, σ_min = 0.041: the training-set floor is ≈ 0.88, the
    population floor ≈ 1.00 (= 1 − σ²/(1 + σ²) for unit modes this far apart). 2000 queries: s.e. ≈ 0.006."""
    data = training_data(DatasetSpec.builtin("ncsn-mixture"), 10_000, 0)
    sigma = 0.041
    assert loss_floors(data.normalized, [sigma / data.spread], n=2000)[0] == pytest.approx(0.88, abs=0.02)
    assert population_floors(NCSN_TOY, [sigma])[0] == pytest.approx(1 - sigma**2 / (1 + sigma**2), abs=1e-3)
    says("app/score_lab/intro.py", "0.88", "1.00")


@pytest.mark.parametrize("sigma", [0.1, 1.0, 5.0])
def test_population_floor_matches_monte_carlo(sigma):
    """The Rao–Blackwellized population floor against the plain ½E‖σs* + z‖² (60k samples, s.e. ≤ 0.004)."""
    g = torch.Generator().manual_seed(3)
    mc = dsm_loss_floor(TOY_SCORE, NCSN_TOY.sample(60_000, g), sigma, n=60_000)
    assert population_floors(NCSN_TOY, [sigma], n=20_000)[0] == pytest.approx(mc, abs=0.015)


def test_population_floor_tends_to_half_the_dimension():
    """'Near σ → 0 the loss tends to d/2 = 1': z cannot be predicted from x̃."""
    mix = dataset_mixture("8-gaussians")
    values = population_floors(mix, [1e-3, 1e-2, 0.1])
    assert values[0] == pytest.approx(1.0, abs=1e-3)
    assert values[0] > values[1] > values[2]
    says("app/score_lab/intro.py", "d/2 = 1")


# ----------------------------------------------------------------------------- 4–5. forward noising

def test_tweedie_lands_on_the_data_but_not_on_its_own_point():
    """Forward noising, moons, 1000 points (the page's default), empirical score.
    σ = 0.3: x̂ is 0.23 from its own clean point (x̃: 0.36); 85–99 % of x̂ are nearest a different
    data point for σ from 0.05 to 0.3. Medians of 1000 distances: s.e. ≈ 0.01."""
    at_03 = recovery(forward_noising("moons", 1000, 0.3, 0, 3.0))
    assert at_03.denoised_to_own == pytest.approx(0.23, abs=0.02)
    assert at_03.noisy_to_own == pytest.approx(0.36, abs=0.02)
    assert at_03.denoised_to_data < at_03.noisy_to_data   # "on the data" ...
    assert at_03.denoised_to_own > 5 * at_03.denoised_to_data  # ... but not "recovered"
    at_005 = recovery(forward_noising("moons", 1000, 0.05, 0, 3.0))
    assert 0.80 <= at_005.other_nearest <= 0.90 and 0.97 <= at_03.other_nearest <= 1.0
    says("app/views/forward_noising.py", "0.23", "0.36", "85–99 %")


def test_marginal_score_is_not_the_conditional_score():
    """Forward noising: ∇log p_σ(x̃) = −E[z | x̃]/σ. ncsn-mixture, σ = 0.01: median ‖s‖ ≈ 1.2 against
    ‖z‖/σ ≈ 120 (1000 points: median s.e. ≈ 3 %)."""
    r = recovery(forward_noising("ncsn-mixture", 1000, 0.01, 0, 9.0))
    assert r.marginal_score == pytest.approx(1.18, rel=0.06)
    assert r.conditional_score == pytest.approx(118, rel=0.06)
    says("app/views/forward_noising.py", "1.2", "120", "−E[z | x̃]/σ")


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
    says("app/views/langevin.py", "x + y = 0")


def test_heavy_side_mass_of_the_noisy_density():
    """Exact: p_σ's mass on the heavy side of x + y = 0 is 0.58 at σ = 20, 0.75 at 5, 0.80 at 2."""
    assert heavy_side_mass(20.0) == pytest.approx(0.583, abs=1e-3)
    assert heavy_side_mass(5.0) == pytest.approx(0.750, abs=1e-3)
    assert heavy_side_mass(2.0) == pytest.approx(0.800, abs=1e-3)
    says("app/views/langevin.py", "58 %", "σ ≈ 2–5")


@pytest.mark.parametrize("sigma_max, levels, share", [(5.0, 10, 0.78), (2.0, 10, 0.57), (20.0, 2, 0.58)])
def test_annealed_share_vs_the_top_of_the_ladder(sigma_max, levels, share):
    """Langevin page: exact score, ε = 0.1, T = 100, σ_L = 1. n = 1000: seed-to-seed spread ±0.02,
    so ±0.035."""
    r = ncsn_toy_sampling("annealed", n=1000, seed=0, eps=0.1, steps=100, sigma_max=sigma_max, levels=levels)
    assert r.shares[1] == pytest.approx(share, abs=0.035)
    says("app/views/langevin.py", f"{share:.2f}")


# ----------------------------------------------------------------------------- 8. sampler claims

def test_langevin_with_alpha_half_sigma_squared_is_fourteen_percent_too_wide():
    """ε = 0.5σ_L² gives α_i = σ_i²/2: noise √α_i = 0.71σ_i per step, and on a Gaussian of variance σ²
    the chain's stationary variance is σ²/(1 − α/4σ²) = 8/7 σ² (14 % too wide). 4000 chains,
    variance s.e. ≈ 2 %, so ±0.05."""
    assert math.sqrt(0.5) == pytest.approx(0.71, abs=0.005)
    sigma = 0.5
    x = langevin_dynamics(lambda x, s: -x / sigma**2, torch.zeros(4000, 2), eps=sigma**2 / 2, n_steps=200,
                          seed=0).samples
    assert float(x.var(0).mean()) / sigma**2 == pytest.approx(8 / 7, abs=0.05)
    says("models/score/sampling.py", "0.71 σ_i", "8/7 σ_i², 14 % too wide")


def test_sigma_times_score_is_small_at_a_typical_noisy_point():
    """Score lab caption: σ‖s‖ at noisy points of ncsn-mixture, σ = 0.1, has median ≈ 0.12, not ≈ 1."""
    r = recovery(forward_noising("ncsn-mixture", 1000, 0.1, 0, 9.0))
    assert 0.1 * r.marginal_score == pytest.approx(0.12, abs=0.015)
    says("app/score_lab/results.py", "0.12")


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
    says("app/score_lab/results.py", "Dark = the score vanishes: at the modes, and at the saddles between them")


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
    assert OFF_MODE_STDS == 5.0


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
    predicted = corrected + (sigma**2 - nxt**2) * TOY_SCORE(corrected, sigma) + nxt * math.sqrt(1 - nxt**2 / sigma**2) * z2
    torch.testing.assert_close(out.frames[1], predicted)
    said = sentence("app/views/samplers.py", "\\varepsilon = 2(r\\\\|z\\\\|/\\\\|s\\\\|)^2")
    assert "averaged over the particles" in said, said
    assert sentence("app/views/samplers.py", "\\sqrt{2\\varepsilon}\\,z")
