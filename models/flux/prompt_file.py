"""Editing a prompt file: the tomlkit document behind the Gallery page's Edit mode, and saving it.

A prompt file is the lesson plan of the text-to-image part: sections of prompts, each with a seed and the
instructor's commentary. It is edited both by hand (in a text editor) and from the Gallery page, so:

* it is read and written with `tomlkit`, which keeps comments, key order and unknown keys: loading and
  saving an unchanged file gives back the same bytes;
* `PromptFile.save` writes atomically (models.core.atomic) and refuses to overwrite a file that changed on
  disk since it was loaded (`SaveConflict`), unless told to with `force=True`;
* every save holds the file's lock (`locked`, a real OS file lock) from reading the file on disk to
  writing it, so two sessions or processes saving at once cannot both pass the check and lose an edit;
* a file with Windows line endings (CRLF) is written back with CRLF.

The gallery does not edit a PromptFile in place: it keeps a session's edits as a patch and applies it to
the file as it is on disk (prompt_edits.py). The schema is in prompt_schema.py; checking is prompt_check.py.
"""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path
from typing import Any, Iterator

import filelock
import tomlkit
from tomlkit.items import AoT, String, StringType, Table, Trivia

from models.core.atomic import atomic_write_text
from models.flux import FluxError
from models.flux.params import GenerationParams, seed_problem
from models.flux.prompt_check import Problem, validate_text
from models.flux.prompt_schema import (
    PROMPT_KEYS,
    id_problem,
    merged_defaults,
    parse_document,
    prompt_params,
    read_prompt_text,
    slugify,
)


LOCK_TIMEOUT_S = 10.0  # a save takes milliseconds; waiting longer means something is stuck
LOCK_POLL_S = 0.002  # a waiting save retries this often (filelock's 50 ms default is ten saves' time)


class FileBusy(FluxError):
    """Another save of the same file held its lock for too long."""


@contextlib.contextmanager
def locked(path: str | Path) -> Iterator[None]:
    """Hold the lock of prompt file `path` (an OS lock on `.<name>.lock` beside it) for a read-compare-write.

    Every save takes it, in this process or any other, so between reading the file on disk and
    replacing it nobody else can write it.
    """
    path = Path(path)
    lock = filelock.FileLock(path.parent / f".{path.name}.lock", timeout=LOCK_TIMEOUT_S, poll_interval=LOCK_POLL_S)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise FileBusy(f"{path.name} is being saved by someone else: try again in a moment.") from None
    try:
        yield
    finally:
        lock.release()


class SaveConflict(FluxError):
    """The file on disk changed since it was loaded; saving now would overwrite someone's edits.

    Carries both versions so the user can choose: `disk_text` (what is on disk now) and `mine_text`
    (what this editor would write).
    """

    def __init__(self, path: Path, disk_text: str | None, mine_text: str, message: str | None = None) -> None:
        self.path = Path(path)
        self.disk_text = disk_text
        self.mine_text = mine_text
        what = "was deleted" if disk_text is None else "was changed by someone else"
        super().__init__(message or (
            f"{self.path.name} {what} since it was loaded. Reload it from disk (your edits are lost) "
            f"or save again with force=True to overwrite it with yours."
        ))


def text_hash(text: str) -> str:
    """Fingerprint of a file's text, used to notice changes on disk."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def unique_id(base: str, taken: list[str]) -> str:
    """`base`, or `base-2`, `base-3`, ... whichever is not taken; ValueError when `base` is no valid id."""
    problem = id_problem(base)
    if problem:
        raise ValueError(f"id {base!r} {problem}")
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def _is_multiline(item: Any) -> bool:
    return isinstance(item, String) and item.type in (StringType.MLB, StringType.MLL)


def _string_item(value: str, multiline: bool) -> String:
    """A tomlkit string; multi-line ones start on the line after `\"\"\"`, as a person would write them."""
    if not multiline:
        return tomlkit.string(value)
    item = tomlkit.string(value, multiline=True)
    inner = item.as_string()[3:-3]
    if not inner.startswith(("\n", "\r")):
        inner = "\n" + inner  # TOML drops a newline right after the opening quotes
    return String(StringType.MLB, value, inner, Trivia())


def _new_table(values: dict[str, Any], multiline_keys: tuple[str, ...] = ("commentary",)) -> Table:
    table = tomlkit.table()
    for key, value in values.items():
        if isinstance(value, str) and value and (key in multiline_keys or "\n" in value):
            table.add(key, _string_item(value, multiline=True))
        else:
            table.add(key, value)
    return table


def _append_table(aot: AoT, table: Table) -> None:
    """Append to an array of tables with exactly one blank line above the new [[...]] header."""
    prev = aot[-1] if len(aot) else None
    aot.append(table)
    if prev is not None:
        need_blank = not prev.as_string().endswith("\n\n")
        table.trivia.indent = ("\n" if need_blank else "") + table.trivia.indent.lstrip("\n")


def _ensure_blank_line(container: Any) -> None:
    """Before starting a new [[...]] array under `container`, leave a blank line after its content."""
    text = container.as_string()
    if text and not text.endswith("\n\n"):
        container.add(tomlkit.nl())


# --------------------------------------------------------------------------------------------------
# The editable document


class PromptFile:
    """A prompt file held as a tomlkit document, with the small edits the Gallery page needs.

    Read accessors return plain Python values (copies); edits go through the methods below so that
    comments and formatting elsewhere in the file are kept.
    """

    def __init__(self, text: str, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._bom = text.startswith("\ufeff")
        body = text[1:] if self._bom else text
        # A CRLF file is edited with LF and written back with CRLF: tomlkit writes new lines as LF,
        # which would leave a file with mixed line endings. A file already mixed is kept as it is.
        self._crlf = "\r\n" in body and "\n" not in body.replace("\r\n", "")
        if self._crlf:
            body = body.replace("\r\n", "\n")
        self.doc = parse_document(body, path)
        # What was on disk when loaded: a later save compares against this to detect conflicts.
        self.loaded_text: str | None = text if self.path is not None else None
        self.loaded_hash: str | None = text_hash(text) if self.path is not None else None

    # ---- loading and saving -----------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path) -> "PromptFile":
        """Read a prompt file; raises `PromptFileError` (with the line) when it cannot be read or parsed."""
        path = Path(path)
        return cls(read_prompt_text(path), path=path)

    @classmethod
    def from_text(cls, text: str) -> "PromptFile":
        """A prompt file not tied to a path yet (save needs a path then)."""
        return cls(text)

    def dumps(self) -> str:
        """The file's text as it would be saved."""
        text = self.doc.as_string()
        if self._crlf:
            text = text.replace("\n", "\r\n")
        return "\ufeff" + text if self._bom else text

    @property
    def dirty(self) -> bool:
        """True when there are edits not saved yet."""
        return self.loaded_text is None or self.dumps() != self.loaded_text

    def changed_on_disk(self) -> bool:
        """True when the file on disk is no longer what was loaded (someone else edited it)."""
        if self.path is None or self.loaded_hash is None:
            return False
        try:
            return text_hash(self.path.read_bytes().decode("utf-8", errors="replace")) != self.loaded_hash
        except FileNotFoundError:
            return True

    def save(
        self, path: str | Path | None = None, *, expected_hash: str | None = None, force: bool = False
    ) -> Path:
        """Write the file atomically and return its path.

        Refuses (raises `SaveConflict`) when the file on disk is not the one this document was loaded
        from (its hash differs from `expected_hash`, by default the hash at load), unless `force=True`.
        """
        target = Path(path) if path is not None else self.path
        if target is None:
            raise ValueError("this prompt file has no path yet: pass one to save()")
        mine = self.dumps()
        same_file = self.path is not None and target.resolve() == self.path.resolve()
        expected = expected_hash if expected_hash is not None else (self.loaded_hash if same_file else None)
        with locked(target):
            if not force:
                disk = _read_text_or_none(target)
                if expected is None:
                    if disk is not None and disk != mine:  # saving over a different, existing file
                        raise SaveConflict(target, disk, mine)
                elif disk is None or text_hash(disk) != expected:
                    raise SaveConflict(target, disk, mine)
            self.write_locked(target)
        return target

    def write_locked(self, target: str | Path | None = None) -> Path:
        """Write the file atomically with no check: only for a caller that holds `locked(target)` and has
        just compared what is on disk (save, prompt_edits.save_edits)."""
        target = Path(target) if target is not None else self.path
        if target is None:
            raise ValueError("this prompt file has no path yet")
        mine = self.dumps()
        atomic_write_text(target, mine)
        self.path = target
        self.loaded_text = mine
        self.loaded_hash = text_hash(mine)
        return target

    def problems(self) -> list[Problem]:
        """Validation problems of the current (possibly edited) text."""
        return validate_text(self.dumps())

    # ---- reading ----------------------------------------------------------------------------------

    @property
    def title(self) -> str:
        value = self.doc.get("title", "")
        return str(value) if isinstance(value, str) else ""

    @property
    def defaults(self) -> dict[str, Any]:
        """[defaults] merged over the built-in schnell values."""
        table = self.doc.get("defaults")
        return merged_defaults(_plain(table) if isinstance(table, dict) else None)

    def _section_tables(self) -> list[Table]:
        sections = self.doc.get("sections")
        if not isinstance(sections, list):
            return []
        return [s for s in sections if isinstance(s, dict)]

    def _prompt_tables(self, section: Table) -> list[Table]:
        prompts = section.get("prompts")
        if not isinstance(prompts, list):
            return []
        return [p for p in prompts if isinstance(p, dict)]

    def sections(self) -> list[dict[str, Any]]:
        """Sections in file order as plain dicts: id, title, commentary, prompts (list of dicts)."""
        out = []
        for index, table in enumerate(self._section_tables()):
            plain = _plain(table)
            plain.setdefault("id", f"section-{index + 1}")
            plain.setdefault("title", "")
            plain.setdefault("commentary", "")
            plain["prompts"] = [self._prompt_dict(p) for p in self._prompt_tables(table)]
            out.append(plain)
        return out

    def _prompt_dict(self, table: Table) -> dict[str, Any]:
        plain = _plain(table)
        plain.setdefault("text", "")
        plain.setdefault("commentary", "")
        plain.setdefault("tags", [])
        return plain

    def section_ids(self) -> list[str]:
        return [s["id"] for s in self.sections()]

    def prompt_ids(self) -> list[str]:
        return [p["id"] for s in self.sections() for p in s["prompts"] if "id" in p]

    def has_section(self, section_id: str) -> bool:
        """True when a section table really has this id (sections() invents ids for sections without one)."""
        return any(t.get("id") == section_id for t in self._section_tables())

    def section(self, section_id: str) -> dict[str, Any]:
        return _plain_section(self, self._section_table(section_id))

    def prompt(self, prompt_id: str) -> dict[str, Any]:
        return self._prompt_dict(self._prompt_table(prompt_id))

    def section_of(self, prompt_id: str) -> str:
        """The id of the section that holds `prompt_id`."""
        for section in self._section_tables():
            if any(p.get("id") == prompt_id for p in self._prompt_tables(section)):
                return str(section.get("id"))
        raise KeyError(f"no prompt with id {prompt_id!r} in this file")

    def params(self, prompt_id: str, *, model_id: str | None = None, revision: str | None = None) -> GenerationParams:
        """The GenerationParams of `prompt_id` for the model that will draw it (None: the file's model).

        The one route from the file to parameters (prompt_schema.prompt_params), shared by the gallery,
        `render` and the export. Values are as written; `seed` is None when the prompt has none and
        seed_policy is "random" (record one with `set_prompt_seed` first).
        """
        return prompt_params(self.defaults, self.prompt(prompt_id), model_id=model_id, revision=revision)

    # ---- editing prompts --------------------------------------------------------------------------

    def set_prompt_text(self, prompt_id: str, text: str) -> None:
        self._set_string(self._prompt_table(prompt_id), "text", text)

    def set_prompt_seed(self, prompt_id: str, seed: int) -> None:
        problem = seed_problem(seed)
        if problem:
            raise ValueError(problem)
        self._prompt_table(prompt_id)["seed"] = seed

    def set_prompt_commentary(self, prompt_id: str, commentary: str) -> None:
        self._set_string(self._prompt_table(prompt_id), "commentary", markdown_block(commentary), multiline=True)

    def set_prompt_field(self, prompt_id: str, key: str, value: Any) -> None:
        """Set any schema key of a prompt (None removes optional keys such as an override)."""
        if key not in PROMPT_KEYS:
            raise KeyError(f"{key!r} is not a prompt setting; known: {', '.join(PROMPT_KEYS)}")
        if key == "id":
            raise KeyError("use rename_prompt to change an id")
        table = self._prompt_table(prompt_id)
        if value is None:
            if key in table:
                del table[key]
        elif isinstance(value, str):
            self._set_string(table, key, value, multiline=key == "commentary")
        else:
            table[key] = value

    def set_chosen(self, prompt_id: str, chosen: int | str | None) -> None:
        """Star an image (its seed or cache key) as the prompt's chosen one; None clears the star."""
        self.set_prompt_field(prompt_id, "chosen", chosen)

    def rename_prompt(self, prompt_id: str, new_id: str) -> None:
        problem = id_problem(new_id)
        if problem:
            raise ValueError(f"prompt id {new_id!r} {problem}")
        if new_id != prompt_id and new_id in self.prompt_ids():
            raise ValueError(f"there is already a prompt with id {new_id!r}")
        self._set_string(self._prompt_table(prompt_id), "id", new_id)

    def add_prompt(
        self,
        section_id: str,
        text: str,
        *,
        seed: int | None = None,
        prompt_id: str | None = None,
        commentary: str = "",
        **extra: Any,
    ) -> str:
        """Append a prompt to a section; returns its id (made from the text when not given)."""
        section = self._section_table(section_id)
        new_id = unique_id(prompt_id or slugify(text), self.prompt_ids())
        values: dict[str, Any] = {"id": new_id, "text": text}
        if seed is not None:
            values["seed"] = seed
        values["commentary"] = commentary
        for key, value in extra.items():
            if key not in PROMPT_KEYS:
                raise KeyError(f"{key!r} is not a prompt setting; known: {', '.join(PROMPT_KEYS)}")
            if value is not None:
                values[key] = value
        table = _new_table(values)
        if not isinstance(section.get("prompts"), AoT):
            _ensure_blank_line(section)
            section.append("prompts", tomlkit.aot())
        _append_table(section["prompts"], table)
        return new_id

    def delete_prompt(self, prompt_id: str) -> None:
        section = self._section_table(self.section_of(prompt_id))
        prompts = section["prompts"]
        index = next(i for i, p in enumerate(prompts) if p.get("id") == prompt_id)
        del prompts[index]
        if len(prompts) == 0:
            del section["prompts"]

    def move_prompt(self, prompt_id: str, delta: int) -> None:
        """Move a prompt up (delta < 0) or down within its section; clamped at the ends."""
        prompts = self._section_table(self.section_of(prompt_id))["prompts"]
        index = next(i for i, p in enumerate(prompts) if p.get("id") == prompt_id)
        _move(prompts, index, delta)

    # ---- editing sections -------------------------------------------------------------------------

    def set_section_commentary(self, section_id: str, commentary: str) -> None:
        self._set_string(self._section_table(section_id), "commentary", markdown_block(commentary), multiline=True)

    def set_section_title(self, section_id: str, title: str) -> None:
        self._set_string(self._section_table(section_id), "title", title)

    def add_section(self, title: str, *, section_id: str | None = None, commentary: str = "") -> str:
        """Append a section at the end; returns its id (made from the title when not given)."""
        new_id = unique_id(section_id or slugify(title, fallback="section"), self.section_ids())
        table = _new_table({"id": new_id, "title": title, "commentary": commentary})
        if not isinstance(self.doc.get("sections"), AoT):
            _ensure_blank_line(self.doc)
            self.doc.append("sections", tomlkit.aot())
        _append_table(self.doc["sections"], table)
        return new_id

    def delete_section(self, section_id: str) -> None:
        sections = self.doc["sections"]
        index = next(i for i, s in enumerate(sections) if s.get("id") == section_id)
        del sections[index]

    def move_section(self, section_id: str, delta: int) -> None:
        sections = self.doc["sections"]
        index = next(i for i, s in enumerate(sections) if s.get("id") == section_id)
        _move(sections, index, delta)

    # ---- internals --------------------------------------------------------------------------------

    def _section_table(self, section_id: str) -> Table:
        for table in self._section_tables():
            if table.get("id") == section_id:
                return table
        raise KeyError(f"no section with id {section_id!r} in this file")

    def _prompt_table(self, prompt_id: str) -> Table:
        for section in self._section_tables():
            for table in self._prompt_tables(section):
                if table.get("id") == prompt_id:
                    return table
        raise KeyError(f"no prompt with id {prompt_id!r} in this file")

    @staticmethod
    def _set_string(table: Any, key: str, value: str, multiline: bool = False) -> None:
        if not isinstance(value, str):
            raise TypeError(f"{key} must be text, not {type(value).__name__}")
        old = table.get(key) if hasattr(table, "get") else None
        if isinstance(old, str) and str(old) == value:
            return  # unchanged: keep the original formatting byte for byte
        keep_multiline = multiline or _is_multiline(table.get(key)) or "\n" in value or "\r" in value
        table[key] = _string_item(value, multiline=keep_multiline)


def markdown_block(text: str) -> str:
    """Commentary ends with a newline so its closing triple quotes sit on their own line."""
    if not isinstance(text, str):
        raise TypeError(f"commentary must be text, not {type(text).__name__}")
    text = text.replace("\r\n", "\n")
    return text if not text.strip() or text.endswith("\n") else text + "\n"


def _plain(table: Any) -> dict[str, Any]:
    value = table.unwrap() if hasattr(table, "unwrap") else dict(table)
    return value if isinstance(value, dict) else {}


def _plain_section(pf: PromptFile, table: Table) -> dict[str, Any]:
    plain = _plain(table)
    plain.setdefault("title", "")
    plain.setdefault("commentary", "")
    plain["prompts"] = [pf._prompt_dict(p) for p in pf._prompt_tables(table)]
    return plain


def _move(aot: AoT, index: int, delta: int) -> None:
    target = max(0, min(len(aot) - 1, index + delta))
    if target == index:
        return
    item = aot[index]
    del aot[index]
    aot.insert(target, item)


def _read_text_or_none(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return None

