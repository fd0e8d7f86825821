"""The FLUX engine's DC_* settings (models/flux/settings.py): a bad value is one clear line at start,
never a traceback."""

from __future__ import annotations

import pytest

from models.flux.settings import SettingsError, check_settings, load_settings


def test_check_settings_lists_every_problem_one_line_each(tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    (tmp_path / "thesis").mkdir()
    (tmp_path / "thesis" / "chapter.tex").write_text("mine")
    env = {"DC_ALLOW_DOWNLOAD": "maybe", "DC_OUTPUT_DIR": str(a_file), "DC_HF_CACHE": str(a_file),
           "DC_PROMPTS_FILE": str(tmp_path), "DC_TINY_DIR": str(tmp_path / "thesis")}
    problems = check_settings(env)
    assert [p.split("=")[0] for p in problems] == ["DC_ALLOW_DOWNLOAD", "DC_OUTPUT_DIR", "DC_HF_CACHE",
                                                   "DC_PROMPTS_FILE", "DC_TINY_DIR"], problems
    assert all("\n" not in p for p in problems)
    assert check_settings({"DC_OUTPUT_DIR": str(tmp_path / "new")}) == []


def test_a_bad_yes_no_setting_is_one_line():
    with pytest.raises(SettingsError, match=r"^DC_ALLOW_DOWNLOAD='maybe' is not a yes/no value"):
        load_settings({"DC_ALLOW_DOWNLOAD": "maybe"})


def test_public_text_keeps_server_paths_off_the_page():
    from models.flux.settings import public_text

    text = ("black-forest-labs/FLUX.1-schnell is not in the Hugging Face cache (/srv/secret/hf/hub): using the "
            "tiny demo. Model folder /home/teacher/models/flux does not exist; see https://huggingface.co/x/y "
            "or `hf download x/y` (~34 GB), 1024×1024, ~/private/cache.")
    shown = public_text(text)
    assert "/srv" not in shown and "secret" not in shown and "teacher" not in shown and "private" not in shown
    assert "…/hub" in shown and "…/flux" in shown and "https://huggingface.co/x/y" in shown
    assert "black-forest-labs/FLUX.1-schnell" in shown and "hf download x/y" in shown


def test_a_folder_model_id_is_named_without_its_path():
    from models.flux.export import params_line

    line = params_line({"seed": 1, "model_id": "/srv/secret/models/flux-schnell"})
    assert "secret" not in line and "flux-schnell" in line
    assert params_line({"seed": 1, "model_id": "black-forest-labs/FLUX.1-schnell"}).endswith(
        "black-forest-labs/FLUX.1-schnell")


def test_a_prompt_folder_that_is_a_file_is_flagged_at_start(tmp_path):
    a_file = tmp_path / "lecture.toml"
    a_file.write_text("title = 'x'\n")
    problems = check_settings({"DC_PROMPTS_DIR": str(a_file)})
    assert len(problems) == 1 and problems[0].startswith("DC_PROMPTS_DIR=") and "is a file" in problems[0]
    assert check_settings({"DC_PROMPTS_FILE": "/dev/zero"})[0].startswith("DC_PROMPTS_FILE=")
    assert check_settings({"DC_PROMPTS_DIR": str(tmp_path), "DC_PROMPTS_FILE": str(a_file)}) == []
