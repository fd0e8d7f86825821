"""The "One score, many samplers" page, driven headless with AppTest: the decomposition panel and
the loss-conventions numbers on first load, the comparison table after one click (exact score)."""

import time

import pytest

from models.lab.datasets import dataset_mixture
from models.score.loss_conventions import decode_reported_losses, gaussian_dsm_optimum, mixture_level
from tests.helpers import open_page



def test_loss_conventions_numbers():
    dec = decode_reported_losses()
    assert dec.dsm_sigma_ratio == pytest.approx(25.0, abs=0.1)          # 0.0016 as our DSM: σ ≈ 25 × the data std
    assert dec.x0_sigma_unit_modes == pytest.approx(0.040, abs=0.002)   # 0.0016 as an x̂₀ MSE per coordinate
    assert dec.implicit_ladder == pytest.approx(-0.0025, abs=0.0003)    # 0.1 → 0.01 ladder, NCSN toy
    assert gaussian_dsm_optimum(1.0, dec.dsm_sigma_ratio) == pytest.approx(0.0016, rel=1e-6)
    level = mixture_level(dataset_mixture("ncsn-mixture"), 0.05)
    assert level.implicit < 0 < level.dsm
    assert level.x0_mse == pytest.approx(0.05**2 * level.dsm)          # 2σ²ℓ/d with d = 2


def test_page_shows_the_decomposition_and_runs_every_sampler_on_one_click():
    at = open_page("views/samplers.py")
    assert at.title[0].value == "One score, many samplers"
    steps = at.table[0].value
    assert list(steps["step"])[0].startswith("ancestral step")
    # the two halves each carry half the ancestral drift; the ODE half adds no noise
    assert steps["mean ‖drift‖"][1] == pytest.approx(steps["mean ‖drift‖"][0] / 2, rel=1e-3)
    assert steps["noise std per coordinate"][1] == 0
    assert steps["noise std per coordinate"][0] / steps["noise std per coordinate"][2] == pytest.approx(0.9, abs=1e-3)
    text = " ".join(e.value for e in at.expander[0].markdown)
    assert "≈ **25×**" in text and "≈ **0.040**" in text and "**-0.0025**" in text
    at.button(key="sm_run").click().run()
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        time.sleep(1)
        at.run()
        if len(at.table) >= 2:  # the comparison table appears above the decomposition table
            break
    assert not at.exception, [e.value for e in at.exception]
    table = at.table[0].value
    assert list(table["sampler"]) == ["annealed Langevin (Langevin only)", "reverse SDE (ancestral)",
                                      "predictor–corrector", "probability-flow ODE (Heun)"]
    heavy = table["heaviest-mode share (truth 0.80)"]
    assert all(abs(h - 0.80) <= 0.03 for h in heavy), list(heavy)
    assert list(table["score calls"]) == [1001, 100, 200, 200]  # Heun: two calls per step
    assert len(at.get("vega_lite_chart")) == 4
