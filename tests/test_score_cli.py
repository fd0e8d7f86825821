"""`python -m models.score`: end to end on a small run, and one clean line for each bad input."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from models.score.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args):
    """In a real subprocess: checks the exit code and that no traceback ever reaches the user."""
    p = subprocess.run([sys.executable, "-m", "models.score", *map(str, args)], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert "Traceback" not in p.stderr, p.stderr
    return p


class Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def cli(capsys):
    """In-process: the same `main` the module runs, minus the ~2 s interpreter + torch start-up."""
    def call(*args):
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        assert "Traceback" not in out.err
        return Result(code, out.out, out.err)
    return call


def read_points(path):
    rows = list(csv.reader(open(path)))
    assert rows[0] == ["x", "y"]
    return [(float(a), float(b)) for a, b in rows[1:]]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    p = run_cli("train", "--model", "ncsn", "--dataset", "moons", "--steps", "120", "--seed", "0",
                "--batch-size", "64", "--hidden", "32", "--depth", "2", "--levels", "4", "--out", out)
    assert p.returncode == 0, p.stderr
    assert "step    120/120" in p.stdout
    return out


def test_datasets_lists_and_writes(cli, tmp_path):
    p = cli("datasets")
    assert p.returncode == 0 and "moons" in p.stdout and "ncsn-mixture" in p.stdout
    out = tmp_path / "m.csv"
    assert cli("datasets", "swiss-roll", "--n", "50", "--seed", "2", "--out", out).returncode == 0
    assert len(read_points(out)) == 50


def test_train_writes_weights_config_and_losses(small_run):
    assert (small_run / "model.safetensors").stat().st_size > 0
    cfg = json.loads((small_run / "config.json").read_text())
    assert cfg["train"]["model"] == "ncsn" and len(cfg["sigmas"]) == 4 and cfg["dataset"]["name"] == "moons"
    rows = list(csv.reader(open(small_run / "losses.csv")))
    assert rows[0] == ["step", "loss", "sigma_1", "sigma_2", "sigma_3", "sigma_4"]
    assert rows[-1][0] == "120"


@pytest.mark.parametrize("sampler", ["annealed", "denoise", "langevin"])
def test_sample_from_a_run(cli, small_run, tmp_path, sampler):
    out = tmp_path / "s.csv"
    p = cli("sample", "--run", small_run, "--sampler", sampler, "--n", "200", "--seed", "1",
                "--steps-per-level", "5", "--steps", "50", "--out", out)
    assert p.returncode == 0, p.stderr
    pts = read_points(out)
    assert len(pts) == 200 and all(abs(x) < 50 and abs(y) < 50 for x, y in pts)


def test_sample_with_exact_reference_reproduces_mode_weights(cli, tmp_path):
    out = tmp_path / "s.csv"
    p = cli("sample", "--reference", "exact", "--dataset", "ncsn-mixture", "--sampler", "annealed",
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
    import torch
    g = torch.Generator().manual_seed(0)
    pts = torch.randn(500, 2, generator=g) * 10 + torch.tensor([100.0, 50.0])
    data.write_text("x,y\n" + "\n".join(f"{a},{b}" for a, b in pts.tolist()))
    run = tmp_path / "run"
    assert cli("train", "--data", data, "--steps", "300", "--hidden", "32", "--depth", "2",
                   "--out", run).returncode == 0
    out = tmp_path / "s.csv"
    assert cli("sample", "--run", run, "--sampler", "denoise", "--n", "300", "--out", out).returncode == 0
    s = torch.tensor(read_points(out))
    assert (s.mean(0) - torch.tensor([100.0, 50.0])).abs().max() < 3.0
    assert 5 < float(s.std(0).mean()) < 15


def test_animate_writes_a_gif(cli, small_run, tmp_path):
    out = tmp_path / "a.gif"
    p = cli("animate", "--run", small_run, "--n", "200", "--steps-per-level", "5", "--frames", "10",
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
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, case):
    files = {
        "tmp": tmp_path,
        "nan": _csv(tmp_path, "nan.csv", "x,y\n" + "1,2\n" * 12 + "nan,1\n"),
        "text": _csv(tmp_path, "text.csv", "x,y\n" + "1,2\n" * 12 + "a,b\n"),
        "onecol": _csv(tmp_path, "one.csv", "x\n" + "1\n" * 20),
        "empty": _csv(tmp_path, "empty.csv", ""),
        "few": _csv(tmp_path, "few.csv", "x,y\n" + "1,2\n" * 5),
    }
    args, needle = BAD[case]
    code = main([a.format(**files) for a in args])  # in-process: fast, same code path as the CLI
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert needle.lower() in lines[0].lower()


def test_bad_input_in_a_real_process_has_no_traceback(tmp_path):
    p = run_cli("train", "--dataset", "moon", "--out", tmp_path / "r")
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1


def test_single_sigma_denoising_network_samples_with_every_sampler(cli, tmp_path):
    run = tmp_path / "dsm"
    assert cli("train", "--model", "dsm", "--dataset", "8-gaussians", "--steps", "300", "--hidden", "32",
               "--depth", "2", "--out", run).returncode == 0
    for sampler in ("langevin", "annealed", "denoise"):
        out = tmp_path / f"{sampler}.csv"
        p = cli("sample", "--run", run, "--sampler", sampler, "--n", "300", "--steps", "300", "--out", out)
        assert p.returncode == 0, p.stderr
        pts = read_points(out)
        # 8 gaussians sit on a circle of radius 2: samples must end up near it, not at the start cloud
        import math
        radii = sorted(math.hypot(x, y) for x, y in pts)
        assert 1.3 < radii[len(radii) // 2] < 2.7
