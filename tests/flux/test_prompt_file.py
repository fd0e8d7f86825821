"""Editing prompt files: byte-exact round trip, edits that keep comments, params of a prompt, save conflicts."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomllib

from models.flux.params import BadParams, GenerationParams
from models.flux.prompt_check import validate_file, validate_text
from models.flux.prompt_file import PromptFile, SaveConflict
from models.flux.prompt_schema import DEFAULT_MODEL, PromptFileError, default_seed, id_problem
from tests.flux_fixtures import write

REPO = Path(__file__).resolve().parents[2]
PART1 = REPO / "prompts" / "part1.toml"

ASSIGNMENT_PROMPTS = [
    "We two alone will sing like birds i' the cage: And pray, and sing, and tell old tales, and laugh at "
    "gilded butterflies, watercolor illustration",
    "flowers melting into a cosmic black hole swirling around the cosmos like stars, fantasy",
    "A gouache cat wizard casting fireball hexes surrounded by whales swimming in the sky, painterly",
    "a suit of Trump playing cards",
    "a witch holding up a black hole, illustration",
    "пастораль 节日, illustration",
]

SMALL = """\
# top comment: keep me
title = "Small"   # trailing comment

[defaults]
steps = 4
width = 512
height = 512
future_key = "kept"

[[sections]]
id = "s1"
title = "One"
commentary = \"\"\"
Section *one*.
\"\"\"

[[sections.prompts]]
# about p1, keep me
id = "p1"
text = "a cat"
seed = 1
commentary = "first"

[[sections.prompts]]
id = "p2"
text = "a dog"
steps = 2
width = 768

[[sections]]
id = "s2"
title = "Two"
"""


# ---- the shipped file -----------------------------------------------------------------------------


def test_part1_has_the_six_assignment_prompts_exactly():
    data = tomllib.loads(PART1.read_text(encoding="utf-8"))
    texts = [p["text"] for s in data["sections"] for p in s.get("prompts", [])]
    assert texts == ASSIGNMENT_PROMPTS
    sections = data["sections"]
    assert [len(s.get("prompts", [])) for s in sections] == [3, 3, 0]  # 0.1, 0.2, 0.3 discussion
    assert "0.3" in sections[2]["title"] and sections[2]["commentary"].strip()
    mixed = sections[1]["prompts"][2]
    assert mixed["translation"] == "pastoral holiday"
    for section in sections:
        assert section["commentary"].strip()
        for prompt in section.get("prompts", []):
            assert prompt["commentary"].strip() and isinstance(prompt["seed"], int)


def test_part1_is_valid_and_round_trips_byte_for_byte(tmp_path):
    assert validate_file(PART1) == []
    copy = tmp_path / "part1.toml"
    copy.write_bytes(PART1.read_bytes())
    pf = PromptFile.load(copy)
    assert not pf.dirty
    pf.save()
    assert copy.read_bytes() == PART1.read_bytes()
    assert pf.defaults["model"] == DEFAULT_MODEL and pf.defaults["steps"] == 4


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_unchanged_load_save_is_byte_identical(tmp_path, newline):
    text = SMALL.replace("\n", newline)
    path = write(tmp_path, text)
    PromptFile.load(path).save()
    assert path.read_bytes() == text.encode("utf-8")


def test_byte_order_mark_survives(tmp_path):
    path = write(tmp_path, "\ufeff" + SMALL)
    pf = PromptFile.load(path)
    assert pf.title == "Small"
    pf.save()
    assert path.read_bytes() == ("\ufeff" + SMALL).encode("utf-8")


# ---- editing ----------------------------------------------------------------------------------------


def test_edit_keeps_comments_unknown_keys_and_the_rest_of_the_file(tmp_path):
    path = write(tmp_path, SMALL)
    pf = PromptFile.load(path)
    pf.set_prompt_commentary("p1", "New **text**\nover two lines")
    pf.set_section_commentary("s1", "Changed section")
    assert pf.dirty
    pf.save()
    text = path.read_text(encoding="utf-8")
    for kept in ("# top comment: keep me", "# trailing comment", "# about p1, keep me", 'future_key = "kept"'):
        assert kept in text
    data = tomllib.loads(text)
    assert data["sections"][0]["prompts"][0]["commentary"] == "New **text**\nover two lines\n"
    assert data["sections"][0]["commentary"] == "Changed section\n"
    # Only the two commentaries changed: everything after them is the same text.
    assert text.split('id = "p2"')[1] == SMALL.split('id = "p2"')[1]
    assert PromptFile.load(path).prompt("p1")["commentary"] == "New **text**\nover two lines\n"


def test_text_seed_chosen_and_overrides(tmp_path):
    pf = PromptFile.load(write(tmp_path, SMALL))
    pf.set_prompt_text("p1", 'a "quoted" cat \\ with a backslash')
    pf.set_prompt_seed("p1", 123)
    pf.set_chosen("p1", 123)
    pf.set_prompt_field("p2", "steps", None)  # drop an override
    data = tomllib.loads(pf.dumps())
    p1, p2 = data["sections"][0]["prompts"]
    assert p1["text"] == 'a "quoted" cat \\ with a backslash' and p1["seed"] == 123 and p1["chosen"] == 123
    assert "steps" not in p2
    with pytest.raises(ValueError, match="seed"):
        pf.set_prompt_seed("p1", -1)
    pf.set_chosen("p1", None)
    assert "chosen" not in pf.prompt("p1")


def test_params_merge_defaults_and_overrides(tmp_path):
    pf = PromptFile.load(write(tmp_path, SMALL))
    assert pf.params("p1") == GenerationParams(prompt="a cat", seed=1, steps=4, width=512, height=512,
                                               guidance_scale=0.0, max_sequence_length=256, model_id=DEFAULT_MODEL)
    p2 = pf.params("p2", model_id="tiny-flux-demo", revision="v2")
    assert (p2.steps, p2.width, p2.height, p2.model_id, p2.revision) == (2, 768, 512, "tiny-flux-demo", "v2")
    assert p2.seed == default_seed("p2")  # no seed + policy "fixed": stable, derived from the id
    random_policy = PromptFile.from_text(SMALL.replace("steps = 4\n", 'steps = 4\nseed_policy = "random"\n', 1))
    assert random_policy.params("p2").seed is None
    with pytest.raises(KeyError, match="nope"):
        pf.params("nope")


def test_params_keep_wrong_types_for_validation_to_refuse(tmp_path):
    """A float seed is not replaced by a default one (it used to get a crc32 seed in the gallery)."""
    pf = PromptFile.from_text(SMALL.replace("seed = 1\n", "seed = 5.0\n").replace("steps = 2\n", 'steps = "four"\n'))
    assert pf.params("p1").seed == 5.0 and isinstance(pf.params("p1").seed, float)
    with pytest.raises(BadParams, match="seed must be a whole number"):
        pf.params("p1").validate()
    with pytest.raises(BadParams, match="steps must be a whole number"):
        pf.params("p2").validate()


def test_add_delete_move_prompts_and_sections(tmp_path):
    path = write(tmp_path, SMALL)
    pf = PromptFile.load(path)
    new = pf.add_prompt("s2", "A Red Bicycle!", seed=9, commentary="why")
    assert new == "a-red-bicycle"
    assert pf.add_prompt("s2", "a red bicycle") == "a-red-bicycle-2"  # ids stay unique
    pf.move_prompt("p2", -1)
    assert [p["id"] for p in pf.section("s1")["prompts"]] == ["p2", "p1"]
    pf.move_prompt("p2", -1)  # already first: nothing happens
    assert [p["id"] for p in pf.section("s1")["prompts"]] == ["p2", "p1"]
    sec = pf.add_section("Three")
    pf.move_section(sec, -2)
    assert pf.section_ids() == ["three", "s1", "s2"]
    pf.delete_prompt("a-red-bicycle-2")
    pf.delete_section("three")
    pf.save()
    reloaded = PromptFile.load(path)
    assert reloaded.section_ids() == ["s1", "s2"]
    assert reloaded.prompt_ids() == ["p2", "p1", "a-red-bicycle"]
    assert reloaded.prompt("a-red-bicycle")["seed"] == 9
    assert "# about p1, keep me" in path.read_text(encoding="utf-8")
    assert [p.message for p in validate_file(path)] == [
        p.message for p in validate_text(SMALL)] != []  # only the planted future_key warning
    # A comment written under a prompt's header moves with the prompt.
    text = path.read_text(encoding="utf-8")
    assert text.index('id = "p2"') < text.index("# about p1, keep me") < text.index('id = "p1"')


def test_bad_ids_are_refused():
    pf = PromptFile.from_text(SMALL)
    with pytest.raises(ValueError, match="slash"):
        pf.add_prompt("s1", "x", prompt_id="a/b")
    with pytest.raises(ValueError, match="already"):
        pf.rename_prompt("p1", "p2")
    with pytest.raises(KeyError, match="no section"):
        pf.add_prompt("missing", "x")


@pytest.mark.parametrize(
    "value, fine",
    [("cat-1", True), ("Кот_2", True), ("", False), ("a/b", False), ("a\\b", False), ("..", False),
     ("x..y", False), ("tab\there", False), (" pad", False), ("a:b", False), (".hidden", False), (3, False)],
)
def test_id_problem(value, fine):
    assert (id_problem(value) is None) == fine


# ---- save conflicts -------------------------------------------------------------------------------


def test_save_refuses_when_the_file_changed_on_disk(tmp_path):
    path = write(tmp_path, SMALL)
    pf = PromptFile.load(path)
    pf.set_prompt_text("p1", "mine")
    someone_else = SMALL.replace("a dog", "their dog")
    path.write_text(someone_else, encoding="utf-8")
    assert pf.changed_on_disk()
    with pytest.raises(SaveConflict) as info:
        pf.save()
    assert info.value.disk_text == someone_else
    assert 'text = "mine"' in info.value.mine_text
    assert path.read_text(encoding="utf-8") == someone_else  # nothing overwritten
    pf.save(force=True)
    assert 'text = "mine"' in path.read_text(encoding="utf-8")
    assert not pf.changed_on_disk() and not pf.dirty
    # After a save the new text is the reference: a second save goes through.
    pf.set_prompt_text("p1", "mine again")
    pf.save()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".p.toml.lock", "p.toml"]  # no temp files left behind


def test_save_conflict_when_deleted_and_with_expected_hash(tmp_path):
    path = write(tmp_path, SMALL)
    pf = PromptFile.load(path)
    path.unlink()
    with pytest.raises(SaveConflict, match="deleted") as info:
        pf.save()
    assert info.value.disk_text is None
    pf.save(force=True)
    with pytest.raises(SaveConflict):
        pf.save(expected_hash="0" * 64)


def test_save_as_new_file_and_refuse_to_clobber_another(tmp_path):
    pf = PromptFile.from_text(SMALL)
    with pytest.raises(ValueError, match="no path"):
        pf.save()
    target = pf.save(tmp_path / "new.toml")
    assert target.read_text(encoding="utf-8") == SMALL
    other = write(tmp_path, "title = 'other'\n", "other.toml")
    with pytest.raises(SaveConflict):
        pf.save(other)


def test_load_errors_name_the_line(tmp_path):
    with pytest.raises(PromptFileError, match="not found"):
        PromptFile.load(tmp_path / "missing.toml")
    bad = write(tmp_path, 'title = "x"\n\n[defaults]\nsteps = = 4\n')
    with pytest.raises(PromptFileError) as info:
        PromptFile.load(bad)
    assert info.value.line == 4 and ":4:" in str(info.value)
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes(b'title = "ok"\ntext = "caf\xe9"\n')
    with pytest.raises(PromptFileError, match="UTF-8") as info:
        PromptFile.load(latin1)
    assert info.value.line == 2


# ---- line endings ------------------------------------------------------------------------------------


def test_a_crlf_file_comes_back_crlf_not_mixed(tmp_path):
    crlf = SMALL.replace("\n", "\r\n")
    path = tmp_path / "p.toml"
    path.write_bytes(crlf.encode("utf-8"))
    pf = PromptFile.load(path)
    assert pf.dumps() == crlf and not pf.dirty  # unchanged: the same bytes
    pf.set_prompt_commentary("p1", "two\nlines")
    pf.add_prompt(pf.section_ids()[0], "a new prompt", seed=3, commentary="more\ntext")
    pf.add_section("Another")
    pf.save()
    saved = path.read_bytes().decode("utf-8")
    assert saved.count("\r\n") == saved.count("\n") > crlf.count("\n")  # every line ends CRLF
    assert PromptFile.load(path).prompt("p1")["commentary"] == "two\nlines\n"


def test_a_crlf_file_stays_crlf_through_the_gallerys_save(tmp_path):
    from models.flux.prompt_edits import PromptEdits, save_edits

    path = tmp_path / "p.toml"
    path.write_bytes(SMALL.replace("\n", "\r\n").encode("utf-8"))
    edits = PromptEdits()
    edits.set_field(PromptFile.load(path), "prompt", "p1", "commentary", "typed\nin the gallery")
    save_edits(path, edits)
    saved = path.read_bytes().decode("utf-8")
    assert "typed" in saved and saved.count("\r\n") == saved.count("\n")
