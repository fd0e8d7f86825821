"""The tiny random-weight FLUX-shaped pipeline: built offline, deterministic, written atomically."""

from __future__ import annotations

import hashlib
import json

from models.flux.tiny import (
    MARKER_FILE, TINY_MODEL_ID, TINY_REVISION, ensure_tiny_pipeline, is_tiny_pipeline, make_tiny_pipeline, tiny_revision,
)

pytest_plugins = ["tests.flux_fixtures"]

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
    # ... and rebuilds an incomplete one (no marker: e.g. an interrupted copy).
    (target / MARKER_FILE).unlink()
    ensure_tiny_pipeline(target)
    assert is_tiny_pipeline(target) and _digest(target) == _digest(tiny_dir)
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
