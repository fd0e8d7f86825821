"""A session's unsaved edits of a prompt file, kept as a patch and applied to the file as it is on disk.

Several people may edit the same lesson file at once (an instructor on the laptop and in a second tab,
two teaching assistants). Holding a whole edited copy of the file per session and writing it back loses
edits: the copy carries every field as it was when loaded, so saving it puts back old values of fields
its session never touched. So a session keeps only what it changed:

    fields: {(kind, id, field): (base value, new value)}    kind is "prompt" or "section"
    steps:  add / delete / move of prompts and sections, in the order they were made

`save_edits` takes the file's lock, reads the file as it is on disk now, applies the patch to it and
writes it. A field someone else changed meanwhile is left alone unless this session changed the same
field: that, and only that, is a conflict (its value on disk is no longer the base value).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.flux.prompt_check import validate_text
from models.flux.prompt_file import PromptFile, SaveConflict, locked, markdown_block, unique_id
from models.flux.prompt_schema import read_prompt_text, slugify

PROMPT_FIELDS = ("text", "seed", "commentary", "tags", "translation", "rephrased", "chosen", "steps", "width",
                 "height")
SECTION_FIELDS = ("title", "commentary")
GONE = object()  # the prompt or section is not in the file (any more)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def same_value(a: Any, b: Any) -> bool:
    """Equal as the file means them: an absent key, "" and [] all mean "nothing"."""
    if a is GONE or b is GONE:
        return a is b
    return (_empty(a) and _empty(b)) or (type(a) is type(b) and a == b)


def read_field(pf: PromptFile, kind: str, ident: str, field: str) -> Any:
    """The plain value of one field (None when the key is absent), or GONE when the table is missing."""
    try:
        table = pf.prompt(ident) if kind == "prompt" else pf.section(ident)
    except KeyError:
        return GONE
    return table.get(field)


def write_field(pf: PromptFile, kind: str, ident: str, field: str, value: Any) -> None:
    if kind == "section":
        if field == "title":
            pf.set_section_title(ident, value or "")
        else:
            pf.set_section_commentary(ident, value or "")
    elif field == "text":
        pf.set_prompt_text(ident, value)
    elif field == "commentary":
        pf.set_prompt_commentary(ident, value or "")
    elif field == "seed" and value is not None:
        pf.set_prompt_seed(ident, value)
    else:
        pf.set_prompt_field(ident, field, None if _empty(value) else value)


@dataclass(frozen=True)
class Conflict:
    """One edit of this session that the file on disk does not allow any more."""

    kind: str
    ident: str
    field: str
    base: Any
    disk: Any
    mine: Any

    def __str__(self) -> str:
        if self.disk is GONE:
            return f"{self.kind} '{self.ident}' was deleted or renamed on disk"
        if self.field == "*":
            return f"{self.kind} '{self.ident}' was changed on disk, and you deleted it"
        if self.field == "id":
            return f"a {self.kind} '{self.ident}' was added on disk too"
        return f"{self.kind} '{self.ident}' · {self.field} was changed on disk since you started editing it"


class EditConflict(SaveConflict):
    """Some of this session's edits collide with changes saved by someone else (nothing was written)."""

    def __init__(self, path: Path, disk_text: str, mine_text: str, conflicts: list[Conflict]) -> None:
        self.conflicts = conflicts
        listed = "; ".join(str(c) for c in conflicts)
        super().__init__(path, disk_text, mine_text,
                         f"{len(conflicts)} of your edits collide with changes saved by someone else: {listed}.")


class NewProblems(SaveConflict):
    """Saving would put an error into the file that it does not have now (nothing was written)."""

    def __init__(self, path: Path, disk_text: str, mine_text: str, problems: list) -> None:
        self.problems = problems
        listed = "; ".join(str(p) for p in problems[:3])
        super().__init__(path, disk_text, mine_text, f"saving would put an error into {Path(path).name}: {listed}.")


class PromptEdits:
    """The patch of one session (see the module docstring). `version` grows with every change."""

    def __init__(self) -> None:
        self.fields: dict[tuple[str, str, str], tuple[Any, Any]] = {}
        self.steps: list[tuple] = []
        self.version = 0

    def __bool__(self) -> bool:
        return bool(self.fields or self.steps)

    def clear(self) -> None:
        self.fields.clear()
        self.steps.clear()
        self.version += 1

    # ---- recording edits (`view` is what the session sees: the file with this patch applied)

    def set_field(self, view: PromptFile, kind: str, ident: str, field: str, value: Any) -> None:
        """Record `field` of a prompt or section = `value`. Its base is what the file held before this
        session first changed it; setting it back to that drops the edit."""
        allowed = PROMPT_FIELDS if kind == "prompt" else SECTION_FIELDS
        if field not in allowed:
            raise KeyError(f"{field!r} is not an editable {kind} field ({', '.join(allowed)})")
        if field == "commentary":
            value = markdown_block(value or "")
        key = (kind, ident, field)
        base = self.fields[key][0] if key in self.fields else read_field(view, kind, ident, field)
        if base is GONE:
            raise KeyError(f"no {kind} with id {ident!r}")
        if same_value(base, value):
            self.fields.pop(key, None)
        else:
            self.fields[key] = (base, value)
        self.version += 1

    def add_prompt(self, view: PromptFile, section_id: str, text: str, *, seed: int | None = None,
                   commentary: str = "", **overrides: Any) -> str:
        """Record a new prompt at the end of a section; returns its id (unique in `view`)."""
        prompt_id = unique_id(slugify(text), view.prompt_ids())
        self._step("add_prompt", section_id, prompt_id,
                   {"seed": seed, "commentary": commentary, "text": text, **overrides})
        return prompt_id

    def delete_prompt(self, view: PromptFile, prompt_id: str) -> None:
        """Record deleting a prompt; it conflicts only with a change saved to that prompt since."""
        as_loaded = view.prompt(prompt_id)
        for (kind, ident, field), (base, _) in list(self.fields.items()):
            if (kind, ident) == ("prompt", prompt_id):
                as_loaded[field] = base  # compare with the file as loaded, not with my edits
                del self.fields[(kind, ident, field)]
        self._step("delete_prompt", prompt_id, as_loaded)

    def move_prompt(self, prompt_id: str, delta: int) -> None:
        self._step("move_prompt", prompt_id, delta)

    def add_section(self, view: PromptFile, title: str) -> str:
        section_id = unique_id(slugify(title, fallback="section"), view.section_ids())
        self._step("add_section", section_id, title)
        return section_id

    def delete_section(self, view: PromptFile, section_id: str) -> None:
        """Record deleting a section; it conflicts only with prompts added to or removed from it since."""
        prompts = _prompt_ids(view.section(section_id))
        self.fields = {k: v for k, v in self.fields.items()
                       if k[:2] != ("section", section_id) and not (k[0] == "prompt" and k[1] in prompts)}
        self._step("delete_section", section_id, prompts)

    def move_section(self, section_id: str, delta: int) -> None:
        self._step("move_section", section_id, delta)

    def _step(self, *step: Any) -> None:
        self.steps.append(step)
        self.version += 1

    # ---- applying

    def apply(self, pf: PromptFile, *, mine_wins: bool) -> list[Conflict]:
        """Apply the patch to `pf` (the file as it is on disk); returns the conflicts found.

        A conflicting field gets this session's value only when `mine_wins`; an edit of something no
        longer in the file is always left out.
        """
        conflicts = [c for step in self.steps if (c := _apply_step(pf, step, mine_wins))]
        for (kind, ident, field), (base, mine) in self.fields.items():
            disk = read_field(pf, kind, ident, field)
            if disk is GONE:
                conflicts.append(Conflict(kind, ident, field, base, disk, mine))
                continue
            if same_value(disk, mine):
                continue
            if not same_value(disk, base):
                conflicts.append(Conflict(kind, ident, field, base, disk, mine))
                if not mine_wins:
                    continue
            write_field(pf, kind, ident, field, mine)
        return conflicts

    def drop_saved(self, pf: PromptFile) -> None:
        """Forget field edits the file already holds (someone saved the same value)."""
        done = [key for key, (_, mine) in self.fields.items() if same_value(read_field(pf, *key), mine)]
        for key in done:
            del self.fields[key]
        if done:
            self.version += 1


def _apply_step(pf: PromptFile, step: tuple, mine_wins: bool) -> Conflict | None:
    action, ident = step[0], step[1]
    if action == "add_prompt":
        section_id, prompt_id, values = ident, step[2], dict(step[3])
        if not pf.has_section(section_id):
            return Conflict("section", section_id, "prompts", None, GONE, prompt_id)
        if prompt_id in pf.prompt_ids():
            return Conflict("prompt", prompt_id, "id", None, prompt_id, prompt_id)
        pf.add_prompt(section_id, values.pop("text"), prompt_id=prompt_id, **values)
    elif action == "add_section":
        if pf.has_section(ident):
            return Conflict("section", ident, "id", None, ident, ident)
        pf.add_section(step[2], section_id=ident)
    elif action == "delete_prompt" and ident in pf.prompt_ids():
        now = pf.prompt(ident)
        changed = any(not same_value(now.get(k), step[2].get(k)) for k in now.keys() | step[2].keys())
        if changed and not mine_wins:
            return Conflict("prompt", ident, "*", step[2], now, None)
        pf.delete_prompt(ident)
    elif action == "delete_section" and pf.has_section(ident):
        now = _prompt_ids(pf.section(ident))
        if now != step[2] and not mine_wins:
            return Conflict("section", ident, "*", step[2], now, None)
        pf.delete_section(ident)
    elif action == "move_prompt" and ident in pf.prompt_ids():
        pf.move_prompt(ident, step[2])
    elif action == "move_section" and pf.has_section(ident):
        pf.move_section(ident, step[2])
    return None


def _prompt_ids(section: dict) -> set:
    return {p.get("id") for p in section["prompts"]}


def working_copy(base: PromptFile, edits: PromptEdits) -> tuple[PromptFile, list[Conflict]]:
    """What the session sees: `base` (the file as last read) with its edits applied, and the conflicts."""
    view = PromptFile(base.dumps(), path=base.path)
    conflicts = edits.apply(view, mine_wins=True)
    return view, conflicts


def save_edits(path: str | Path, edits: PromptEdits, *, force: bool = False) -> PromptFile:
    """Apply `edits` to the file as it is on disk and write it; returns the file as saved.

    Holds the file's lock from reading to writing. Raises EditConflict (nothing written) when an edit
    collides with a change saved since (unless `force`: then this session's values win), and
    NewProblems when the result would have an error the file does not have now. A file nobody
    changed is not rewritten.
    """
    path = Path(path)
    with locked(path):
        disk_text = read_prompt_text(path)
        pf = PromptFile(disk_text, path=path)
        conflicts = edits.apply(pf, mine_wins=force)
        mine_text = pf.dumps()
        if conflicts and not force:
            forced = PromptFile(disk_text, path=path)
            edits.apply(forced, mine_wins=True)
            raise EditConflict(path, disk_text, forced.dumps(), conflicts)
        before = {p.message for p in validate_text(disk_text) if p.is_error}
        added = [p for p in validate_text(mine_text) if p.is_error and p.message not in before]
        if added:
            raise NewProblems(path, disk_text, mine_text, added)
        if mine_text != disk_text:
            pf.write_locked(path)
    return pf
