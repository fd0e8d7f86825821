"""`python -m models.score` for flows: train/sample/straightness, reflow and guidance, and the strict contract
(an option a flow does not read is refused by name, one line, exit 2, before any work)."""

from __future__ import annotations

import csv

import pytest

from models.flow.checkpoints import is_flow_run, load_flow_run
from models.toy2d.cli import main


@pytest.fixture(scope="module")
def flow_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("flow") / "run"
    assert main(["train", "--model", "flow", "--dataset", "moons", "--steps", "60", "--hidden", "32",
                 "--n-train", "2000", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def guided_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("guided") / "run"
    assert main(["train", "--model", "flow", "--dataset", "8-gaussians", "--conditional", "--steps", "40",
                 "--hidden", "32", "--n-train", "2000", "--out", str(out)]) == 0
    return out


def _rows(path):
    with open(path) as f:
        return [r for r in csv.reader(f) if r and r[0] != "x"]


def test_train_writes_a_flow_run_and_sample_reads_it(flow_run, tmp_path, cli):
    assert is_flow_run(flow_run)
    model, history, _ = load_flow_run(flow_run)
    assert model.config.model == "flow" and model.config.hidden == 32 and history[-1]["step"] == 60
    out = tmp_path / "s.csv"
    run = cli(main, "sample", "--run", flow_run, "--sampler", "heun", "--steps", "4", "--n", "300", "--out", out)
    assert run.returncode == 0
    assert len(_rows(out)) == 300
    assert "heun, 4 steps" in run.stdout


def test_reflow_from_a_run_trains_on_its_pairs_and_straightness_reports(flow_run, tmp_path, cli):
    out = tmp_path / "reflow"
    run = cli(main, "train", "--model", "flow", "--reflow-from", flow_run, "--steps", "20", "--out", out)
    assert run.returncode == 0
    model, _, _ = load_flow_run(out)
    assert model.config.reflow == 1 and model.dataset == {"kind": "builtin", "name": "moons"}
    run = cli(main, "straightness", "--run", out, "--n", "300")
    assert run.returncode == 0
    text = run.stdout
    assert "straightness S =" in text and "4 Euler step(s): energy distance" in text


def test_guided_sampling_of_a_conditional_flow(guided_run, tmp_path, cli):
    out = tmp_path / "g.csv"
    run = cli(main, "sample", "--run", guided_run, "--class", "2", "--guidance", "3", "--n", "200", "--steps", "8",
              "--out", out)
    assert run.returncode == 0
    assert "mode 3 (90°), guidance 3" in run.stdout and len(_rows(out)) == 200


@pytest.mark.parametrize("argv, message", [
    (["train", "--model", "flow", "--dataset", "moons", "--sigma", "0.1"], "--sigma does not apply to a flow"),
    (["train", "--model", "flow", "--dataset", "moons", "--levels", "5"], "--levels does not apply to a flow"),
    (["train", "--model", "flow", "--dataset", "moons", "--objective", "dsm"], "--objective does not apply"),
    (["train", "--model", "flow"], "one of the arguments --dataset --data --text is required"),
    (["train", "--model", "flow", "--dataset", "spirals", "--conditional"], "no labels for spirals"),
    (["train", "--model", "flow", "--dataset", "moons", "--steps", "0"], "must be positive"),
    (["train", "--model", "flow", "--dataset", "moons", "--time-sampling", "cosine"], "invalid choice"),
    (["train", "--model", "flow", "--reflow-from", "RUN", "--dataset", "moons"], "do not apply with --reflow-from"),
    (["train", "--model", "flow", "--reflow-from", "RUN", "--hidden", "8"], "keeps its network's size"),
    (["train", "--model", "flow", "--reflow-from", "RUN", "--conditional"], "reflow is for unconditional flows"),
    (["sample", "--run", "RUN", "--eps", "0.1"], "--eps does not apply to a flow"),
    (["sample", "--run", "RUN", "--steps-per-level", "3"], "a flow takes --steps"),
    (["sample", "--run", "RUN", "--sampler", "annealed"], "a flow samples with euler or heun"),
    (["sample", "--run", "RUN", "--steps", "5000"], "must be at most 1,000"),
    (["sample", "--run", "RUN", "--class", "1"], "trained without classes"),
    (["sample", "--run", "RUN", "--guidance", "2"], "--guidance needs --class"),
    (["sample", "--run", "GUIDED", "--class", "8"], "--class must be from 0 to 7"),
    (["sample", "--run", "GUIDED", "--class", "1", "--guidance", "50"], "--guidance must be from 0 to 20"),
    (["straightness", "--run", "NOWHERE"], "run directory not found"),
])
def test_bad_input_is_one_line_exit_2(argv, message, flow_run, guided_run, tmp_path, cli):
    argv = [flow_run if a == "RUN" else guided_run if a == "GUIDED" else a for a in argv]
    out = tmp_path / ("x.csv" if argv[0] == "sample" else "run")
    if argv[0] != "straightness":
        argv += ["--out", out]
    rc, _, err = cli(main, *argv)
    assert rc == 2
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err
    assert not out.exists()  # refused before any work


@pytest.mark.slow
def test_straightness_at_the_largest_n_costs_linear_time(flow_run, cli, monkeypatch):
    """--n 100000 (the allowed maximum) grew as n² (5k: 5.8 s, 20k: 42 s): the paths are measured on all
    n points, the energy distances (which compare every pair) on at most a few thousand."""
    import time

    from models.flow import run as flow

    sizes = []
    real = flow.energy_distance
    monkeypatch.setattr(flow, "energy_distance", lambda a, b: sizes.append((len(a), len(b))) or real(a, b))
    real_floor = flow.energy_distance_floor
    monkeypatch.setattr(flow, "energy_distance_floor",
                        lambda draw, n, *a, **k: sizes.append((n, n)) or real_floor(draw, n, *a, **k))
    start = time.perf_counter()
    rc, out, _ = cli(main, "straightness", "--run", flow_run, "--n", "100000")
    seconds = time.perf_counter() - start
    assert rc == 0
    assert "straightness S =" in out and "energy distance" in out
    assert sizes and max(max(s) for s in sizes) <= 4000, sizes
    assert seconds < 120, seconds


@pytest.mark.parametrize("lr", ["10", "1e6"])
def test_a_flow_that_diverges_is_one_line_and_leaves_no_broken_run(tmp_path, cli, lr):
    """train --lr 10 ended in AttributeError: 'NoneType' object has no attribute 'network'."""
    out = tmp_path / "run"
    rc, _, err = cli(main, "train", "--model", "flow", "--dataset", "moons", "--lr", lr, "--steps", "300", "--hidden",
                     "32", "--n-train", "2000", "--out", out)
    assert rc == 2 and err.count("\n") == 1 and "internal error" not in err, err
    assert "training stopped" in err and "learning rate" in err
    assert not out.exists() or is_flow_run(out)  # nothing, or the last finite weights as a whole run
    assert sorted(p.name for p in tmp_path.iterdir()) in ([], ["run"])


def test_the_command_line_and_the_page_read_one_defaults_table():
    """A class-conditional flow trains for the same default number of steps from the command line as on
    How FLUX samples (the page's side: tests/app/test_app_flow_page.py), and a plain one too."""
    from models.flow.cli import training_steps
    from models.flow.defaults import DEFAULTS
    from models.toy2d.cli import build_parser

    def steps(*extra):
        return training_steps(build_parser().parse_args(["train", "--model", "flow", "--out", "x", *extra]))

    assert steps("--dataset", "8-gaussians", "--conditional") == DEFAULTS.conditional_train_steps == 6000
    assert steps("--dataset", "moons") == DEFAULTS.train_steps
    assert steps("--dataset", "moons", "--steps", "300") == 300
    assert steps("--reflow-from", "runs/flow") is None          # a reflow keeps its parent's count
    from models.flow.cli import SAMPLE_STEPS
    assert SAMPLE_STEPS == DEFAULTS.sample_steps


def test_guided_sampling_in_a_limited_interval(guided_run, tmp_path, cli):
    out = tmp_path / "g.csv"
    run = cli(main, "sample", "--run", guided_run, "--class", "1", "--guidance", "3", "--guidance-interval",
              "0.4", "0.8", "--n", "200", "--out", out)
    assert run.returncode == 0 and "guidance 3 for 0.4 < t ≤ 0.8" in run.stdout
    for bad in (["0.8", "0.4"], ["-0.1", "0.5"], ["0.2", "1.5"]):
        rc, _, err = cli(main, "sample", "--run", guided_run, "--class", "1", "--guidance", "3", "--guidance-interval",
                         *bad, "--out", tmp_path / "bad.csv")
        assert rc == 2 and "--guidance-interval" in err, (bad, err)
