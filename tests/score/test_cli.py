"""`python -m models.score`: end to end on a small run, and one clean line for each bad input."""

import csv
import json

import pytest
import torch

from models.toy2d.cli import main
from tests.helpers import run_module


def read_points(path):
    rows = list(csv.reader(open(path)))
    assert rows[0] == ["x", "y"]
    return [(float(a), float(b)) for a, b in rows[1:]]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    p = run_module("models.score", "train", "--model", "ncsn", "--dataset", "moons", "--steps", "120", "--seed", "0",
                   "--batch-size", "64", "--hidden", "32", "--depth", "2", "--levels", "4", "--out", out)
    assert p.returncode == 0, p.stderr
    assert "step    120/120" in p.stdout
    return out


def test_datasets_lists_and_writes(cli, tmp_path):
    p = cli(main, "datasets")
    assert p.returncode == 0 and "moons" in p.stdout and "ncsn-mixture" in p.stdout
    out = tmp_path / "m.csv"
    assert cli(main, "datasets", "swiss-roll", "--n", "50", "--seed", "2", "--out", out).returncode == 0
    assert len(read_points(out)) == 50


def test_train_writes_weights_config_and_losses(small_run):
    assert (small_run / "model.safetensors").stat().st_size > 0
    cfg = json.loads((small_run / "config.json").read_text())
    assert cfg["train"]["model"] == "ncsn" and len(cfg["sigmas"]) == 4 and cfg["dataset"]["name"] == "moons"
    rows = list(csv.reader(open(small_run / "losses.csv")))
    assert rows[0] == ["step", "loss", "sigma_1", "sigma_2", "sigma_3", "sigma_4"]
    assert rows[-1][0] == "120"


# the options each sampler reads (any other one is an error, see the REJECTED table)
SAMPLER_OPTIONS = {"annealed": ["--steps-per-level", "5"], "denoise": ["--levels", "20"], "langevin": ["--steps", "50"]}


@pytest.mark.parametrize("sampler", list(SAMPLER_OPTIONS))
def test_sample_from_a_run(cli, small_run, tmp_path, sampler):
    out = tmp_path / "s.csv"
    p = cli(main, "sample", "--run", small_run, "--sampler", sampler, "--n", "200", "--seed", "1",
            *SAMPLER_OPTIONS[sampler], "--out", out)
    assert p.returncode == 0, p.stderr
    pts = read_points(out)
    assert len(pts) == 200 and all(abs(x) < 50 and abs(y) < 50 for x, y in pts)


def test_sample_with_exact_reference_reproduces_mode_weights(cli, tmp_path):
    out = tmp_path / "s.csv"
    p = cli(main, "sample", "--reference", "exact", "--dataset", "ncsn-mixture", "--sampler", "annealed",
                "--n", "1000", "--seed", "0", "--sigma-max", "20", "--sigma-min", "1", "--levels", "10",
                "--eps", "0.1", "--steps-per-level", "100", "--no-final-denoise", "--start", "uniform", "--out", out)
    assert p.returncode == 0, p.stderr
    pts = read_points(out)
    upper = sum(1 for x, y in pts if x + y > 0) / len(pts)
    assert upper == pytest.approx(0.8, abs=0.04)


def test_csv_training_is_sampled_back_in_the_files_own_coordinates(cli, tmp_path):
    # points around (100, 50) with spread ~10: the network trains on standardized points,
    # samples must come back where the data is.
    data = tmp_path / "mine.csv"
    g = torch.Generator().manual_seed(0)
    pts = torch.randn(500, 2, generator=g) * 10 + torch.tensor([100.0, 50.0])
    data.write_text("x,y\n" + "\n".join(f"{a},{b}" for a, b in pts.tolist()))
    run = tmp_path / "run"
    assert cli(main, "train", "--data", data, "--steps", "300", "--hidden", "32", "--depth", "2",
                   "--out", run).returncode == 0
    out = tmp_path / "s.csv"
    assert cli(main, "sample", "--run", run, "--sampler", "denoise", "--n", "300", "--out", out).returncode == 0
    s = torch.tensor(read_points(out))
    assert (s.mean(0) - torch.tensor([100.0, 50.0])).abs().max() < 3.0
    assert 5 < float(s.std(0).mean()) < 15


def test_animate_writes_a_gif(cli, small_run, tmp_path):
    out = tmp_path / "a.gif"
    p = cli(main, "animate", "--run", small_run, "--sampler", "annealed", "--n", "200", "--steps-per-level", "5", "--frames", "10",
                "--out", out)
    assert p.returncode == 0, p.stderr
    assert out.read_bytes()[:6] in (b"GIF87a", b"GIF89a")


def _csv(tmp_path, name, text):
    f = tmp_path / name
    f.write_text(text)
    return f


BAD = {
    "unknown dataset": (["train", "--dataset", "moon", "--steps", "5", "--out", "{tmp}/r"], "did you mean"),
    "csv with NaN": (["train", "--data", "{nan}", "--steps", "5", "--out", "{tmp}/r"], "nan"),
    "csv with text": (["train", "--data", "{text}", "--steps", "5", "--out", "{tmp}/r"], "line"),
    "csv with one column": (["train", "--data", "{onecol}", "--steps", "5", "--out", "{tmp}/r"], "column"),
    "empty csv": (["train", "--data", "{empty}", "--steps", "5", "--out", "{tmp}/r"], "empty"),
    "csv under 10 rows": (["train", "--data", "{few}", "--steps", "5", "--out", "{tmp}/r"], "10"),
    "missing csv": (["train", "--data", "{tmp}/none.csv", "--steps", "5", "--out", "{tmp}/r"], "not found"),
    "zero steps": (["train", "--dataset", "moons", "--steps", "0", "--out", "{tmp}/r"], "positive"),
    "negative sigma": (["train", "--dataset", "moons", "--sigma-min", "-1", "--out", "{tmp}/r"], "positive"),
    "sigma min above max": (["train", "--dataset", "moons", "--sigma-min", "2", "--sigma-max", "1",
                             "--out", "{tmp}/r"], "smaller"),
    "missing run dir": (["sample", "--run", "{tmp}/nothing", "--out", "{tmp}/s.csv"], "not found"),
    "exact score without a mixture": (["sample", "--reference", "exact", "--dataset", "moons",
                                       "--out", "{tmp}/s.csv"], "no exact score"),
    "reference without data": (["sample", "--reference", "empirical", "--out", "{tmp}/s.csv"], "needs the data"),
    "unknown option": (["train", "--dataset", "moons", "--stepz", "5", "--out", "{tmp}/r"], "unrecognized"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_exits_2_with_one_line(tmp_path, cli, case):
    files = {
        "tmp": tmp_path,
        "nan": _csv(tmp_path, "nan.csv", "x,y\n" + "1,2\n" * 12 + "nan,1\n"),
        "text": _csv(tmp_path, "text.csv", "x,y\n" + "1,2\n" * 12 + "a,b\n"),
        "onecol": _csv(tmp_path, "one.csv", "x\n" + "1\n" * 20),
        "empty": _csv(tmp_path, "empty.csv", ""),
        "few": _csv(tmp_path, "few.csv", "x,y\n" + "1,2\n" * 5),
    }
    args, needle = BAD[case]
    code, _, err = cli(main, *(a.format(**files) for a in args))  # in-process: fast, same code path as the CLI
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert needle.lower() in lines[0].lower()


def test_bad_input_in_a_real_process_has_no_traceback(tmp_path):
    p = run_module("models.score", "train", "--dataset", "moon", "--out", tmp_path / "r")
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def single_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("single")
    assert main(["train", "--model", "single-sigma", "--dataset", "8-gaussians", "--steps", "300", "--hidden", "32",
                 "--depth", "2", "--out", str(out)]) == 0
    return out


def test_single_sigma_run_samples_with_langevin_by_default(cli, single_run, tmp_path):
    assert json.loads((single_run / "config.json").read_text())["train"]["model"] == "single-sigma"
    default, langevin = tmp_path / "default.csv", tmp_path / "langevin.csv"
    assert cli(main, "sample", "--run", single_run, "--n", "300", "--steps", "300", "--out", default).returncode == 0
    p = cli(main, "sample", "--run", single_run, "--sampler", "langevin", "--n", "300", "--steps", "300", "--out", langevin)
    assert p.returncode == 0, p.stderr
    assert default.read_bytes() == langevin.read_bytes()
    # 8 gaussians sit on a circle of radius 2: samples must end up near it, not at the start cloud
    import math
    radii = sorted(math.hypot(x, y) for x, y in read_points(default))
    assert 1.3 < radii[len(radii) // 2] < 2.7


def test_single_sigma_run_ends_with_the_tweedie_step_unless_told_not_to(cli, single_run, tmp_path):
    # The same recipe as the Score lab: plain Langevin at the model's σ, then x + σ² s(x, σ).
    default, plain = tmp_path / "default.csv", tmp_path / "plain.csv"
    assert cli(main, "sample", "--run", single_run, "--n", "200", "--steps", "50", "--out", default).returncode == 0
    p = cli(main, "sample", "--run", single_run, "--n", "200", "--steps", "50", "--no-final-denoise", "--out", plain)
    assert p.returncode == 0, p.stderr
    from models.score.checkpoints import load_run
    from models.score.samplers import tweedie

    model = load_run(single_run)
    x = torch.tensor(read_points(plain), dtype=torch.float32)
    expected = tweedie(x, model.sigma, model.score(x, model.sigma))
    torch.testing.assert_close(torch.tensor(read_points(default), dtype=torch.float32), expected,
                               rtol=1e-4, atol=1e-4)


def test_old_model_spelling_dsm_still_trains_with_one_note(cli, tmp_path):
    run = tmp_path / "old"
    p = cli(main, "train", "--model", "dsm", "--dataset", "moons", "--steps", "20", "--hidden", "16", "--depth", "1",
            "--out", run)
    assert p.returncode == 0
    assert p.stderr.strip().splitlines() == ["note: --model dsm is now --model single-sigma"]
    assert json.loads((run / "config.json").read_text())["train"]["model"] == "single-sigma"


# Options that do not apply: exit 2, one line naming the option and why. {run} is a 4-level NCSN run
# (σ's about 3.4 → 0.005 on moons), {single} a single-σ run.
S = ["sample", "--n", "50", "--out", "{tmp}/s.csv"]
T = ["train", "--dataset", "moons", "--steps", "5", "--out", "{tmp}/r"]
REJECTED = {
    "langevin --steps-per-level": (S + ["--run", "{run}", "--sampler", "langevin", "--steps-per-level", "7"],
                                   "--steps-per-level applies only to --sampler annealed "
                                   "(plain Langevin takes --steps)"),
    "annealed --steps": (S + ["--run", "{run}", "--steps", "7"], "--steps applies only to --sampler langevin"),
    "annealed --sigma": (S + ["--run", "{run}", "--sampler", "annealed", "--sigma", "0.1"],
                         "--sigma applies only to --sampler langevin"),
    "denoise --sigma": (S + ["--run", "{run}", "--sampler", "denoise", "--sigma", "0.1"],
                        "--sigma applies only to --sampler langevin"),
    "denoise --final-denoise": (S + ["--run", "{run}", "--sampler", "denoise", "--final-denoise"],
                                "--final-denoise applies only to --sampler annealed or langevin"),
    "denoise --no-final-denoise": (S + ["--run", "{run}", "--sampler", "denoise", "--no-final-denoise"],
                                   "--no-final-denoise applies only to --sampler annealed or langevin"),
    "denoise --eps": (S + ["--run", "{run}", "--sampler", "denoise", "--eps", "0.1"], "--eps applies only to"),
    "denoise --steps-per-level": (S + ["--run", "{run}", "--sampler", "denoise", "--steps-per-level", "3"],
                                  "--steps-per-level applies only to --sampler annealed"),
    "langevin --levels": (S + ["--run", "{run}", "--sampler", "langevin", "--levels", "10"],
                          "--levels applies only to --sampler annealed or denoise"),
    "langevin --sigma-min": (S + ["--reference", "exact", "--dataset", "ncsn-mixture", "--sampler", "langevin",
                                  "--sigma-min", "1"], "--sigma-min applies only to --sampler annealed or denoise"),
    "langevin --sigma-max": (S + ["--run", "{run}", "--sampler", "langevin", "--sigma-max", "1"],
                             "--sigma-max applies only to --sampler annealed or denoise"),
    "langevin --final-denoise at sigma 0": (S + ["--reference", "exact", "--dataset", "ncsn-mixture", "--sampler",
                                                 "langevin", "--sigma", "0", "--eps", "0.1", "--final-denoise"],
                                            "--final-denoise needs σ > 0"),
    "sigma 0 without eps": (S + ["--reference", "exact", "--dataset", "ncsn-mixture", "--sampler", "langevin",
                                 "--sigma", "0"], "give a step size with --eps"),
    "--run with --dataset": (S + ["--run", "{run}", "--dataset", "moons"], "--dataset applies only to --reference"),
    "--run with --data": (S + ["--run", "{run}", "--data", "{tmp}/x.csv"], "--data applies only to --reference"),
    "--run with --text": (S + ["--run", "{run}", "--text", "HI"], "--text applies only to --reference"),
    "--run with --n-train": (S + ["--run", "{run}", "--n-train", "100"], "--n-train applies only to --reference"),
    "--run with --sigma-max above its ladder": (S + ["--run", "{run}", "--sigma-max", "50"],
                                                "--sigma-max 50 is outside the run's trained noise range"),
    "--run with --sigma-min below its ladder": (S + ["--run", "{run}", "--sampler", "denoise", "--sigma-min", "1e-5"],
                                                "--sigma-min 1e-05 is outside the run's trained noise range"),
    "--run langevin --sigma outside": (S + ["--run", "{run}", "--sampler", "langevin", "--sigma", "0"],
                                       "--sigma 0 is outside the run's trained noise range"),
    "--levels 1": (S + ["--run", "{run}", "--sampler", "denoise", "--levels", "1"], "--levels must be at least 2"),
    "--start-range without uniform": (S + ["--run", "{run}", "--start-range", "-1", "1"],
                                      "--start-range applies only to --start uniform"),
    "single-sigma run, annealed": (S + ["--run", "{single}", "--sampler", "annealed"],
                                   "a single-σ model has no noise ladder: use --sampler langevin"),
    "single-sigma run, denoise": (S + ["--run", "{single}", "--sampler", "denoise"],
                                  "a single-σ model has no noise ladder: use --sampler langevin"),
    "single-sigma run, --levels": (S + ["--run", "{single}", "--levels", "5"],
                                   "--levels applies only to --sampler annealed or denoise"),
    "single-sigma run, --sigma": (S + ["--run", "{single}", "--sigma", "0.5"], "knows only its own σ"),
    "train ncsn --sigma": (T + ["--model", "ncsn", "--sigma", "0.1"], "--sigma applies only to --model single-sigma"),
    "train default model --sigma": (T + ["--sigma", "0.1"], "--sigma applies only to --model single-sigma"),
    "train single-sigma --levels": (T + ["--model", "single-sigma", "--levels", "10"],
                                    "--levels applies only to --model ncsn"),
    "train single-sigma --sigma-min": (T + ["--model", "single-sigma", "--sigma-min", "0.1"],
                                       "--sigma-min applies only to --model ncsn"),
    "train old dsm --sigma-max": (T + ["--model", "dsm", "--sigma-max", "3"],
                                  "--sigma-max applies only to --model ncsn"),
    "animate langevin on an NCSN": (["animate", "--run", "{run}", "--sampler", "langevin", "--out", "{tmp}/a.gif"],
                                    "--sampler langevin: animate walks an NCSN down its ladder"),
    "animate annealed on a single-sigma run": (["animate", "--run", "{single}", "--sampler", "annealed",
                                                "--out", "{tmp}/a.gif"], "a single-σ model has no noise ladder"),
    "animate denoise --steps-per-level": (["animate", "--run", "{run}", "--sampler", "denoise", "--steps-per-level",
                                           "5", "--out", "{tmp}/a.gif"], "--steps-per-level applies only to"),
    "datasets --n without a name": (["datasets", "--n", "5"], "--n applies only when writing"),
}


@pytest.mark.parametrize("case", list(REJECTED))
def test_an_option_that_does_not_apply_is_an_error(tmp_path, cli, small_run, single_run, case):
    args, needle = REJECTED[case]
    code, _, err = cli(main, *(a.format(tmp=tmp_path, run=small_run, single=single_run) for a in args))
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert needle in lines[0]
    assert not (tmp_path / "s.csv").exists() and not (tmp_path / "r").exists() and not (tmp_path / "a.gif").exists()


def _sample_csv(cli, tmp_path, name, *args):
    out = tmp_path / name
    p = cli(main, "sample", "--n", "200", "--seed", "3", *args, "--out", out)
    assert p.returncode == 0, p.stderr
    return out


def test_explicit_levels_on_a_run_relader_it(cli, small_run, tmp_path):
    # by default annealed walks 50 levels between the run's ends; an explicit --levels 10 must mean 10
    from models.score.checkpoints import load_run
    from models.score.noise import geometric_sigmas
    from models.score.run import model_prior
    from models.score.sampling import sample_annealed_langevin
    own = _sample_csv(cli, tmp_path, "own.csv", "--run", small_run, "--sampler", "annealed", "--steps-per-level", "5")
    ten = _sample_csv(cli, tmp_path, "ten.csv", "--run", small_run, "--sampler", "annealed", "--steps-per-level", "5", "--levels", "10")
    assert own.read_bytes() != ten.read_bytes()
    model = load_run(small_run)
    sigmas = geometric_sigmas(float(model.sigmas[0]), float(model.sigmas[-1]), 10)
    expected = sample_annealed_langevin(model.score, sigmas, n=200, seed=3, steps_per_level=5, prior=model_prior(model))
    assert torch.tensor(read_points(ten)) == pytest.approx(expected.samples, abs=1e-5)


def test_langevin_final_denoise_is_one_tweedie_step(cli, small_run, tmp_path):
    from models.score.checkpoints import load_run
    plain = _sample_csv(cli, tmp_path, "plain.csv", "--run", small_run, "--sampler", "langevin", "--steps", "30")
    finished = _sample_csv(cli, tmp_path, "final.csv", "--run", small_run, "--sampler", "langevin", "--steps", "30",
                           "--final-denoise")
    model = load_run(small_run)
    x = torch.tensor(read_points(plain))
    expected = x + model.sigma**2 * model.score(x, model.sigma)
    assert torch.tensor(read_points(finished)) == pytest.approx(expected, abs=1e-4)
    assert not torch.allclose(torch.tensor(read_points(finished)), x, atol=1e-4)


def test_annealed_no_final_denoise_is_honoured(cli, small_run, tmp_path):
    on = _sample_csv(cli, tmp_path, "on.csv", "--run", small_run, "--sampler", "annealed", "--steps-per-level", "5")
    off = _sample_csv(cli, tmp_path, "off.csv", "--run", small_run, "--sampler", "annealed", "--steps-per-level", "5", "--no-final-denoise")
    assert on.read_bytes() != off.read_bytes()


def test_sigma_inside_a_runs_range_is_honoured(cli, small_run, tmp_path):
    from models.score.checkpoints import load_run
    model = load_run(small_run)
    mid = (float(model.sigmas[0]) * float(model.sigmas[-1])) ** 0.5
    low = _sample_csv(cli, tmp_path, "low.csv", "--run", small_run, "--sampler", "langevin", "--steps", "20")
    at_mid = _sample_csv(cli, tmp_path, "mid.csv", "--run", small_run, "--sampler", "langevin", "--steps", "20",
                         "--sigma", f"{mid}")
    assert low.read_bytes() != at_mid.read_bytes()


def test_animate_a_single_sigma_run(cli, single_run, tmp_path):
    out = tmp_path / "a.gif"
    p = cli(main, "animate", "--run", single_run, "--n", "100", "--frames", "5", "--out", out)
    assert p.returncode == 0, p.stderr
    assert out.read_bytes()[:6] in (b"GIF87a", b"GIF89a")
