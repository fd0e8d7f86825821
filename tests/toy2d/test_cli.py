"""`python -m models.toy2d`: one command line for every 2-D model; `python -m models.score` is the same one."""

from __future__ import annotations

import pytest

from models.toy2d.cli import main
from tests.helpers import run_module

COMMANDS = ("datasets", "train", "sample", "loglik", "animate", "straightness")


@pytest.mark.slow
@pytest.mark.parametrize("module", ["models.toy2d", "models.score"])
def test_help_lists_every_command_and_every_model(module):
    top, train = run_module(module, "--help"), run_module(module, "train", "--help")
    assert top.returncode == 0 and train.returncode == 0
    assert all(command in top.stdout for command in COMMANDS), top.stdout
    assert "{ncsn,single-sigma,flow,dsm}" in train.stdout and "--reflow-from" in train.stdout
    assert f"python -m {module}" in top.stdout


def test_train_dispatches_on_the_parsed_model_wherever_it_is_written(tmp_path, cli):
    out = tmp_path / "flow"
    assert cli(main, "train", "--dataset", "moons", "--steps", "3", "--n-train", "200", "--model=flow",
               "--out", out).returncode == 0
    assert '"kind": "flow"' in (out / "config.json").read_text()
    run = cli(main, "sample", "--steps", "2", "--n", "10", "--out", tmp_path / "s.csv", "--run", out)
    assert run.returncode == 0 and "euler, 2 steps" in run.stdout


@pytest.mark.parametrize("argv, message", [
    (["train", "--model", "ncsn", "--dataset", "moons", "--conditional"], "--conditional applies only to --model flow"),
    (["train", "--model", "single-sigma", "--dataset", "moons", "--time-sampling", "uniform"],
     "--time-sampling applies only to --model flow"),
    (["train", "--model", "ncsn"], "one of the arguments --dataset --data --text is required"),
    (["sample", "--reference", "exact", "--dataset", "ncsn-mixture", "--class", "1"],
     "--class applies only to a flow run"),
    (["sample", "--reference", "exact", "--dataset", "ncsn-mixture", "--sampler", "heun"],
     "--sampler heun samples a flow run"),
])
def test_an_option_of_the_other_family_is_refused_by_name(argv, message, tmp_path, cli):
    out = tmp_path / ("x.csv" if argv[0] == "sample" else "run")
    rc, _, err = cli(main, *argv, "--out", out)
    assert rc == 2
    assert err.count("\n") == 1 and message in err, err
    assert not out.exists()
