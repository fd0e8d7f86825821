"""Several prompt files: the list the gallery offers, new files from the template, `export` from the CLI."""

from __future__ import annotations

import zipfile

import pytest
from PIL import Image

from models.flux.params import GenerationParams
from models.flux.prompt_check import validate_file
from models.flux.prompt_files import PROMPTS_DIR, PromptFilesError, list_prompt_files, new_prompt_file
from models.flux.settings import FluxSettings
from models.flux.store import ImageStore
from models.flux.tiny import TINY_MODEL_ID, TINY_REVISION

pytest_plugins = ["tests.flux_fixtures"]


def test_list_has_the_settings_file_first_then_both_folders(tmp_path):
    extra = tmp_path / "submissions"
    extra.mkdir()
    (extra / "b-student.toml").write_text("title = 'b'\n")
    (extra / "a-student.toml").write_text("title = 'a'\n")
    (extra / ".hidden.toml").write_text("")
    (extra / "notes.txt").write_text("")
    own = tmp_path / "lesson.toml"
    own.write_text("title = 'x'\n")
    files = list_prompt_files(FluxSettings(prompts_file=own), env={"DC_PROMPTS_DIR": str(extra)})
    assert files[0] == own
    assert PROMPTS_DIR / "part1.toml" in files
    assert files[-2:] == [extra / "a-student.toml", extra / "b-student.toml"]
    # The settings file is listed once even when it lies in a listed folder.
    again = list_prompt_files(FluxSettings(prompts_file=PROMPTS_DIR / "part1.toml"), env={})
    assert again.count(PROMPTS_DIR / "part1.toml") == 1


def test_new_file_from_template_is_valid_and_never_replaces_a_file(tmp_path):
    path = new_prompt_file(tmp_path, "Lecture 3 · Guidance")
    assert path == tmp_path / "lecture-3-guidance.toml"
    assert [p for p in validate_file(path) if p.severity != "warning"] == []
    assert 'title = "Lecture 3 · Guidance"' in path.read_text(encoding="utf-8")
    path.write_text("title = 'mine'\n")
    with pytest.raises(PromptFilesError, match="already exists"):
        new_prompt_file(tmp_path, "lecture 3 guidance")
    assert path.read_text() == "title = 'mine'\n"
    for bad in ("", "   ", "节日", 'say "hi"'):
        with pytest.raises(PromptFilesError):
            new_prompt_file(tmp_path, bad)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lecture-3-guidance.toml"]  # no temp file left


def test_cli_export_zip_and_html(tmp_path, run_cli, cli_env):
    lesson = new_prompt_file(tmp_path, "Lesson")
    params = GenerationParams(prompt="a watercolor lighthouse on a cliff at dawn", seed=42, model_id=TINY_MODEL_ID,
                              revision=TINY_REVISION)
    ImageStore(tmp_path / "outputs").save(Image.new("RGB", (16, 16), "red"), params,
                                          extra={"prompt_id": "first-prompt", "is_demo": True})
    run = run_cli("export", lesson, "--zip", tmp_path / "out.zip", "--html", tmp_path / "out.html", "--model", "tiny")
    assert run.returncode == 0, run.stderr
    with zipfile.ZipFile(tmp_path / "out.zip") as zf:
        assert sorted(zf.namelist()) == ["images/first-section/first-prompt_seed42.png", "lesson.toml",
                                         "manifest.json"]
    html = (tmp_path / "out.html").read_text(encoding="utf-8")
    assert "<title>Lesson</title>" in html and "data:image/png;base64," in html
    for args, words in ((["--model", "tiny"], "nothing to export"),
                        (["--zip", tmp_path], "is a folder"),
                        (["--zip", lesson / "x.zip"], "a file is in the way")):
        bad = run_cli("export", lesson, *args)
        assert bad.returncode == 2 and words in bad.stderr and bad.stderr.count("\n") == 1
    broken = tmp_path / "broken.toml"
    broken.write_text("title = \n")
    bad = run_cli("export", broken, "--zip", tmp_path / "b.zip")
    assert bad.returncode == 2 and "broken.toml:1" in bad.stderr and not (tmp_path / "b.zip").exists()
