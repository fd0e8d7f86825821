"""The tiny random-weight FLUX-shaped pipeline: built offline, deterministic, written atomically."""

from __future__ import annotations

import hashlib
import json

import pytest

from models.flux import FluxError
from models.flux.tiny import (
    MARKER_FILE, TINY_MODEL_ID, TINY_REVISION, ensure_tiny_pipeline, is_tiny_pipeline, make_tiny_pipeline, tiny_revision,
)

COMPONENTS = ("scheduler", "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2", "transformer", "vae")


def _digest(folder):
    """Hash of every weight/config file (not the marker), to compare two builds."""
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MARKER_FILE):
        h.update(str(path.relative_to(folder)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def test_tiny_pipeline_has_flux_layout(tiny_dir):
    index = json.loads((tiny_dir / "model_index.json").read_text())
    assert index["_class_name"] == "FluxPipeline"
    for name in COMPONENTS:
        assert (tiny_dir / name).is_dir(), name
        assert index[name][1], name
    assert is_tiny_pipeline(tiny_dir)
    assert json.loads((tiny_dir / MARKER_FILE).read_text())["model_id"] == TINY_MODEL_ID
    size = sum(p.stat().st_size for p in tiny_dir.rglob("*") if p.is_file())
    assert size < 5_000_000  # tiny: a few hundred kB
    vae = json.loads((tiny_dir / "vae" / "config.json").read_text())
    assert vae["shift_factor"] == 0.1159 and vae["scaling_factor"] == 0.3611 and vae["latent_channels"] == 16


def test_tiny_pipeline_loads_and_runs_offline(tiny_pipe):
    import torch

    assert type(tiny_pipe).__name__ == "FluxPipeline"
    assert tiny_pipe.vae_scale_factor == 8  # as in FLUX: 4 VAE blocks
    out = tiny_pipe("a lighthouse", num_inference_steps=2, guidance_scale=0.0, height=64, width=32,
                    max_sequence_length=64, generator=torch.Generator("cpu").manual_seed(0)).images[0]
    assert out.size == (32, 64)
    # Tokenizers work on any text, offline: byte-level CLIP, character-level T5.
    assert tiny_pipe.tokenizer("naïve café ✓").input_ids[0] == 0
    assert tiny_pipe.tokenizer_2("abc").input_ids[-1] == 1  # </s>


@pytest.mark.slow
def test_make_tiny_cli_is_deterministic_and_atomic(tiny_dir, tmp_path, run_cli):
    target = tmp_path / "again"
    run = run_cli("make-tiny", target)
    assert run.returncode == 0, run.stderr
    assert "random weights" in run.stdout
    assert _digest(target) == _digest(tiny_dir)  # seeded: same weights, byte for byte
    # Nothing half-built left beside it (built in a temp folder, then renamed).
    assert sorted(p.name for p in tmp_path.iterdir() if p.name not in ("outputs", "hf-cache")) == ["again"]

    # ensure_tiny_pipeline keeps a complete pipeline as it is ...
    stamp = (target / "model_index.json").stat().st_mtime_ns
    assert ensure_tiny_pipeline(target) == target.resolve()
    assert (target / "model_index.json").stat().st_mtime_ns == stamp
    # ... and never replaces a folder without the marker: it may be real weights (or anything else).
    marker_text = (target / MARKER_FILE).read_text()
    (target / MARKER_FILE).unlink()
    with pytest.raises(FluxError, match="not a demo pipeline"):
        ensure_tiny_pipeline(target)
    assert not is_tiny_pipeline(target) and _digest(target) == _digest(tiny_dir)
    (target / MARKER_FILE).write_text(marker_text)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name not in ("outputs", "hf-cache")) == ["again"]
    # A pipeline of an older recipe is rebuilt (its images would carry the wrong revision).
    marker = json.loads((target / MARKER_FILE).read_text())
    (target / MARKER_FILE).write_text(json.dumps({**marker, "revision": "v0"}))
    assert tiny_revision(target) == "v0"
    ensure_tiny_pipeline(target)
    assert tiny_revision(target) == TINY_REVISION
    # A builder that lost the race to another process keeps the winner's complete folder.
    stamp = (target / "model_index.json").stat().st_mtime_ns
    assert make_tiny_pipeline(target, replace_existing=False) == target.resolve()
    assert (target / "model_index.json").stat().st_mtime_ns == stamp
    assert sorted(p.name for p in tmp_path.iterdir() if p.name not in ("outputs", "hf-cache")) == ["again"]


# ----------------------------------------------------------------------------- never delete a user's files

def _user_targets(home):
    """A folder of someone's files, a plain file, and symbolic links to each: what make-tiny must refuse."""
    home.mkdir()
    folder = home / "thesis"
    folder.mkdir()
    (folder / "chapter1.tex").write_text("three years of work")
    plain = home / "notes.txt"
    plain.write_text("keep me")
    (home / "link-to-folder").symlink_to(folder)
    (home / "link-to-file").symlink_to(plain)
    return [folder, plain, home / "link-to-folder", home / "link-to-file"]


def _everything(home):
    return {str(p.relative_to(home)): (p.is_symlink(), p.read_bytes() if p.is_file() else None)
            for p in sorted(home.rglob("*"))}


def test_make_tiny_refuses_a_target_that_is_not_its_own_pipeline(tmp_path, run_cli):
    targets = _user_targets(tmp_path / "home")
    before = _everything(tmp_path / "home")
    for target in targets:
        run = run_cli("make-tiny", target)
        assert run.returncode == 2, (target, run.stdout, run.stderr)
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and "not a demo pipeline" in lines[0], run.stderr
    assert _everything(tmp_path / "home") == before  # every file, link and folder as it was


def test_dc_tiny_dir_pointing_at_user_files_is_refused_even_by_info(tmp_path, cli, cli_env, run_cli):
    from models.flux.cli import main

    targets = _user_targets(tmp_path / "home")
    before = _everything(tmp_path / "home")
    for target in targets:  # in this process (the shared `cli` fixture): no interpreter start-up per target
        env = {**cli_env, "DC_TINY_DIR": str(target)}
        run = cli(main, "generate", "a cat", "--model", "tiny", "--out", tmp_path / "out", env=env)
        assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1, run.stderr
        cli(main, "info", "--model", "tiny", env=env)
    # The real entry, once: `python -m models.flux` refuses the link to someone's folder in one line too.
    run = run_cli("generate", "a cat", "--model", "tiny", "--out", tmp_path / "out",
                  env={**cli_env, "DC_TINY_DIR": str(tmp_path / "home" / "link-to-folder")})
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert _everything(tmp_path / "home") == before


def test_make_tiny_may_fill_an_empty_folder_and_replace_its_own_pipeline(tmp_path, tiny_dir):
    import shutil

    empty = tmp_path / "empty"
    empty.mkdir()
    assert is_tiny_pipeline(make_tiny_pipeline(empty))
    ours = tmp_path / "ours"
    shutil.copytree(tiny_dir, ours)
    make_tiny_pipeline(ours)
    assert is_tiny_pipeline(ours) and _digest(ours) == _digest(tiny_dir)
    (ours / "my-notes.txt").write_text("added by hand")  # a file the build did not write: refused too
    with pytest.raises(FluxError, match="not a demo pipeline"):
        make_tiny_pipeline(ours)
    assert (ours / "my-notes.txt").read_text() == "added by hand"
