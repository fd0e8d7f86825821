"""The score CLI's samplers and loglik: pc and ode, the data-centred prior,
the data-scaled plain-Langevin ε with its barely-moved warning, and `loglik` against the truth."""

from __future__ import annotations

import re

import pytest

from models.lab.datasets import dataset_mixture, read_points_csv
from models.lab.metrics import mode_shares
from models.toy2d.cli import main

TOY = dataset_mixture("ncsn-mixture")
EXACT = ["sample", "--reference", "exact", "--dataset", "ncsn-mixture"]


@pytest.fixture(scope="module")
def tiny_ncsn(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny") / "run"
    assert main(["train", "--dataset", "8-gaussians", "--steps", "30", "--hidden", "16", "--depth", "2",
                 "--levels", "3", "--batch-size", "32", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def tiny_single(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny_single") / "run"
    assert main(["train", "--model", "single-sigma", "--dataset", "moons", "--steps", "20", "--hidden", "16",
                 "--depth", "2", "--out", str(out)]) == 0
    return out


def test_ode_with_100_steps_and_the_exact_score_gives_the_heavy_share(cli, tmp_path):
    out = tmp_path / "ode.csv"
    code, stdout, err = cli(main, *EXACT, "--sampler", "ode", "--steps", "100", "--n", "3000", "--out", out)
    assert code == 0, err
    assert float(mode_shares(read_points_csv(out), TOY.means_tensor())[1]) == pytest.approx(0.80, abs=0.02)


@pytest.mark.parametrize("sampler", ["pc", "ode"])
def test_pc_and_ode_sample_a_run(cli, tmp_path, tiny_ncsn, sampler):
    out = tmp_path / "s.csv"
    code, stdout, err = cli(main, "sample", "--run", tiny_ncsn, "--sampler", sampler, "--n", "50",
                              "--out", out)
    assert code == 0, err
    assert f"({sampler})" in stdout and read_points_csv(out).shape == (50, 2)


def test_ode_solvers_differ_and_the_seed_only_picks_the_start(cli, tmp_path, tiny_ncsn):
    paths = {}
    for name, extra in {"heun": [], "euler": ["--solver", "euler"], "heun again": []}.items():
        paths[name] = tmp_path / f"{name}.csv"
        code, _, err = cli(main, "sample", "--run", tiny_ncsn, "--sampler", "ode", "--steps", "10", "--n", "40",
                             *extra, "--out", paths[name])
        assert code == 0, err
    assert paths["heun"].read_bytes() == paths["heun again"].read_bytes()
    assert paths["heun"].read_bytes() != paths["euler"].read_bytes()


REJECTED = {
    "annealed --solver": (["--sampler", "annealed", "--solver", "heun"], "--solver applies only to --sampler ode"),
    "pc --steps": (["--sampler", "pc", "--steps", "10"], "--steps applies only to --sampler langevin or ode"),
    "pc --eps": (["--sampler", "pc", "--eps", "0.1"], "--eps applies only to --sampler annealed or langevin"),
    "ode --levels": (["--sampler", "ode", "--levels", "10"], "--levels applies only to --sampler annealed or "
                                                              "denoise or pc"),
    "ode --final-denoise": (["--sampler", "ode", "--final-denoise"], "--final-denoise applies only to"),
    "ode --steps-per-level": (["--sampler", "ode", "--steps-per-level", "3"], "--steps-per-level applies only to"),
    "langevin --solver": (["--sampler", "langevin", "--solver", "euler"], "--solver applies only to --sampler ode"),
}


@pytest.mark.parametrize("case", list(REJECTED))
def test_an_option_a_sampler_does_not_read_is_one_line_exit_2(cli, tmp_path, case):
    extra, needle = REJECTED[case]
    code, stdout, err = cli(main, *EXACT, *extra, "--n", "20", "--out", tmp_path / "s.csv")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], err
    assert not (tmp_path / "s.csv").exists()


def test_plain_langevin_warns_when_particles_barely_moved(cli, tmp_path):
    # the old default ε = 0.5 σ_L² (1.7e-4 here) left the particles where they started
    code, _, err = cli(main, *EXACT, "--sampler", "langevin", "--eps", "0.00017", "--steps", "100",
                         "--n", "200", "--out", tmp_path / "timid.csv")
    assert code == 0 and err.startswith("warning: particles barely moved"), err
    code, _, err = cli(main, *EXACT, "--sampler", "langevin", "--steps", "100", "--n", "200",
                         "--out", tmp_path / "default.csv")
    assert code == 0 and err == "", err


def test_loglik_with_the_exact_score_matches_the_true_density(tmp_path, cli):
    points = tmp_path / "mix.csv"
    assert cli(main, "datasets", "ncsn-mixture", "--n", "100", "--seed", "7", "--out", points).returncode == 0
    code, stdout, err = cli(main, "loglik", "--reference", "exact", "--dataset", "ncsn-mixture",
                              "--data", points, "--steps", "100")
    assert code == 0, err
    model = float(re.search(r"mean log-likelihood (-?[\d.]+)", stdout).group(1))
    true = float(re.search(r"true mean log-density (-?[\d.]+)", stdout).group(1))
    assert model == pytest.approx(true, abs=0.05)
    assert true == pytest.approx(float(TOY.log_prob(read_points_csv(points).double(), 0.0417).mean()), abs=0.01)


def test_loglik_of_a_run_prints_the_models_number(tmp_path, tiny_ncsn, cli):
    points = tmp_path / "p.csv"
    assert cli(main, "datasets", "8-gaussians", "--n", "50", "--out", points).returncode == 0
    code, stdout, err = cli(main, "loglik", "--run", tiny_ncsn, "--data", points, "--steps", "5")
    assert code == 0, err
    assert "mean log-likelihood" in stdout and "true mean log-density" in stdout  # 8-gaussians is a mixture


LOGLIK_BAD = {
    "run with --dataset": (["--run", "{run}", "--dataset", "moons"], "--dataset applies only to --reference exact"),
    "exact without --dataset": (["--reference", "exact"], "--reference exact needs --dataset"),
    "exact on moons": (["--reference", "exact", "--dataset", "moons"], "no exact score for moons"),
    "single-sigma run": (["--run", "{single}"], "needs an NCSN run"),
    "no --data": (["--reference", "exact", "--dataset", "ncsn-mixture", "--data", "{tmp}/none.csv"], "not found"),
}


@pytest.mark.parametrize("case", list(LOGLIK_BAD))
def test_loglik_bad_input_is_one_line_exit_2(cli, tmp_path, tiny_ncsn, tiny_single, case):
    points = tmp_path / "p.csv"
    points.write_text("x,y\n" + "".join(f"{i},{i % 3}\n" for i in range(12)))
    args, needle = LOGLIK_BAD[case]
    args = [a.format(run=tiny_ncsn, single=tiny_single, tmp=tmp_path) for a in args]
    if "--data" not in args:
        args += ["--data", str(points)]
    code, _, err = cli(main, "loglik", *args)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and needle in lines[0], err
