"""The score CLI's contract for bad input: exit 2, ONE line on stderr, checked before any work,
and nothing half-written. Each case is one a careless CLI gets wrong: a traceback, a run that
never ends, gigabytes allocated, or a misleading message."""

from __future__ import annotations

import time

import pytest

from models.toy2d.cli import main


def _files(tmp_path):
    (tmp_path / "mine.txt").write_text("my notes")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "thesis.tex").write_text("my thesis")
    huge = tmp_path / "huge.csv"
    huge.write_text("x,y\n" + "".join(f"{i},{i % 3}\n" for i in range(20)) + "1e308,1\n")
    return {"tmp": tmp_path, "file": tmp_path / "mine.txt", "folder": tmp_path / "folder", "huge": huge}


REFERENCE = ["sample", "--reference", "empirical", "--dataset", "moons", "--n", "50"]
CASES = {
    "train --out an existing file": (["train", "--dataset", "moons", "--out", "{file}"], "is a file"),
    "train --out under a file": (["train", "--dataset", "moons", "--out", "{file}/run"], "is a file"),
    "train --out a folder of other files": (["train", "--dataset", "moons", "--out", "{folder}"], "other files"),
    "sample --out a folder": (["sample", "--run", "{run}", "--out", "{folder}"], "is a folder"),
    "sample --out under a file": (["sample", "--run", "{run}", "--out", "{file}/s.csv"], "is a file"),
    "animate --out a folder": (["animate", "--run", "{run}", "--out", "{folder}"], "is a folder"),
    "animate --out under a file": (["animate", "--run", "{run}", "--out", "{file}/a.gif"], "is a file"),
    "datasets --out a folder": (["datasets", "moons", "--out", "{folder}"], "is a folder"),
    "train --seed 2**70": (["train", "--dataset", "moons", "--seed", str(2**70), "--out", "{tmp}/r"], "--seed"),
    "sample --seed 2**70": (["sample", "--run", "{run}", "--seed", str(2**70), "--out", "{tmp}/s.csv"], "--seed"),
    "animate --seed -1": (["animate", "--run", "{run}", "--seed", "-1", "--out", "{tmp}/a.gif"], "--seed"),
    "datasets --seed 2**64": (["datasets", "moons", "--seed", str(2**64), "--out", "{tmp}/d.csv"], "--seed"),
    "sample --n 1e9": (["sample", "--run", "{run}", "--n", "1000000000", "--out", "{tmp}/s.csv"], "1,000,000"),
    "animate --n 1e7": (["animate", "--run", "{run}", "--n", "10000000", "--out", "{tmp}/a.gif"], "at most"),
    "animate --size 100000": (["animate", "--run", "{run}", "--size", "100000", "--out", "{tmp}/a.gif"], "2,048"),
    "animate --frames 100000": (["animate", "--run", "{run}", "--frames", "100000", "--out", "{tmp}/a.gif"],
                                "at most"),
    "train --steps 1e12": (["train", "--dataset", "moons", "--steps", "1000000000000", "--out", "{tmp}/r"],
                           "1,000,000"),
    "train --hidden 20000": (["train", "--dataset", "moons", "--hidden", "20000", "--out", "{tmp}/r"], "1,024"),
    "train --levels 10**6": (["train", "--dataset", "moons", "--levels", "1000000", "--out", "{tmp}/r"], "100"),
    "sample --sigma nan": (REFERENCE + ["--sampler", "langevin", "--sigma", "nan", "--out", "{tmp}/s.csv"],
                           "--sigma: must be a finite number"),
    "sample --sigma inf": (REFERENCE + ["--sampler", "langevin", "--sigma", "inf", "--out", "{tmp}/s.csv"],
                           "--sigma: must be a finite number"),
    "sample --start-range nan": (REFERENCE + ["--start", "uniform", "--start-range", "nan", "1",
                                              "--out", "{tmp}/s.csv"], "must be a finite number"),
    "sample --start-range backwards": (REFERENCE + ["--start", "uniform", "--start-range", "5", "1",
                                                    "--out", "{tmp}/s.csv"], "smaller"),
    "csv coordinates of 1e308": (["train", "--data", "{huge}", "--out", "{tmp}/r"], "too large"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_exit_2_before_any_work(tmp_path, cli, tiny_score_run, case):
    files = {**_files(tmp_path), "run": tiny_score_run}
    before = sorted((str(p), p.read_bytes() if p.is_file() else None) for p in tmp_path.rglob("*"))
    args, needle = CASES[case]
    started = time.perf_counter()
    code, stdout, err = cli(main, *(a.format(**files) for a in args))
    seconds = time.perf_counter() - started
    lines = err.strip().splitlines()
    assert code == 2, (stdout, err)
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert needle.lower() in lines[0].lower(), lines[0]
    assert "training" not in stdout and "wrote" not in stdout     # refused before any work...
    assert seconds < 5, seconds                                     # ...(not after a whole run)
    after = sorted((str(p), p.read_bytes() if p.is_file() else None) for p in tmp_path.rglob("*"))
    assert after == before                                          # and nothing written or replaced


def test_sigma_nan_does_not_blame_the_step_size(cli, tmp_path):
    run = cli(main, *REFERENCE, "--sampler", "langevin", "--sigma", "nan", "--out", tmp_path / "s.csv")
    assert "--eps" not in run.stderr


def test_train_may_replace_its_own_earlier_run(tmp_path, cli):
    out = tmp_path / "run"
    args = ["train", "--dataset", "moons", "--steps", "10", "--hidden", "16", "--depth", "2", "--levels", "3"]
    assert cli(main, *args, "--out", out).returncode == 0
    assert cli(main, *args, "--seed", "1", "--out", out).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "losses.csv", "model.safetensors"]
