"""Options are spelled out on every command line: argparse's abbreviations (`--mod` for `--model`) made
`--mod flow` say "invalid choice: 'flow'", and a later option could silently change what one means."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("module, argv", [
    ("models.toy2d.cli", ["train", "--mod", "flow", "--dataset", "moons", "--steps", "1", "--out", "run"]),
    ("models.toy2d.cli", ["train", "--dataset", "moons", "--ste", "1", "--out", "run"]),
    ("models.flux.cli", ["tokens", "a cat", "--max", "5"]),
    ("models.text_to_image.cli", ["tokens", "a one", "--run", "run", "--he"]),
])
def test_an_abbreviated_option_is_refused_in_one_line(module, argv, cli, tmp_path, monkeypatch):
    import importlib

    monkeypatch.chdir(tmp_path)
    rc, _, err = cli(importlib.import_module(module).main, *argv)  # a parser may exit by itself: cli takes both
    assert rc == 2 and err.count("\n") == 1, err
    assert "unrecognized arguments" in err and "invalid choice" not in err, err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("device, words", [("cuda", "no CUDA GPU"), ("cuda:3", "no CUDA GPU"),
                                           ("banana", "not a device")])
def test_a_device_this_machine_lacks_is_one_line_before_any_work(tiny_score_run, tmp_path, cli, device, words):
    """`sample --device cuda` without a GPU ended in torch's AssertionError."""
    import torch

    from models.toy2d.cli import main

    if device.startswith("cuda") and torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    rc, _, err = cli(main, "sample", "--run", tiny_score_run, "--device", device, "--n", "10",
                     "--out", tmp_path / "s.csv")
    assert rc == 2 and err.count("\n") == 1 and words in err, err
    assert not (tmp_path / "s.csv").exists()


@pytest.mark.parametrize("command", [["datasets", "moons"], ["sample", "--run", "{run}", "--n", "10"],
                                     ["animate", "--run", "{run}", "--n", "10", "--frames", "2"]])
def test_an_output_the_system_will_not_let_us_write_is_one_line(tiny_score_run, cli, command):
    """sample, animate and datasets ended in a PermissionError traceback for an unwritable --out."""
    from pathlib import Path

    from models.toy2d.cli import main

    if not Path("/sys/kernel").is_dir():
        pytest.skip("needs Linux's /sys, which nobody may create files in")
    argv = [a.replace("{run}", str(tiny_score_run)) for a in command]
    suffix = ".gif" if command[0] == "animate" else ".csv"
    rc, _, err = cli(main, *argv, "--out", f"/sys/diffusion-classroom-test{suffix}")
    assert rc == 2 and err.count("\n") == 1, err
    assert "internal error" not in err and ".tmp" not in err and f"diffusion-classroom-test{suffix}" in err, err


@pytest.mark.parametrize("kind", ["link to /dev/zero", "pipe", "huge"])
def test_a_run_whose_config_is_no_small_regular_file_is_refused_without_reading_it(tmp_path, kind):
    """`sample --run DIR` read config.json whole before checking its size: 4.3 GB from a link to /dev/zero."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    run = tmp_path / "run"
    run.mkdir()
    (run / "model.safetensors").write_bytes(b"\0" * 16)
    config = run / "config.json"
    if kind == "pipe":
        os.mkfifo(config)
    elif kind == "huge":
        with open(config, "wb") as f:
            f.truncate(3 * 2**30)  # sparse: 3 GB that take no disk
    else:
        config.symlink_to("/dev/zero")
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30)); "
            "from models.toy2d.cli import main; sys.exit(main(sys.argv[1:]))")
    done = subprocess.run([sys.executable, "-c", code, "sample", "--run", str(run), "--out", str(tmp_path / "s.csv")],
                          cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr[-500:]
    assert "config.json" in done.stderr and not (tmp_path / "s.csv").exists()


def test_a_run_whose_replace_was_killed_half_way_is_restored_by_the_next_load(tiny_score_run, tmp_path, cli):
    """SIGKILL between atomic_folder's two renames left only .run.old-* / .run.new-*: the run looked gone."""
    import shutil

    from models.toy2d.cli import main

    aside = tmp_path / ".run.old-abc123"
    aside.mkdir()
    shutil.copytree(tiny_score_run, aside / "run")
    (tmp_path / ".run.new-xyz789").mkdir()  # the new run, half written
    (tmp_path / ".run.new-xyz789" / "config.json").write_text("{")
    import os

    os.utime(tmp_path / ".run.new-xyz789", (0, 0))
    rc, _, err = cli(main, "sample", "--run", tmp_path / "run", "--n", "10", "--out", tmp_path / "s.csv")
    assert rc == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "s.csv"]


@pytest.fixture(scope="module")
def flow_run(tmp_path_factory):
    from models.toy2d.cli import main

    out = tmp_path_factory.mktemp("options-flow") / "run"
    assert main(["train", "--model", "flow", "--dataset", "moons", "--steps", "20", "--hidden", "16",
                 "--n-train", "500", "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("command", [
    ["sample", "--run", "{score}", "--n", "10", "--out", "{score}/config.json"],
    ["sample", "--run", "{score}", "--n", "10", "--out", "{score}/samples.csv"],
    ["animate", "--run", "{score}", "--n", "10", "--out", "{score}/model.safetensors"],
    ["sample", "--run", "{flow}", "--n", "10", "--out", "{flow}/config.json"],
    ["train", "--model", "flow", "--reflow-from", "{flow}", "--steps", "5", "--out", "{flow}"],
])
def test_an_output_inside_the_run_it_reads_is_refused_and_the_run_survives(tiny_score_run, flow_run, cli, command):
    """`sample --run R --out R/config.json` exited 0 and destroyed the run."""
    from models.toy2d.cli import main

    before = {run: {p.name: p.read_bytes() for p in run.iterdir()} for run in (tiny_score_run, flow_run)}
    argv = [a.replace("{score}", str(tiny_score_run)).replace("{flow}", str(flow_run)) for a in command]
    rc, _, err = cli(main, *argv)
    assert rc == 2 and err.count("\n") == 1 and "the run --" in err, err
    assert before == {run: {p.name: p.read_bytes() for p in run.iterdir()} for run in (tiny_score_run, flow_run)}
