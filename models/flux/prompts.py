"""Editable prompt files: read, edit, validate and save `prompts/*.toml`.

A prompt file is the lesson plan of the text-to-image part: sections of prompts, each with a seed and the
instructor's commentary. The file is edited both by hand (in a text editor) and from the Gallery page, so:

* it is read and written with `tomlkit`, which keeps comments, key order and unknown keys: loading and
  saving an unchanged file gives back the same bytes;
* `PromptFile.save` writes atomically (temp file + `os.replace`) and refuses to overwrite a file that
  changed on disk since it was loaded (`SaveConflict`), unless told to with `force=True`;
* `validate_file` reports problems with the line they are on, like a compiler (`FILE:LINE: message`).

Schema (shared with `models.flux.render`):

    title = "..."
    [defaults]            model, steps, width, height, guidance_scale, max_sequence_length, seed_policy
    [[sections]]          id, title, commentary
    [[sections.prompts]]  id, text, seed, commentary, tags, translation, chosen,
                          and optional overrides: steps, width, height, guidance_scale, max_sequence_length
"""

from __future__ import annotations

import difflib
import hashlib
import re
import tomllib
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import tomlkit
import tomlkit.exceptions
from tomlkit.items import AoT, String, StringType, Table, Trivia

from models.atomic import atomic_write_bytes
from models.flux import FluxError

# --------------------------------------------------------------------------------------------------
# Schema

DEFAULT_MODEL = "black-forest-labs/FLUX.1-schnell"

# The values FLUX.1-schnell is meant to be run with (the pipeline's own defaults are tuned for FLUX.1-dev).
DEFAULTS: dict[str, Any] = {
    "model": DEFAULT_MODEL,
    "steps": 4,
    "width": 1024,
    "height": 1024,
    "guidance_scale": 0.0,
    "max_sequence_length": 256,
    "seed_policy": "fixed",
}
SEED_POLICIES = ("fixed", "random")
# Keys a prompt may override; everything else comes from [defaults].
OVERRIDE_KEYS = ("steps", "width", "height", "guidance_scale", "max_sequence_length")

TOP_KEYS = ("title", "defaults", "sections")
SECTION_KEYS = ("id", "title", "commentary", "prompts")
PROMPT_KEYS = ("id", "text", "seed", "commentary", "tags", "translation", "chosen") + OVERRIDE_KEYS

# Limits checked by `validate_file` (sizes: multiples of 16 because FLUX packs 2x2 patches of the
# 8x-downsampled latent; 256-2048 is the range of the official demo).
SIZE_MIN, SIZE_MAX, SIZE_MULTIPLE = 256, 2048, 16
STEPS_MIN, STEPS_MAX = 1, 50
SEQ_MAX_SCHNELL, SEQ_MAX_PIPELINE = 256, 512
SEED_MAX = 2**63 - 1  # TOML integers are signed 64-bit

UNSAFE_ID_CHARS = '<>:"|?*'  # forbidden in Windows file names; ids become file names


class PromptFileError(FluxError, ValueError):
    """The prompt file cannot be read (malformed TOML, or not a prompt file at all)."""

    def __init__(self, message: str, line: int = 0, path: str | Path | None = None) -> None:
        self.line = line
        self.path = str(path) if path is not None else None
        where = f"{self.path or 'prompt file'}:{line}: " if line else (f"{self.path}: " if self.path else "")
        super().__init__(where + message)
        self.message = message


class SaveConflict(FluxError):
    """The file on disk changed since it was loaded; saving now would overwrite someone's edits.

    Carries both versions so the user can choose: `disk_text` (what is on disk now) and `mine_text`
    (what this editor would write).
    """

    def __init__(self, path: Path, disk_text: str | None, mine_text: str) -> None:
        self.path = Path(path)
        self.disk_text = disk_text
        self.mine_text = mine_text
        what = "was deleted" if disk_text is None else "was changed by someone else"
        super().__init__(
            f"{self.path} {what} since it was loaded. Reload it from disk (your edits are lost) "
            f"or save again with force=True to overwrite it with yours."
        )


@dataclass(frozen=True)
class Problem:
    """One finding of `validate_file`: `line` is 1-based (0 when the file cannot be read at all)."""

    line: int
    message: str
    severity: str = "error"  # "error" or "warning"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def format(self, path: str | Path = "") -> str:
        """`FILE:LINE: message` like a compiler (warnings say so), so editors can jump to the line."""
        prefix = "" if self.severity == "error" else "warning: "
        return f"{path}:{self.line}: {prefix}{self.message}"

    def __str__(self) -> str:
        return self.format("line") if self.line else self.message


# --------------------------------------------------------------------------------------------------
# Small helpers


def text_hash(text: str) -> str:
    """Fingerprint of a file's text, used to notice changes on disk."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def id_problem(value: Any) -> str | None:
    """Why `value` cannot be an id (ids become file and folder names), or None when it is fine."""
    if not isinstance(value, str):
        return f"must be a string, not {type(value).__name__}"
    if not value.strip():
        return "is empty"
    if value != value.strip():
        return "starts or ends with a space"
    if "/" in value or "\\" in value:
        return "contains a slash (ids become file names)"
    if ".." in value:
        return "contains '..' (ids become file names)"
    if value.startswith("."):
        return "starts with '.' (that would be a hidden file)"
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "contains a control character"
    bad = sorted({c for c in value if c in UNSAFE_ID_CHARS})
    if bad:
        return f"contains {' '.join(bad)} (not allowed in file names)"
    if len(value) > 100:
        return "is longer than 100 characters"
    return None


def slugify(text: str, fallback: str = "prompt", max_len: int = 40) -> str:
    """A readable, file-name-safe id from free text: 'A gouache cat!' -> 'a-gouache-cat'."""
    slug = re.sub(r"[^0-9a-zA-Z]+", "-", text.lower()).strip("-")[:max_len].strip("-")
    return slug or fallback


def default_seed(prompt_id: str) -> int:
    """A stable seed for a prompt that has none (seed_policy "fixed"): the same on every machine."""
    return zlib.crc32(prompt_id.encode("utf-8"))


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

    def __init__(self, text: str, path: str | Path | None = None, mtime_ns: int | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._bom = text.startswith("\ufeff")
        body = text[1:] if self._bom else text
        try:
            self.doc = tomlkit.parse(body)
        except tomlkit.exceptions.TOMLKitError as err:
            line, message = _parse_failure(body, err)
            raise PromptFileError(message, line=line, path=path) from None
        # What was on disk when loaded: a later save compares against this to detect conflicts.
        self.loaded_text: str | None = text if self.path is not None else None
        self.loaded_hash: str | None = text_hash(text) if self.path is not None else None
        self.loaded_mtime_ns = mtime_ns

    # ---- loading and saving -----------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path) -> "PromptFile":
        """Read a prompt file; raises `PromptFileError` (with the line) when it is not valid TOML."""
        path = Path(path)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise PromptFileError("file not found", path=path) from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            line = raw[: err.start].count(b"\n") + 1
            raise PromptFileError("not UTF-8 text (save the file as UTF-8)", line=line, path=path) from None
        return cls(text, path=path, mtime_ns=path.stat().st_mtime_ns)

    @classmethod
    def from_text(cls, text: str) -> "PromptFile":
        """A prompt file not tied to a path yet (save needs a path then)."""
        return cls(text)

    def dumps(self) -> str:
        """The file's text as it would be saved."""
        text = self.doc.as_string()
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
        if not force:
            disk = _read_text_or_none(target)
            if expected is None:
                if disk is not None and disk != mine:  # saving over a different, existing file
                    raise SaveConflict(target, disk, mine)
            elif disk is None or text_hash(disk) != expected:
                raise SaveConflict(target, disk, mine)
        atomic_write_text(target, mine)
        self.path = target
        self.loaded_text = mine
        self.loaded_hash = text_hash(mine)
        self.loaded_mtime_ns = target.stat().st_mtime_ns
        return target

    def problems(self) -> list[Problem]:
        """Validation problems of the current (possibly edited) text."""
        return validate_text(self.dumps())

    # ---- reading ----------------------------------------------------------------------------------

    @property
    def title(self) -> str:
        value = self.doc.get("title", "")
        return str(value) if isinstance(value, str) else ""

    def set_title(self, title: str) -> None:
        self._set_string(self.doc, "title", title)

    @property
    def defaults(self) -> dict[str, Any]:
        """[defaults] merged over the built-in schnell values."""
        merged = dict(DEFAULTS)
        table = self.doc.get("defaults")
        if isinstance(table, dict):
            merged.update({k: v for k, v in _plain(table).items() if k in DEFAULTS})
        return merged

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

    def has_prompt(self, prompt_id: str) -> bool:
        return any(p.get("id") == prompt_id for s in self._section_tables() for p in self._prompt_tables(s))

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

    def prompt_params(self, prompt_id: str) -> dict[str, Any]:
        """Everything needed to generate `prompt_id`: [defaults] merged with the prompt's overrides.

        Keys: prompt, seed, steps, width, height, guidance_scale, max_sequence_length, model_id.
        `seed` is None when the prompt has none and seed_policy is "random" (the caller draws one and
        records it with `set_prompt_seed`); with "fixed" a stable seed is derived from the id.
        """
        prompt = self.prompt(prompt_id)
        defaults = self.defaults
        params: dict[str, Any] = {"prompt": prompt["text"]}
        seed = prompt.get("seed")
        if not isinstance(seed, int) or isinstance(seed, bool):
            seed = default_seed(prompt_id) if defaults["seed_policy"] != "random" else None
        params["seed"] = seed
        for key in OVERRIDE_KEYS:
            params[key] = prompt.get(key, defaults[key])
        params["model_id"] = defaults["model"]
        return params

    # ---- editing prompts --------------------------------------------------------------------------

    def set_prompt_text(self, prompt_id: str, text: str) -> None:
        self._set_string(self._prompt_table(prompt_id), "text", text)

    def set_prompt_seed(self, prompt_id: str, seed: int) -> None:
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= SEED_MAX:
            raise ValueError(f"a seed is a whole number from 0 to {SEED_MAX}, not {seed!r}")
        self._prompt_table(prompt_id)["seed"] = seed

    def set_prompt_commentary(self, prompt_id: str, commentary: str) -> None:
        self._set_string(self._prompt_table(prompt_id), "commentary", _markdown_block(commentary), multiline=True)

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
        new_id = self._unique_id(prompt_id or slugify(text), self.prompt_ids())
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
        self._set_string(self._section_table(section_id), "commentary", _markdown_block(commentary), multiline=True)

    def set_section_title(self, section_id: str, title: str) -> None:
        self._set_string(self._section_table(section_id), "title", title)

    def add_section(self, title: str, *, section_id: str | None = None, commentary: str = "") -> str:
        """Append a section at the end; returns its id (made from the title when not given)."""
        new_id = self._unique_id(section_id or slugify(title, fallback="section"), self.section_ids())
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
    def _unique_id(base: str, taken: list[str]) -> str:
        problem = id_problem(base)
        if problem:
            raise ValueError(f"id {base!r} {problem}")
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base}-{n}", n + 1
        return candidate

    @staticmethod
    def _set_string(table: Any, key: str, value: str, multiline: bool = False) -> None:
        if not isinstance(value, str):
            raise TypeError(f"{key} must be text, not {type(value).__name__}")
        old = table.get(key) if hasattr(table, "get") else None
        if isinstance(old, str) and str(old) == value:
            return  # unchanged: keep the original formatting byte for byte
        keep_multiline = multiline or _is_multiline(table.get(key)) or "\n" in value or "\r" in value
        table[key] = _string_item(value, multiline=keep_multiline)


def _markdown_block(text: str) -> str:
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


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write `text` to `path` so that a crash leaves either the old file or the new one, never half."""
    atomic_write_bytes(path, text.encode("utf-8"))


def _parse_failure(text: str, err: Exception) -> tuple[int, str]:
    """(line, message) for a file tomlkit cannot read.

    tomlkit's syntax errors carry a line; its semantic ones (a key defined twice) do not, so the
    standard library's parser, which names the line in its message, is asked for it.
    """
    if isinstance(err, tomlkit.exceptions.ParseError):
        message = re.sub(r"\s+at line \d+ col \d+$", "", str(err))
        return err.line or 1, f"not valid TOML: {message} (column {err.col})"
    line = 1
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as std_err:
        found = re.search(r"at line (\d+)", str(std_err))
        line = int(found.group(1)) if found else 1
    return line, f"not valid TOML: {err}"


# --------------------------------------------------------------------------------------------------
# Validation


class _LineIndex:
    """Where each table header and key sits in the source text.

    tomlkit does not keep line numbers, so this scans the text: it follows [table] / [[array]] headers
    and `key =` lines, skipping the insides of multi-line strings (a commentary may contain `x = 1`).
    Tables are named like the data: ("defaults",), ("sections", 0), ("sections", 0, "prompts", 2).
    """

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([^\[\]]+?)\s*\]\]?\s*(#.*)?$")
    _KEY = re.compile(r"""^\s*((?:[A-Za-z0-9_-]+|"[^"\\]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"\\]*"|'[^']*'))*)\s*=""")

    def __init__(self, text: str) -> None:
        self.header: dict[tuple, int] = {}
        self.keys: dict[tuple, dict[str, int]] = {(): {}}
        self.unknown_tables: list[tuple[str, int]] = []  # (header name, line) of tables outside the schema
        counts: dict[tuple, int] = {}
        current: tuple = ()
        open_delim: str | None = None  # inside a multi-line string started with this delimiter
        for number, line in enumerate(text.splitlines(), start=1):
            if open_delim is not None:
                if _closes(line, open_delim):
                    open_delim = None
                continue
            header = self._HEADER.match(line)
            if header:
                is_array = header.group(1) == "[["
                name = tuple(part.strip().strip("\"'") for part in header.group(2).split("."))
                current = self._table_path(name, is_array, counts)
                self.header[current] = number
                self.keys.setdefault(current, {})
                if name not in (("defaults",), ("sections",), ("sections", "prompts")):
                    self.unknown_tables.append((".".join(name), number))
                continue
            key = self._KEY.match(line)
            if key:
                name = key.group(1).split(".")[0].strip().strip("\"'")
                self.keys.setdefault(current, {}).setdefault(name, number)
                rest = line[key.end():].lstrip()
                for delim in ('"""', "'''"):
                    if rest.startswith(delim) and not _closes(rest[3:], delim):
                        open_delim = delim
                        break

    @staticmethod
    def _table_path(name: tuple, is_array: bool, counts: dict[tuple, int]) -> tuple:
        # Resolve [[sections.prompts]] to the prompts array of the latest [[sections]].
        if name == ("sections",) and is_array:
            index = counts.get(("sections",), 0)
            counts[("sections",)] = index + 1
            return ("sections", index)
        if name == ("sections", "prompts") and is_array:
            section = counts.get(("sections",), 1) - 1
            index = counts.get(("sections", section, "prompts"), 0)
            counts[("sections", section, "prompts")] = index + 1
            return ("sections", section, "prompts", index)
        return name

    def line(self, table: tuple, key: str | None = None) -> int:
        """Line of `key` inside `table` (or of the table's header); falls back to the header, then 1."""
        if key is not None and key in self.keys.get(table, {}):
            return self.keys[table][key]
        return self.header.get(table, 1)


def _closes(text: str, delim: str) -> bool:
    """Does this text close a multi-line string opened with `delim`? (backslash escapes in basic ones)"""
    if delim == "'''":
        return delim in text
    i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text.startswith('"""', i):
            return True
        i += 1
    return False


def _did_you_mean(key: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else f" (known keys: {', '.join(known)})"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def validate_file(path: str | Path) -> list[Problem]:
    """Check a prompt file; returns problems sorted by line (empty when all is well)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return [Problem(0, f"file not found: {path}")]
    except OSError as err:
        return [Problem(0, f"cannot read {path}: {err.strerror or err}")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        return [Problem(raw[: err.start].count(b"\n") + 1, "not UTF-8 text (save the file as UTF-8)")]
    return validate_text(text)


def validate_text(text: str) -> list[Problem]:
    """Check the text of a prompt file (see `validate_file`)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        data = tomlkit.parse(text).unwrap()
    except tomlkit.exceptions.TOMLKitError as err:
        line, message = _parse_failure(text, err)
        return [Problem(line, message)]
    lines = _LineIndex(text)
    problems: list[Problem] = []

    def error(table: tuple, key: str | None, message: str) -> None:
        problems.append(Problem(lines.line(table, key), message, "error"))

    def warn(table: tuple, key: str | None, message: str) -> None:
        problems.append(Problem(lines.line(table, key), message, "warning"))

    for key in data:
        if key not in TOP_KEYS:
            if isinstance(data[key], dict) or (isinstance(data[key], list) and data[key] and isinstance(data[key][0], dict)):
                problems.append(Problem(lines.header.get((key,), lines.line((), key)),
                                        f"unknown table [{key}]{_did_you_mean(key, TOP_KEYS)}", "warning"))
            else:
                warn((), key, f"unknown key {key!r}{_did_you_mean(key, TOP_KEYS)}")
    if "title" not in data:
        problems.append(Problem(1, "no title: add a line like title = \"Part 1 - text to image\"", "warning"))
    elif not isinstance(data["title"], str):
        error((), "title", "title must be text in quotes")

    defaults = data.get("defaults", {})
    model = DEFAULT_MODEL
    if not isinstance(defaults, dict):
        error((), "defaults", "defaults must be a table: write [defaults] on its own line")
        defaults = {}
    else:
        for key in defaults:
            if key not in DEFAULTS:
                warn(("defaults",), key, f"unknown key {key!r} in [defaults]{_did_you_mean(key, tuple(DEFAULTS))}")
        if "model" in defaults:
            if isinstance(defaults["model"], str) and defaults["model"].strip():
                model = defaults["model"]
            else:
                error(("defaults",), "model", "model must be a model id or folder in quotes")
        policy = defaults.get("seed_policy", "fixed")
        if policy not in SEED_POLICIES:
            error(("defaults",), "seed_policy", f"seed_policy must be \"fixed\" or \"random\", not {policy!r}")
        problems += _check_settings(defaults, ("defaults",), lines, model, "in [defaults]")

    sections = data.get("sections", [])
    if not isinstance(sections, list):
        error((), "sections", "sections must be an array of tables: write [[sections]] above each section")
        sections = []
    elif not sections:
        problems.append(Problem(1, "no sections yet: add one with a [[sections]] line", "warning"))
    seen_sections: dict[str, int] = {}
    seen_prompts: dict[str, int] = {}
    for s_index, section in enumerate(sections):
        s_path = ("sections", s_index)
        if not isinstance(section, dict):
            error((), "sections", f"section {s_index + 1} must be a table ([[sections]])")
            continue
        for key in section:
            if key not in SECTION_KEYS:
                warn(s_path, key, f"unknown key {key!r} in a section{_did_you_mean(key, SECTION_KEYS)}")
        _check_id(section, s_path, lines, "section", seen_sections, problems)
        for key in ("title", "commentary"):
            if key in section and not isinstance(section[key], str):
                error(s_path, key, f"section {key} must be text in quotes")
        prompts = section.get("prompts", [])
        if not isinstance(prompts, list):
            error(s_path, "prompts", "prompts must be an array of tables: write [[sections.prompts]] above each prompt")
            continue
        for p_index, prompt in enumerate(prompts):
            p_path = ("sections", s_index, "prompts", p_index)
            if not isinstance(prompt, dict):
                error(s_path, "prompts", f"prompt {p_index + 1} must be a table ([[sections.prompts]])")
                continue
            for key in prompt:
                if key not in PROMPT_KEYS:
                    warn(p_path, key, f"unknown key {key!r} in a prompt{_did_you_mean(key, PROMPT_KEYS)}")
            _check_id(prompt, p_path, lines, "prompt", seen_prompts, problems)
            text = prompt.get("text")
            if text is None:
                error(p_path, None, "prompt has no text: add text = \"...\"")
            elif not isinstance(text, str):
                error(p_path, "text", "prompt text must be in quotes")
            elif not text.strip():
                error(p_path, "text", "prompt text is empty")
            seed = prompt.get("seed")
            if seed is not None and (not _is_int(seed) or not 0 <= seed <= SEED_MAX):
                error(p_path, "seed", f"seed must be a whole number from 0 to {SEED_MAX}, not {seed!r}")
            for key in ("commentary", "translation"):
                if key in prompt and not isinstance(prompt[key], str):
                    error(p_path, key, f"{key} must be text in quotes")
            tags = prompt.get("tags")
            if tags is not None and (not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)):
                error(p_path, "tags", 'tags must be a list of words in quotes, like tags = ["homonym", "style"]')
            chosen = prompt.get("chosen")
            if chosen is not None and not (_is_int(chosen) or isinstance(chosen, str)):
                error(p_path, "chosen", "chosen must be the starred image's seed (a number) or its key (text)")
            problems += _check_settings(prompt, p_path, lines, model, "")
    return sorted(problems, key=lambda p: (p.line, p.severity != "error"))


def _check_id(table: dict, path: tuple, lines: _LineIndex, kind: str, seen: dict[str, int],
              problems: list[Problem]) -> None:
    if "id" not in table:
        problems.append(Problem(lines.line(path), f"{kind} has no id: add id = \"...\" (a short name)"))
        return
    value = table["id"]
    line = lines.line(path, "id")
    problem = id_problem(value)
    if problem:
        problems.append(Problem(line, f"{kind} id {value!r} {problem}"))
    elif value in seen:
        problems.append(Problem(line, f"duplicate {kind} id {value!r} (first used on line {seen[value]})"))
    else:
        seen[value] = line


def _check_settings(table: dict, path: tuple, lines: _LineIndex, model: str, where: str) -> list[Problem]:
    """Range checks shared by [defaults] and a prompt's overrides."""
    out: list[Problem] = []
    where = f" {where}" if where else ""

    def error(key: str, message: str) -> None:
        out.append(Problem(lines.line(path, key), message + where, "error"))

    for key in ("width", "height"):
        if key in table:
            value = table[key]
            if not _is_int(value):
                error(key, f"{key} must be a whole number of pixels, not {value!r}")
            elif not SIZE_MIN <= value <= SIZE_MAX:
                error(key, f"{key} {value} is outside {SIZE_MIN}-{SIZE_MAX}")
            elif value % SIZE_MULTIPLE:
                lower = value - value % SIZE_MULTIPLE
                error(key, f"{key} {value} is not a multiple of {SIZE_MULTIPLE} (try {lower} or {lower + SIZE_MULTIPLE})")
    if "steps" in table:
        value = table["steps"]
        if not _is_int(value) or not STEPS_MIN <= value <= STEPS_MAX:
            error("steps", f"steps must be a whole number from {STEPS_MIN} to {STEPS_MAX}, not {value!r}")
    if "max_sequence_length" in table:
        value = table["max_sequence_length"]
        schnell = "schnell" in model.lower()
        limit = SEQ_MAX_SCHNELL if schnell else SEQ_MAX_PIPELINE
        if not _is_int(value) or value < 1:
            error("max_sequence_length", f"max_sequence_length must be a positive whole number, not {value!r}")
        elif value > limit:
            why = "FLUX.1-schnell was trained with at most" if schnell else "the FLUX pipeline accepts at most"
            error("max_sequence_length", f"max_sequence_length {value} is too long: {why} {limit} tokens")
    if "guidance_scale" in table:
        value = table["guidance_scale"]
        if not _is_number(value) or value < 0:
            error("guidance_scale", f"guidance_scale must be a number >= 0, not {value!r}")
        elif value and "schnell" in model.lower():
            out.append(Problem(lines.line(path, "guidance_scale"),
                               f"guidance_scale {value} is ignored by FLUX.1-schnell (it has no guidance input; use 0.0)"
                               + where, "warning"))
    return out


def iter_prompts(pf: PromptFile) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(section, prompt) pairs in file order, as plain dicts."""
    for section in pf.sections():
        for prompt in section["prompts"]:
            yield section, prompt
