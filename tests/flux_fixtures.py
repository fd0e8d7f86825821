"""Shared fixtures of the FLUX engine tests (tests/conftest.py loads them for every test).

The tiny random-weight pipeline is built ONCE per test session (a few seconds) into a temp folder.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path
from types import SimpleNamespace

import pytest

from models.flux.settings import SCHNELL_REPO_ID
from tests.helpers import ROOT as REPO
from tests.helpers import run_module


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory) -> Path:
    from models.flux.tiny import make_tiny_pipeline

    return make_tiny_pipeline(tmp_path_factory.mktemp("tiny-flux") / "pipeline")


@pytest.fixture(scope="session")
def empty_hf_cache(tmp_path_factory) -> Path:
    """A Hugging Face cache with nothing in it: 'auto' then means the tiny demo."""
    return tmp_path_factory.mktemp("hf-cache-empty")


@pytest.fixture
def tiny_settings(tiny_dir, empty_hf_cache, tmp_path):
    from models.flux.settings import FluxSettings

    return FluxSettings(model="tiny", output_dir=tmp_path / "outputs", tiny_dir=tiny_dir,
                        cache_dir=empty_hf_cache, prompts_file=tmp_path / "prompts.toml")


@pytest.fixture(scope="session")
def tiny_pipe(tiny_dir):
    """The tiny pipeline, loaded once (for tests that call it directly)."""
    from models.flux.loading import load_pipeline, plan_memory, resolve_model
    from models.flux.settings import FluxSettings

    source = resolve_model(str(tiny_dir), FluxSettings(tiny_dir=tiny_dir))
    return load_pipeline(source, plan_memory(source))


def copy_without_marker(src: Path, dst: Path) -> Path:
    """A copy of the tiny pipeline that does not say it is the demo (stands in for real weights)."""
    from models.flux.tiny import MARKER_FILE

    shutil.copytree(src, dst)
    (dst / MARKER_FILE).unlink()
    return dst


def make_hf_cache(cache: Path, repo_id: str, pipeline: Path, commit: str = "0123456789abcdef0123456789abcdef01234567"):
    """Lay out `pipeline` as huggingface_hub does: models--org--name/snapshots/<commit>/ + refs/main."""
    repo_dir = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo_dir / "snapshots" / commit
    copy_without_marker(pipeline, snapshot)
    (repo_dir / "refs").mkdir(parents=True)
    (repo_dir / "refs" / "main").write_text(commit)
    return snapshot


def _cli_env(tiny_dir: Path, tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DC_")}
    env.update(PYTHONPATH=str(REPO), DC_TINY_DIR=str(tiny_dir), DC_OUTPUT_DIR=str(tmp_path / "outputs"),
               DC_HF_CACHE=str(tmp_path / "hf-cache"), HF_HUB_OFFLINE="1")
    return env


@pytest.fixture
def cli_env(tiny_dir, tmp_path) -> dict:
    """Environment for `python -m models.flux` subprocesses: repo importable, all paths inside tmp_path."""
    return _cli_env(tiny_dir, tmp_path)


@pytest.fixture
def run_cli(cli_env):
    """run_cli(*args, env=None, timeout=300) -> CompletedProcess of `python -m models.flux *args` in a fresh
    interpreter (tests/helpers.run_module), with `cli_env` unless `env` is given."""
    def run(*args, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
        return run_module("models.flux", *args, env=env or cli_env, timeout=timeout)
    return run


@pytest.fixture
def flux_cli(cli, cli_env):
    """flux_cli(*args) -> (exit status, stdout, stderr) of `python -m models.flux *args` run in this process
    (the shared `cli` fixture), with `cli_env` set."""
    from models.flux.cli import main

    return lambda *args: cli(main, *args, env=cli_env)


@pytest.fixture(scope="session")
def flux_helpers():
    """Helper functions: copy_without_marker(src, dst), make_hf_cache(cache, repo_id, pipeline, commit)."""
    return SimpleNamespace(copy_without_marker=copy_without_marker, make_hf_cache=make_hf_cache, repo=REPO)


def write(tmp_path: Path, text: str, name: str = "p.toml") -> Path:
    """`text` as the UTF-8 file tmp_path/name (a prompt file, by default)."""
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


# PNG uploads to recall: parameters the lesson's model takes, and PNGs made to order.
GOOD = {"prompt": "a lighthouse in fog", "seed": 1234, "steps": 4, "width": 512, "height": 512,
        "guidance_scale": 0.0, "max_sequence_length": 256, "model_id": SCHNELL_REPO_ID}


def png_with(text: dict[str, str], size: tuple[int, int] = (8, 8)) -> bytes:
    """A small black PNG with these text chunks."""
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    for key, value in text.items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    Image.new("RGB", size).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def ours(record: dict) -> bytes:
    """A PNG carrying this app's JSON metadata chunk."""
    return png_with({"diffusion_classroom": json.dumps(record)})


def huge_png(width: int, height: int) -> bytes:
    """Only the header of a width x height PNG (a few dozen bytes: what a hostile upload looks like)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))
