"""Several prompt files: the list the gallery offers, new files from the template, `export` from the CLI."""

from __future__ import annotations

import os
import zipfile

import pytest
from PIL import Image

from models.flux.params import GenerationParams
from models.flux.prompt_check import validate_file
from models.flux.prompt_files import PROMPTS_DIR, PromptFilesError, list_prompt_files, new_prompt_file
from models.flux.settings import FluxSettings
from models.flux.store import ImageStore
from models.flux.tiny import TINY_MODEL_ID, TINY_REVISION


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


# ----------------------------------------------------------------------------- hostile folders and files


def test_a_link_out_of_the_prompt_folder_is_never_listed(tmp_path):
    """A submission archive restores symlinks: a link to /proc/self/environ must not reach the page."""
    from models.flux.prompt_files import is_allowed_prompt_file

    folder = tmp_path / "submissions"
    folder.mkdir()
    (folder / "real.toml").write_text("title = 'real'\n")
    (folder / "other.txt").write_text("title = 'other'\n")
    (folder / "alias.toml").symlink_to(folder / "other.txt")  # a link that stays inside: fine
    secret = tmp_path / "secret.toml"
    secret.write_text("title = 'DC_INSTRUCTOR_TOKEN=owl-42'\n")
    (folder / "environ.toml").symlink_to("/proc/self/environ")
    (folder / "passwd.toml").symlink_to("/etc/passwd")
    (folder / "up.toml").symlink_to(secret)
    (folder / "dev.toml").symlink_to("/dev/zero")
    settings = FluxSettings(prompts_file=PROMPTS_DIR / "part1.toml")
    env = {"DC_PROMPTS_DIR": str(folder)}
    names = [p.name for p in list_prompt_files(settings, env=env)]
    assert "real.toml" in names and "alias.toml" in names
    assert not {"environ.toml", "passwd.toml", "up.toml", "dev.toml"} & set(names)
    assert is_allowed_prompt_file(folder / "real.toml", settings, env=env)
    for name in ("environ.toml", "passwd.toml", "up.toml", "dev.toml", "missing.toml"):
        assert not is_allowed_prompt_file(folder / name, settings, env=env), name
    assert not is_allowed_prompt_file(folder / ".." / "secret.toml", settings, env=env)
    assert is_allowed_prompt_file(settings.prompts_file, settings, env=env)


def test_reading_a_prompt_file_is_capped_and_refuses_what_is_no_regular_file(tmp_path):
    from models.flux.prompt_schema import MAX_FILE_BYTES, PromptFileError, read_prompt_text

    big = tmp_path / "big.toml"
    big.write_bytes(b"# " + b"x" * MAX_FILE_BYTES + b"\n")
    with pytest.raises(PromptFileError, match=f"at most {MAX_FILE_BYTES // 1024} KB"):
        read_prompt_text(big)
    for device in ("/dev/zero", "/dev/null"):
        with pytest.raises(PromptFileError, match="not a regular file"):
            read_prompt_text(device)
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    with pytest.raises(PromptFileError, match="not a regular file"):
        read_prompt_text(fifo)  # must not block waiting for a writer


def test_a_file_that_is_no_toml_is_never_echoed_in_the_error(tmp_path):
    """The load error names the line and column, never the file's text (it might be a secret)."""
    from models.flux.prompt_file import PromptFile
    from models.flux.prompt_schema import PromptFileError

    for text in ("DC_INSTRUCTOR_TOKEN=owl-42\0HOME=/root\0", "root:x:0:0:root:/root:/bin/bash\n",
                 'owl42 = 1\nowl42 = 2\n', "title = 'a'\n[defaults]\nsteps = 4\n[defaults]\nowl42 = 1\n"):
        path = tmp_path / "leak.toml"
        path.write_text(text)
        with pytest.raises(PromptFileError) as err:
            PromptFile.load(path)
        assert err.value.line >= 1
        for word in ("owl", "root", "bash", "HOME"):
            assert word not in err.value.message, (text, err.value.message)
        problems = validate_file(path)
        assert problems and all(w not in p.message for p in problems for w in ("owl", "root", "bash"))


def test_a_prompt_file_with_too_many_prompts_is_refused_with_the_limit_named(tmp_path):
    from models.flux.prompt_file import PromptFile
    from models.flux.prompt_schema import MAX_PROMPTS, PromptFileError

    prompts = "".join(f'[[sections.prompts]]\nid = "p{i}"\ntext = "a cat"\n' for i in range(MAX_PROMPTS + 1))
    path = tmp_path / "many.toml"
    path.write_text('title = "many"\n[[sections]]\nid = "s"\n' + prompts)
    with pytest.raises(PromptFileError, match=f"at most .* and {MAX_PROMPTS} prompts"):
        PromptFile.load(path)
    assert any(f"and {MAX_PROMPTS} prompts" in p.message for p in validate_file(path))
    ok = tmp_path / "ok.toml"
    ok.write_text('title = "ok"\n[[sections]]\nid = "s"\n' + prompts.rsplit("[[sections.prompts]]", 1)[0])
    assert len(PromptFile.load(ok).prompt_ids()) == MAX_PROMPTS


def test_cli_export_of_a_device_or_a_huge_file_is_one_line_and_writes_nothing(tmp_path, run_cli):
    from models.flux.prompt_schema import MAX_FILE_BYTES

    huge = tmp_path / "huge.toml"
    huge.write_bytes(b"title = 'x'\n" + b"#" * (MAX_FILE_BYTES + 10) + b"\n")
    for source in ("/dev/zero", huge):
        bad = run_cli("export", source, "--zip", tmp_path / "o.zip", timeout=60)
        assert bad.returncode == 2, bad.stderr
        assert bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
        assert "not a regular file" in bad.stderr or "KB" in bad.stderr
        assert not (tmp_path / "o.zip").exists()


def test_cli_export_never_writes_over_an_input_or_its_other_output(tmp_path, flux_cli):
    lesson = new_prompt_file(tmp_path, "Lesson")
    original = lesson.read_bytes()
    params = GenerationParams(prompt="a watercolor lighthouse on a cliff at dawn", seed=42, model_id=TINY_MODEL_ID,
                              revision=TINY_REVISION)
    image = ImageStore(tmp_path / "outputs").save(Image.new("RGB", (16, 16), "red"), params,
                                                  extra={"prompt_id": "first-prompt", "is_demo": True})
    png = image.read_bytes()
    (tmp_path / "link.toml").symlink_to(lesson)
    os.link(lesson, tmp_path / "hard.toml")
    cases = [(["--zip", lesson], "is the prompt file"), (["--html", lesson], "is the prompt file"),
             (["--html", tmp_path / "link.toml"], "is the prompt file"),
             (["--zip", tmp_path / "hard.toml"], "is the prompt file"),
             (["--zip", tmp_path / "x.out", "--html", tmp_path / "x.out"], "both"),
             (["--zip", tmp_path / "sub" / ".." / "y", "--html", tmp_path / "y"], "both"),
             (["--zip", image], "is one of the images")]
    for args, words in cases:
        rc, out, err = flux_cli("export", lesson, *args, "--model", "tiny")
        assert rc == 2 and words in err and err.count("\n") == 1 and out == "", (args, err)
    assert lesson.read_bytes() == original and image.read_bytes() == png
    assert not (tmp_path / "x.out").exists() and not (tmp_path / "y").exists()


def test_cli_export_out_must_be_an_image_folder(tmp_path, flux_cli):
    """--out is where the images are: a file there used to export no image, silently."""
    lesson = new_prompt_file(tmp_path, "Lesson")
    (tmp_path / "notes.txt").write_text("x")
    for out_arg, words in ((tmp_path / "notes.txt", "is a file, not an image folder"),
                           (tmp_path / "missing", "no image folder")):
        rc, out, err = flux_cli("export", lesson, "--zip", tmp_path / "o.zip", "--out", out_arg, "--model", "tiny")
        assert rc == 2 and words in err and err.count("\n") == 1, err
    assert not (tmp_path / "o.zip").exists() and not (tmp_path / "missing").exists()


def test_a_control_character_in_a_new_title_never_makes_a_file_that_does_not_parse(tmp_path):
    for title in ("Lecture\x073", "Lecture\x1b[31m 3", "Lecture\x7f3", "Lecture\u2028 3"):
        try:
            path = new_prompt_file(tmp_path, title)
        except PromptFilesError as err:
            assert "control character" in str(err)
            continue
        assert [p for p in validate_file(path) if p.severity != "warning"] == [], title
        path.unlink()
    assert list(tmp_path.iterdir()) == []
