"""A session's edits as a patch applied to the file on disk.

A save never puts back old values of fields its session did not change; only the same field
changed on disk since is a conflict. Saves hold a real file lock, so two saves at once never
both pass the check and lose an edit (threads and processes, 200 trials).
"""

from __future__ import annotations

import multiprocessing
import threading
import tomllib
from pathlib import Path

import pytest

from models.flux.prompt_edits import EditConflict, NewProblems, PromptEdits, save_edits, working_copy
from models.flux.prompt_file import PromptFile, SaveConflict

LESSON = '''title = "Lesson"  # kept

[defaults]
steps = 4

[[sections]]
id = "s1"
title = "One"

[[sections.prompts]]
id = "witch"
text = "a witch"
seed = 7
commentary = """
original
"""

[[sections.prompts]]
id = "pastoral"
text = "pastoral"
seed = 1860
translation = "pastoral holiday"
'''


def lesson(tmp_path: Path, text: str = LESSON) -> Path:
    path = tmp_path / "lesson.toml"
    path.write_bytes(text.encode("utf-8"))
    return path


def prompt(path: Path, prompt_id: str) -> dict:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return [p for s in data["sections"] for p in s.get("prompts", []) if p["id"] == prompt_id][0]


def session(path: Path) -> tuple[PromptFile, PromptEdits]:
    """What a gallery session holds: the file as it read it, and its (empty) edits."""
    return PromptFile.load(path), PromptEdits()


def test_the_issue_steps_keep_both_edits(tmp_path):
    path = lesson(tmp_path)
    base_a, edits_a = session(path)
    base_b, edits_b = session(path)
    edits_b.set_field(base_b, "prompt", "witch", "commentary", "B wrote this")
    save_edits(path, edits_b)
    edits_a.set_field(working_copy(base_a, edits_a)[0], "prompt", "pastoral", "translation", "a festival")
    save_edits(path, edits_a)  # A's base is older than the file: no matter, only A's field is applied
    assert prompt(path, "witch")["commentary"] == "B wrote this\n"
    assert prompt(path, "pastoral")["translation"] == "a festival"
    assert "# kept" in path.read_text(encoding="utf-8")


def test_the_same_field_changed_on_disk_is_a_conflict_and_nothing_is_written(tmp_path):
    path = lesson(tmp_path)
    base, edits = session(path)
    edits.set_field(base, "prompt", "witch", "commentary", "mine")
    edits.set_field(base, "prompt", "witch", "seed", 8)
    theirs = LESSON.replace("original", "theirs")
    path.write_text(theirs, encoding="utf-8")
    with pytest.raises(EditConflict) as info:
        save_edits(path, edits)
    assert [(c.ident, c.field) for c in info.value.conflicts] == [("witch", "commentary")]
    assert "prompt 'witch' · commentary was changed on disk" in str(info.value)
    assert path.read_text(encoding="utf-8") == theirs
    assert "mine" in info.value.mine_text and "seed = 8" in info.value.mine_text  # the diff shown to the user
    save_edits(path, edits, force=True)  # "Keep mine"
    assert prompt(path, "witch")["commentary"] == "mine\n" and prompt(path, "witch")["seed"] == 8


def test_the_same_value_saved_by_both_is_no_conflict(tmp_path):
    path = lesson(tmp_path)
    base, edits = session(path)
    edits.set_field(base, "prompt", "witch", "seed", 9)
    path.write_text(LESSON.replace("seed = 7", "seed = 9"), encoding="utf-8")
    save_edits(path, edits)
    assert prompt(path, "witch")["seed"] == 9
    edits.drop_saved(PromptFile.load(path))
    assert not edits


def test_setting_a_field_back_drops_the_edit_and_the_base_stays_the_first_one(tmp_path):
    base, edits = session(lesson(tmp_path))
    edits.set_field(base, "prompt", "witch", "text", "a wizard")
    edits.set_field(base, "prompt", "witch", "text", "a sorcerer")
    assert edits.fields[("prompt", "witch", "text")] == ("a witch", "a sorcerer")
    edits.set_field(base, "prompt", "witch", "text", "a witch")
    edits.set_field(base, "prompt", "pastoral", "translation", "pastoral holiday")
    assert not edits


def test_unchanged_file_is_not_rewritten(tmp_path):
    path = lesson(tmp_path)
    before = path.stat().st_mtime_ns
    save_edits(path, PromptEdits())
    assert path.stat().st_mtime_ns == before


def test_add_move_and_delete_apply_to_the_file_on_disk(tmp_path):
    path = lesson(tmp_path)
    base, edits = session(path)
    view = working_copy(base, edits)[0]
    new_id = edits.add_prompt(view, "s1", "a lighthouse", seed=3)
    view = working_copy(base, edits)[0]
    edits.set_field(view, "prompt", new_id, "commentary", "new one")
    edits.move_prompt(new_id, -5)
    edits.delete_prompt(view, "pastoral")
    section_id = edits.add_section(working_copy(base, edits)[0], "Two")
    # Meanwhile someone else edits the witch's text: it stays.
    path.write_text(LESSON.replace('text = "a witch"', 'text = "a witch, theirs"'), encoding="utf-8")
    saved = save_edits(path, edits)
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert [p["id"] for p in data["sections"][0]["prompts"]] == ["a-lighthouse", "witch"]
    assert data["sections"][0]["prompts"][0]["commentary"] == "new one\n"
    assert prompt(path, "witch")["text"] == "a witch, theirs"
    assert [s["id"] for s in data["sections"]] == ["s1", section_id] and saved.problems() == []


def test_deleting_a_prompt_someone_changed_meanwhile_is_a_conflict(tmp_path):
    path = lesson(tmp_path)
    base, edits = session(path)
    edits.set_field(base, "prompt", "pastoral", "seed", 5)  # my own edit of it does not count
    edits.delete_prompt(working_copy(base, edits)[0], "pastoral")
    path.write_text(LESSON.replace("pastoral holiday", "a pastoral feast"), encoding="utf-8")
    with pytest.raises(EditConflict, match="changed on disk, and you deleted it"):
        save_edits(path, edits)
    path.write_text(LESSON, encoding="utf-8")
    save_edits(path, edits)
    assert "pastoral" not in path.read_text(encoding="utf-8")


def test_an_edit_of_a_prompt_deleted_on_disk_is_a_conflict(tmp_path):
    path = lesson(tmp_path)
    base, edits = session(path)
    edits.set_field(base, "prompt", "pastoral", "translation", "mine")
    path.write_text(LESSON.split('[[sections.prompts]]\nid = "pastoral"')[0], encoding="utf-8")
    with pytest.raises(EditConflict, match="'pastoral' was deleted or renamed on disk"):
        save_edits(path, edits)


def test_a_save_never_adds_an_error_to_the_file(tmp_path):
    path = lesson(tmp_path)
    base, edits = session(path)
    edits.set_field(base, "prompt", "witch", "text", "   ")
    with pytest.raises(NewProblems, match="prompt text is empty"):
        save_edits(path, edits)
    assert path.read_text(encoding="utf-8") == LESSON


# ---- two saves at once (the file lock) -----------------------------------------------------------

TRIALS = 200


def _race(targets: list) -> list:
    """Run each target in its own thread, released together; returns what each returned or raised."""
    results: list = [None] * len(targets)
    start = threading.Barrier(len(targets))

    def run(index: int) -> None:
        start.wait()
        try:
            results[index] = targets[index]()
        except SaveConflict as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(targets))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


@pytest.mark.slow
def test_two_whole_file_saves_at_once_one_wins_one_conflicts(tmp_path):
    """PromptFile.save: the check and the write are one step under the lock (192/200 lost without it)."""
    path = lesson(tmp_path)
    lost = []
    for trial in range(TRIALS):
        path.write_text(LESSON, encoding="utf-8")
        writers = [PromptFile.load(path), PromptFile.load(path)]
        writers[0].set_prompt_text("witch", f"A {trial}")
        writers[1].set_prompt_text("pastoral", f"B {trial}")
        results = _race([writers[0].save, writers[1].save])
        won = [i for i, r in enumerate(results) if not isinstance(r, SaveConflict)]
        texts = (prompt(path, "witch")["text"], prompt(path, "pastoral")["text"])
        if len(won) != 1 or texts != ((f"A {trial}", "pastoral") if won == [0] else ("a witch", f"B {trial}")):
            lost.append((trial, won, texts))
    assert lost == []


@pytest.mark.slow
def test_two_patch_saves_at_once_never_lose_an_edit(tmp_path):
    """save_edits: different fields both land; the same field lands once, the other save is refused."""
    path = lesson(tmp_path)
    lost = []
    for trial in range(TRIALS):
        path.write_text(LESSON, encoding="utf-8")
        same_field = trial % 2 == 1
        patches = []
        for who, (prompt_id, field) in enumerate([("witch", "text"), ("witch" if same_field else "pastoral", "text")]):
            base, edits = session(path)
            edits.set_field(base, "prompt", prompt_id, field, f"{who} {trial}")
            patches.append(edits)
        results = _race([lambda e=e: save_edits(path, e) for e in patches])
        conflicts = [r for r in results if isinstance(r, EditConflict)]
        witch, pastoral = prompt(path, "witch")["text"], prompt(path, "pastoral")["text"]
        if same_field:
            ok = len(conflicts) == 1 and witch == f"{results.index(conflicts[0]) ^ 1} {trial}"
        else:
            ok = not conflicts and (witch, pastoral) == (f"0 {trial}", f"1 {trial}")
        if not ok:
            lost.append((trial, results, witch, pastoral))
    assert lost == []


def _save_in_a_process(path: str, prompt_id: str, value: str, start, results) -> None:
    base, edits = PromptFile.load(path), PromptEdits()
    edits.set_field(base, "prompt", prompt_id, "text", value)
    start.wait()
    try:
        save_edits(path, edits)
        results.put((prompt_id, "saved"))
    except EditConflict:
        results.put((prompt_id, "conflict"))


@pytest.mark.slow
def test_saves_from_two_processes_never_lose_an_edit(tmp_path):
    """The lock is the operating system's: it holds between processes too (the CLI, a second server)."""
    path = lesson(tmp_path)
    ctx = multiprocessing.get_context("fork")
    for trial in range(20):
        path.write_text(LESSON, encoding="utf-8")
        start, results = ctx.Barrier(2), ctx.Queue()
        workers = [ctx.Process(target=_save_in_a_process, args=(str(path), pid, f"{pid} {trial}", start, results))
                   for pid in ("witch", "pastoral")]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(30)
        assert sorted(results.get(timeout=5) for _ in workers) == [("pastoral", "saved"), ("witch", "saved")]
        assert (prompt(path, "witch")["text"], prompt(path, "pastoral")["text"]) == (f"witch {trial}",
                                                                                    f"pastoral {trial}")
