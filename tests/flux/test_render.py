"""Rendering a prompt file: jobs from the TOML schema, bad input (exit 2, one line), resume, two processes."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import zlib
from collections import Counter
from dataclasses import replace

import pytest

from models.flux.loading import ModelNotFound, resolve_model
from models.flux.params import GenerationParams
from models.flux.prompt_check import validate_file
from models.flux.render import RenderError, load_checked, render_jobs, render_file
from models.flux.store import ImageStore, read_metadata

PROMPTS = """
title = "Test lesson"

[defaults]
model = "tiny"
steps = 2
width = 64
height = 32
guidance_scale = 0.0
max_sequence_length = 128

[[sections]]
id = "shapes"
title = "Shapes"
commentary = "Simple things."

[[sections.prompts]]
id = "cube"
text = "a red cube"
seed = 1
tags = ["shape"]

[[sections.prompts]]
id = "sphere"
text = "a blue sphere, glossy"
commentary = "no seed: a stable default one"

[[sections]]
id = "animals"
title = "Animals"

[[sections.prompts]]
id = "cat"
text = "a cat\\nin a hat"
seed = 3
steps = 3
width = 48

[[sections.prompts]]
id = "dog"
text = "a dog"
seed = 4
max_sequence_length = 64

[[sections.prompts]]
id = "fox"
text = "a fox"
seed = 5

[[sections.prompts]]
id = "owl"
text = "an owl"
seed = 6
"""


SCHNELL_FILE = """
[defaults]
model = "black-forest-labs/FLUX.1-schnell"
width = 256
height = 256

[[sections]]
id = "s"

[[sections.prompts]]
id = "owl"
text = "an owl"
seed = 6
"""


@pytest.fixture
def prompt_file(tmp_path):
    path = tmp_path / "lesson.toml"
    path.write_text(PROMPTS)
    return path


@pytest.fixture
def schnell_file(tmp_path):
    path = tmp_path / "schnell.toml"
    path.write_text(SCHNELL_FILE)
    return path


def test_jobs_follow_the_schema(prompt_file, tiny_settings):
    source = resolve_model("tiny", tiny_settings)
    jobs = dict(render_jobs(load_checked(prompt_file), source))
    assert list(jobs) == ["cube", "sphere", "cat", "dog", "fox", "owl"]  # file order
    assert jobs["cube"] == GenerationParams(prompt="a red cube", seed=1, steps=2, width=64, height=32,
                                            guidance_scale=0.0, max_sequence_length=128,
                                            model_id=source.model_id, revision=source.revision)
    assert jobs["sphere"].seed == zlib.crc32(b"sphere")  # the stable default seed
    assert (jobs["cat"].prompt, jobs["cat"].steps, jobs["cat"].width, jobs["cat"].height) == ("a cat\nin a hat", 3, 48, 32)
    assert jobs["dog"].max_sequence_length == 64


def test_schema_defaults(tmp_path, tiny_settings):
    bare = tmp_path / "bare.toml"
    bare.write_text('[[sections]]\nid = "s"\n[[sections.prompts]]\nid = "p"\ntext = "x"\nseed = 1\n')
    source = resolve_model("tiny", tiny_settings)
    assert render_jobs(load_checked(bare), source) == [("p", GenerationParams(
        prompt="x", seed=1, steps=4, width=1024, height=1024, guidance_scale=0.0, max_sequence_length=256,
        model_id=source.model_id, revision=source.revision))]


# ---- `check` and `render` accept and refuse the same files, with the same FILE:LINE: message -----------

GOOD_HEAD = '[defaults]\nmodel = "tiny"\nwidth = 64\nheight = 64\n\n[[sections]]\nid = "s"\n\n[[sections.prompts]]\n'
AGREEMENT = {  # name: (prompt table lines after the [[sections.prompts]] header, refused?)
    "good": ('id = "p"\ntext = "a cat"\nseed = 1\n', False),
    "good-no-seed": ('id = "p"\ntext = "a cat"\n', False),
    "good-override": ('id = "p"\ntext = "a cat"\nseed = 1\nsteps = 2\nwidth = 128\n', False),
    "float-seed": ('id = "p"\ntext = "a cat"\nseed = 5.0\n', True),
    "negative-seed": ('id = "p"\ntext = "a cat"\nseed = -1\n', True),
    "huge-seed": ('id = "p"\ntext = "a cat"\nseed = 9223372036854775808\n', True),
    "text-steps": ('id = "p"\ntext = "a cat"\nseed = 1\nsteps = "four"\n', True),
    "dotdot-id": ('id = "../x"\ntext = "a cat"\nseed = 1\n', True),
    "slash-id": ('id = "a/b"\ntext = "a cat"\nseed = 1\n', True),
    "no-id": ('text = "a cat"\nseed = 1\n', True),
    "no-text": ('id = "p"\nseed = 1\n', True),
    "empty-text": ('id = "p"\ntext = "  "\nseed = 1\n', True),
    "width-17": ('id = "p"\ntext = "a cat"\nseed = 1\nwidth = 17\n', True),
    "guidance-inf": ('id = "p"\ntext = "a cat"\nseed = 1\nguidance_scale = inf\n', True),
    "guidance-30": ('id = "p"\ntext = "a cat"\nseed = 1\nguidance_scale = 30.0\n', True),
    "long-tokens": ('id = "p"\ntext = "a cat"\nseed = 1\nmax_sequence_length = 300\n', True),
    "duplicate-id": ('id = "p"\ntext = "a cat"\nseed = 1\n\n[[sections.prompts]]\nid = "p"\ntext = "b"\n', True),
    "bad-toml": ('id = "p"\ntext = "a cat\n', True),
}


@pytest.mark.slow
def test_check_and_render_agree(tmp_path, run_cli):
    for name, (body, refused) in AGREEMENT.items():
        path = tmp_path / f"{name}.toml"
        path.write_text(GOOD_HEAD + body)
        check = run_cli("check", path, timeout=120)
        render = run_cli("render", path, "--model", "tiny", "--dry-run", timeout=120)
        assert (check.returncode, render.returncode) == ((2, 2) if refused else (0, 0)), (
            name, check.stdout, render.stdout + render.stderr)
        if refused:
            first_error = [line for line in check.stdout.splitlines() if ": warning: " not in line][0]
            assert re.match(rf"{re.escape(str(path))}:[1-9]\d*: ", first_error), (name, first_error)
            assert render.stderr.startswith(f"error: {first_error}"), (name, first_error, render.stderr)
            assert render.stderr.count("\n") == 1, render.stderr
        else:
            assert "would render p" in render.stdout, (name, render.stdout)


def test_random_seed_policy_without_a_seed_is_refused_by_both(tmp_path, tiny_settings):
    path = tmp_path / "random.toml"
    path.write_text(GOOD_HEAD.replace('model = "tiny"\n', 'model = "tiny"\nseed_policy = "random"\n')
                    + 'id = "p"\ntext = "a cat"\n')
    problems = [p for p in validate_file(path) if p.is_error]
    assert [(p.line, "no seed" in p.message) for p in problems] == [(10, True)]
    with pytest.raises(RenderError, match=re.escape(problems[0].format(path))):
        render_file(path, model="tiny", settings=tiny_settings, log=lambda s: None, dry_run=True)


def test_cli_bad_inputs_exit_2_with_one_line(prompt_file, tmp_path, run_cli):
    bad_toml = tmp_path / "broken.toml"
    bad_toml.write_text('title = "x"\n[[sections]]\nid = \n')
    bad_size = tmp_path / "size.toml"
    bad_size.write_text(PROMPTS.replace("width = 48", "width = 50"))
    schnell_file = tmp_path / "schnell.toml"
    schnell_file.write_text(SCHNELL_FILE)
    cases = [
        (["render", tmp_path / "missing.toml", "--model", "tiny"], "file not found"),
        (["render", prompt_file, "--model", "tiny", "--only", "cube", "unicorn"], "unknown prompt id 'unicorn'"),
        (["render", schnell_file], "black-forest-labs/FLUX.1-schnell is not on this machine"),  # the file's model
        (["render", prompt_file, "--model", "acme/none"], "hf download"),
        (["render", bad_toml, "--model", "tiny"], f"{bad_toml}:3: not valid TOML"),
        (["render", bad_size, "--model", "tiny"], f"{bad_size}:{PROMPTS.splitlines().index('width = 48') + 1}"
                                                  ": width 50 is not a multiple of 16"),
        (["render", tmp_path, "--model", "tiny"], "is a folder"),
    ]
    for args, words in cases:
        run = run_cli(*args)
        assert run.returncode == 2, (args, run.stdout, run.stderr)
        assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr, run.stderr
        assert words in run.stderr, (words, run.stderr)
    assert not (tmp_path / "outputs").exists()  # nothing rendered on bad input


def test_render_is_resumable(prompt_file, tiny_settings, tmp_path):
    out = tmp_path / "images"
    lines = []
    first = render_file(prompt_file, model="tiny", out=out, settings=tiny_settings, only=["cube", "cat"],
                        log=lines.append)
    assert len(first.rendered) == 2 and first.skipped == 0
    assert {read_metadata(p)["prompt_id"] for p in first.rendered} == {"cube", "cat"}
    assert any("rendered cube" in line for line in lines) and "2 to render" in lines[0]
    stamps = {p: p.stat().st_mtime_ns for p in first.rendered}

    lines.clear()
    second = render_file(prompt_file, model="tiny", out=out, settings=tiny_settings, log=lines.append)
    assert (second.total, second.skipped, len(second.rendered)) == (6, 2, 4)  # only the missing ones
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items())  # the first two were not redone

    victim = second.rendered[0]
    victim.unlink()  # lost one image: a third run redoes exactly that one
    third = render_file(prompt_file, model="tiny", out=out, settings=tiny_settings, log=lines.append)
    assert third.rendered == [victim] and third.skipped == 5
    assert len(ImageStore(out).find()) == 6

    dry = render_file(prompt_file, model="tiny", out=tmp_path / "elsewhere", settings=tiny_settings,
                      log=lines.append, dry_run=True)
    assert dry.rendered == [] and dry.missing == 6 and not (tmp_path / "elsewhere").exists()


def test_environment_model_wins_over_the_file(schnell_file, tiny_settings, tmp_path):
    # DC_FLUX_MODEL=tiny (settings.model) beats the file's schnell; "auto" defers to the file, and a
    # FLUX.1-schnell that is not on this machine is an error for render, never demo noise.
    summary = render_file(schnell_file, out=tmp_path / "o", settings=tiny_settings, only=["owl"], log=lambda s: None)
    assert len(summary.rendered) == 1 and "demo" in summary.model_label
    with pytest.raises(ModelNotFound, match="not on this machine"):
        render_file(schnell_file, out=tmp_path / "o", settings=replace(tiny_settings, model="auto"), log=print)
    # An explicit --model auto is a request for the demo fallback.
    dry = render_file(schnell_file, model="auto", settings=replace(tiny_settings, model="auto"),
                      log=lambda s: None, dry_run=True)
    assert "demo" in dry.model_label


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_split_the_work(prompt_file, tmp_path, cli_env, tiny_settings):
    out = tmp_path / "split"
    # One image already there: nobody renders it again.
    owl = render_file(prompt_file, model="tiny", out=out, settings=tiny_settings, only=["owl"], log=lambda s: None)
    accelerate = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                  "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                  "--main_process_port", str(_free_port())]
    run = subprocess.run(accelerate + ["-m", "models.flux", "render", str(prompt_file), "--model", "tiny",
                                       "--out", str(out)],
                         capture_output=True, text=True, env=cli_env, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    rendered = re.findall(r"\[rank (\d)/2\] \[\d/\d\] rendered (\S+) key (\w+)", run.stdout)
    keys = Counter(key for _rank, _pid, key in rendered)
    assert all(n == 1 for n in keys.values()), keys  # no image rendered twice
    assert sorted(pid for _r, pid, _k in rendered) == ["cat", "cube", "dog", "fox", "sphere"]  # all missing ones
    assert {rank for rank, _p, _k in rendered} == {"0", "1"}  # both processes worked
    assert "5 to render" in run.stdout and "on 2 processes" in run.stdout
    stored = {s.path.stem: s.prompt_id for s in ImageStore(out).find()}
    assert stored == {**{key: pid for _r, pid, key in rendered}, owl.rendered[0].stem: "owl"}
