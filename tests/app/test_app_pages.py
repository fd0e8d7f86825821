"""Home, Langevin, Forward noising and Memorization pages, driven headless with AppTest.

Widget values are set small through session_state so the file stays fast on 2 cores;
the numbers checked are the ones the pages show to students.
"""

import re
import time

import pytest

from tests.helpers import MAIN, charts, metric, new_session, open_page, run_python

def _percent(text: str) -> float:
    return float(re.fullmatch(r"([\d.]+)%", text).group(1)) / 100


def test_home_links_every_page_and_names_the_device():
    at = new_session()
    at.run()
    assert not at.exception
    pages = {el.proto.page for el in at.get("page_link")}
    assert pages == {"gallery", "score_lab", "langevin", "forward_noising", "memorization", "samplers",
                     "how_flux_samples", "text_to_image"}
    # torch loads in the background on a cold process; the line's fragment reruns until it is there
    deadline = time.monotonic() + 30
    while not (device := [m.value for m in at.markdown if "Device in use" in m.value]) and time.monotonic() < deadline:
        time.sleep(0.2)
        at.run()
    assert device and re.search(r"`(cpu|cuda|mps)`", device[0])
    assert re.search(r"\d+ PyTorch CPU threads", device[0])


def test_home_does_not_import_the_image_stack_or_the_job_machinery():
    # diffusers/transformers cost seconds to import: the first page a class sees must not wait for them.
    # Nor for the job pools (~30 ms of a cold start's first run; bench_app part 1): they load with a lab page.
    code = ("import sys; from streamlit.testing.v1 import AppTest; "
            "at = AppTest.from_file(sys.argv[1], default_timeout=60); at.run(); assert not at.exception; "
            "print(sorted(m for m in ('diffusers', 'transformers', 'app.ui.resources', 'models.core.jobs', "
            "'models.core.workers') if m in sys.modules))")
    out = run_python(code, MAIN)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_langevin_page_shows_the_ncsn_toy_result():
    at = open_page("views/langevin.py", lv_n=600)
    annealed = _percent(metric(at, "Annealed · share at (5, 5)"))
    plain = _percent(metric(at, "Plain · share at (5, 5)"))
    assert abs(annealed - 0.8) <= 0.05, annealed
    assert abs(plain - 0.5) <= 0.1, plain
    # each half: a scatter with data + samples + trajectories, and the share bars
    assert len(charts(at)) == 4
    # the top of the ladder: σ₁ = 5 (the default there) still gives about 80/20, σ₁ = 2 does not
    assert abs(_percent(metric(at, "From this σ₁ · annealed share")) - 0.78) <= 0.05
    assert metric(at, "p_σ₁ on the heavy side") == "75%"
    at.select_slider(key="lv_sigma_top").set_value(2.0)
    at.run()
    assert abs(_percent(metric(at, "From this σ₁ · annealed share")) - 0.57) <= 0.05
    assert metric(at, "p_σ₁ on the heavy side") == "80%"

    # Annealing with a single tiny noise range is plain Langevin again: the shares drift back.
    at.session_state["lv_sigma"] = (0.1, 0.3)
    at.session_state["lv_L"] = 2
    at.run()
    assert not at.exception
    assert abs(_percent(metric(at, "Annealed · share at (5, 5)")) - 0.5) <= 0.1


def test_forward_noising_sigma_slider_moves_the_data():
    at = open_page("views/forward_noising.py", fn_n=200)
    before = charts(at)
    assert len(before) == 3
    noisy_before = [r for r in before[0]["rows"] if r["set"] == "noisy x̃"]
    assert len(noisy_before) == 200
    gap_small = float(metric(at, "median distance: denoised x̂ → nearest data point"))
    # σ = 0.3: x̂ is closer to its own clean point than x̃ is, yet mostly nearest another data point
    own = float(metric(at, "median distance: denoised x̂ → its own clean x"))
    assert gap_small < own < float(metric(at, "median distance: noisy x̃ → its own clean x"))
    assert _percent(metric(at, "denoised x̂ nearest a different data point")) > 0.8

    at.select_slider(key="fn_sigma").set_value(2.0)
    at.run()
    assert not at.exception
    after = charts(at)
    noisy_after = [r for r in after[0]["rows"] if r["set"] == "noisy x̃"]
    assert noisy_after != noisy_before
    assert "σ = 2" in after[0]["spec"]["title"]
    # More noise: the noisy points are farther from the data than before.
    spread = lambda rows: sum(abs(r["x"]) + abs(r["y"]) for r in rows) / len(rows)  # noqa: E731
    assert spread(noisy_after) > spread(noisy_before)
    # Tweedie at large σ lands near the posterior mean, not on the data: the gap grows.
    assert float(metric(at, "median distance: denoised x̂ → nearest data point")) > gap_small


def test_memorization_empirical_score_copies_network_does_not():
    at = open_page("views/memorization.py", mem_n_train=40, mem_n_samples=250, mem_steps=300)
    spread = float(metric(at, "Data spread"))
    empirical = float(metric(at, "Empirical score: median distance"))
    assert empirical < 0.05 * spread
    # The network trains in the background; the page polls it. Rerun until its result shows.
    deadline = time.monotonic() + 60
    while not any(m.label.startswith("Network: median") for m in at.metric):
        if time.monotonic() > deadline:
            pytest.fail("the background training job did not finish within 60 s")
        time.sleep(1)
        at.run()
        assert not at.exception
    network = float(metric(at, "Network: median distance"))
    assert network > 0.05 * spread > empirical
    hist = charts(at)[-1]["rows"]
    assert {r["set"] for r in hist} == {"empirical optimal score", "trained network", "fresh data (yardstick)"}


def test_langevin_network_section_starts_only_on_request():
    at = open_page("views/langevin.py", lv_n=100)
    assert "lv_net_job" not in at.session_state
    assert at.button(key="lv_train").label == "Train the network"


@pytest.mark.parametrize("page, param", [("views/score_lab.py", "run"), ("views/how_flux_samples.py", "flow"),
                                         ("views/text_to_image.py", "run")])
def test_an_address_naming_a_run_the_server_no_longer_keeps_says_so(page, param):
    """After a server restart (or long after the tab closed) an old ?run= link opened a blank page."""
    at = open_page(page, query={param: "from-before-the-restart"})
    assert any("no longer kept on the server" in w.value for w in at.warning), [w.value for w in at.warning]
    assert param not in at.query_params
