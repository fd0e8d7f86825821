"""Checking prompt files: every problem with its line (`FILE:LINE: message`), the limits of models.flux.params."""

from __future__ import annotations

from pathlib import Path

from models.flux.prompt_check import Problem, validate_file, validate_text
from tests.flux_fixtures import write
from tests.helpers import run_module

REPO = Path(__file__).resolve().parents[2]
PART1 = REPO / "prompts" / "part1.toml"

BROKEN = """\
title = "Broken"

[defaults]
steps = 60
width = 1000
height = 4096
max_sequence_length = 300
seed_polcy = "fixed"
guidance_scale = 3.5

[[sections]]
id = "dup"
commentary = \"\"\"
text = "this line is inside a string, not a key"
\"\"\"

[[sections]]
id = "dup"

[[sections.prompts]]
id = "up..escape"
text = "ok"

[[sections.prompts]]
id = "p"
text = ""
seed = -3

[[sections.prompts]]
id = "p"
commentray = "typo"
tags = "not a list"
width = 512

[[sections.prompts]]
id = ""
text = "fine"
"""


def expected_broken() -> set[tuple[int, str, str]]:
    """(line, severity, a word of the message) for every problem planted in BROKEN."""
    return {
        (4, "error", "steps"),
        (5, "error", "multiple of 16"),
        (6, "error", "outside 256-2048"),
        (7, "error", "256 tokens"),
        (8, "warning", "did you mean 'seed_policy'"),
        (9, "warning", "ignored by FLUX.1-schnell"),
        (18, "error", "duplicate section id 'dup'"),
        (21, "error", "'..'"),
        (26, "error", "text is empty"),
        (27, "error", "seed"),
        (30, "error", "duplicate prompt id 'p'"),
        (31, "warning", "did you mean 'commentary'"),
        (29, "error", "no text"),
        (32, "error", "tags"),
        (36, "error", "is empty"),
    }


def test_each_validation_problem_has_its_line(tmp_path):
    problems = validate_file(write(tmp_path, BROKEN))
    found = {(p.line, p.severity) for p in problems}
    for line, severity, words in expected_broken():
        match = [p for p in problems if p.line == line and p.severity == severity and words in p.message]
        assert match, f"no {severity} with {words!r} on line {line}; got {[(p.line, p.message) for p in problems]}"
    assert len(problems) == len(expected_broken()), problems
    assert found  # and nothing reported on the string line 14 that looks like a key
    assert all(p.line != 14 for p in problems)
    assert problems == sorted(problems, key=lambda p: (p.line, p.severity != "error"))


def test_malformed_toml_reports_the_parser_line(tmp_path):
    problems = validate_file(write(tmp_path, 'title = "x"\n[[sections]]\nid = "a"\ntext = "unterminated\n'))
    assert len(problems) == 1 and problems[0].line == 4 and "not valid TOML" in problems[0].message
    duplicate_key = validate_text('title = "x"\n[defaults]\nsteps = 4\nsteps = 5\n')
    assert duplicate_key[0].line in (4,) and duplicate_key[0].is_error


def test_structure_errors_and_unknown_tables():
    problems = validate_text('title = "x"\n\n[default]\nsteps = 4\n\n[[sections]]\nid = "a"\n\n[[sections.prompts]]\ntext = "no id"\n')
    assert (3, "warning") in {(p.line, p.severity) for p in problems}
    assert any("did you mean 'defaults'" in p.message for p in problems)
    assert any(p.line == 9 and "has no id" in p.message for p in problems)
    assert validate_file("/nonexistent/prompts.toml")[0].message.startswith("file not found")
    no_title = validate_text('[[sections]]\nid = "a"\n')
    assert [(p.line, p.severity) for p in no_title] == [(1, "warning")]


def test_dev_model_allows_longer_sequences():
    text = '[defaults]\nmodel = "black-forest-labs/FLUX.1-dev"\nmax_sequence_length = 512\ntitle2 = 1\n'
    problems = validate_text('title = "t"\n' + text)
    assert not [p for p in problems if p.is_error]
    too_long = validate_text('title = "t"\n' + text.replace("512", "513"))
    assert [p.line for p in too_long if p.is_error] == [4]


def test_problem_format():
    assert Problem(7, "prompt text is empty").format("f.toml") == "f.toml:7: prompt text is empty"
    assert Problem(3, "unknown key", "warning").format("f.toml") == "f.toml:3: warning: unknown key"


# ---- the CLI: python -m models.flux check FILE ----------------------------------------------------------


def test_cli_check(tmp_path):
    good = run_module("models.flux", "check", PART1, timeout=120)
    assert good.returncode == 0, good.stdout + good.stderr
    bad_path = write(tmp_path, BROKEN)
    bad = run_module("models.flux", "check", bad_path, timeout=120)
    assert bad.returncode == 2
    out = bad.stdout + bad.stderr
    assert f"{bad_path}:4:" in out and f"{bad_path}:21:" in out and "multiple of 16" in out


def test_size_limits_follow_the_files_model():
    body = '[[sections]]\nid = "s"\n[[sections.prompts]]\nid = "p"\ntext = "x"\nseed = 1\nwidth = 64\n'
    assert [p for p in validate_text('title = "t"\n[defaults]\nmodel = "tiny"\n' + body) if p.is_error] == []
    real = [p for p in validate_text('title = "t"\n' + body) if p.is_error]
    assert [(p.line, "only for the tiny demo" in p.message) for p in real] == [(8, True)]


def test_wrong_types_are_errors_on_their_line():
    text = ('title = "t"\n[[sections]]\nid = "s"\n[[sections.prompts]]\nid = "../x"\ntext = "x"\nseed = 5.0\n'
            'steps = "four"\nguidance_scale = nan\n')
    assert [(p.line, p.message.split(" ")[0]) for p in validate_text(text)] == [
        (5, "prompt"), (7, "seed"), (8, "steps"), (9, "guidance_scale")]
