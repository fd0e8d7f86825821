"""Run folders and zips round-trip; the command line's contract (exit 2 + one line for every bad input)."""

from __future__ import annotations

import json
import zipfile
import io

import numpy as np
import pytest
import torch

from models.core.errors import InputError
from models.text_to_image.cli import main
from models.text_to_image.runs import load_run, load_run_zip, run_zip_bytes, save_run
from models.text_to_image.sample import generate


def same_images(a, b):
    return torch.equal(generate(a.model, "a slanted two", n=6, seed=5).images,
                       generate(b.model, "a slanted two", n=6, seed=5).images)


def test_run_folder_and_zip_round_trip(trained, tmp_path):
    save_run(tmp_path / "run", trained)
    back = load_run(tmp_path / "run")
    assert same_images(trained, back)
    assert back.seen_ids == trained.seen_ids and back.steps_trained == trained.steps_trained
    assert back.config == trained.config and len(back.history) == len(trained.history)
    from_zip = load_run_zip(run_zip_bytes(trained))
    assert same_images(trained, from_zip) and from_zip.seen_ids == trained.seen_ids


def test_a_damaged_or_foreign_run_is_refused_in_one_line(trained, tmp_path):
    d = save_run(tmp_path / "run", trained)
    cfg = json.loads((d / "config.json").read_text())
    cfg["seen_token_ids"] = [-1]
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(InputError, match="seen_token_ids"):
        load_run(d)
    cfg["seen_token_ids"], cfg["kind"] = [], "flow"
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(InputError, match="not a text-to-image run"):
        load_run(d)
    cfg["kind"] = "text-to-image"
    (d / "config.json").write_text(json.dumps(cfg))
    (d / "model.safetensors").write_bytes(b"x" * 100)
    with pytest.raises(InputError, match="not the file its config.json was saved with"):
        load_run(d)
    with pytest.raises(InputError, match="not a zip"):
        load_run_zip(b"not a zip")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("config.json", "{}")
    with pytest.raises(InputError, match="no model.safetensors"):
        load_run_zip(buf.getvalue())
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="already holds other files"):
        save_run(tmp_path / "other", trained)


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    assert main(["train", "--out", str(out), "--steps", "20", "--seed", "2"]) == 0
    return out


def test_cli_trains_samples_and_reads_tokens(cli_run, tmp_path, cli):
    assert (cli_run / "model.safetensors").is_file() and (cli_run / "losses.csv").is_file()
    npy, png = tmp_path / "a.npy", tmp_path / "a.png"
    assert cli(main, "sample", "--run", cli_run, "--prompt", "seven", "--n", "5", "--steps", "3", "--guidance",
               "2.5", "--seed", "1", "--out", npy).returncode == 0
    images = np.load(npy)
    assert images.shape == (5, 8, 8) and images.dtype == np.float32 and 0 <= images.min() and images.max() <= 1
    assert cli(main, "sample", "--run", cli_run, "--prompt", "seven", "--n", "5", "--out", png).returncode == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    tokens = cli(main, "tokens", "--run", cli_run, "семь seven")
    assert tokens.returncode == 0
    out = tokens.stdout.splitlines()
    assert any("seen" in line and "seven" in line for line in out)
    assert any("UNSEEN" in line for line in out) and "never seen" in out[-1]


@pytest.mark.parametrize("args, message", [
    ([], "required"),
    (["paint"], "invalid choice"),
    (["train", "--out", "{tmp}/r", "--steps", "0"], "--steps"),
    (["train", "--out", "{tmp}/r", "--seed", "x"], "--seed"),
    (["train", "--out", "{tmp}/file.txt"], "is a file"),
    (["sample", "--run", "{run}", "--prompt", "7", "--out", "{tmp}/a.jpg"], ".png"),
    (["sample", "--run", "{run}", "--prompt", "7", "--out", "{tmp}"], ".png"),
    (["sample", "--run", "{run}", "--prompt", "7", "--out", "{tmp}/file.txt/a.png"], "is a file"),
    (["sample", "--run", "{run}", "--prompt", "7", "--steps", "21", "--out", "{tmp}/a.png"], "at most 20"),
    (["sample", "--run", "{run}", "--prompt", "7", "--guidance", "9", "--out", "{tmp}/a.png"], "from 0 to 8"),
    (["sample", "--run", "{run}", "--prompt", "7", "--guidance", "inf", "--out", "{tmp}/a.png"], "from 0 to 8"),
    (["sample", "--run", "{run}", "--prompt", "7", "--n", "0", "--out", "{tmp}/a.png"], "--n"),
    (["sample", "--run", "{tmp}/none", "--prompt", "7", "--out", "{tmp}/a.png"], "not found"),
    (["sample", "--run", "{tmp}", "--prompt", "7", "--out", "{tmp}/a.png"], "missing"),
    (["sample", "--run", "{run}", "--prompt", "x" * 1001, "--out", "{tmp}/a.png"], "1,000"),
    (["tokens", "--run", "{run}"], "required"),
])
def test_cli_bad_input_exits_2_with_one_line(args, message, cli_run, tmp_path, cli):
    (tmp_path / "file.txt").write_text("x")
    rc, _, err = cli(main, *(a.format(tmp=tmp_path, run=cli_run) for a in args))
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err
