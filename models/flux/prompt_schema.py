"""The prompt file schema, and the one route from a prompt of the file to GenerationParams.

    title = "..."
    [defaults]            model, steps, width, height, guidance_scale, max_sequence_length, seed_policy
    [[sections]]          id, title, commentary
    [[sections.prompts]]  id, text, seed, commentary, tags, translation, rephrased, chosen,
                          and optional overrides: steps, width, height, guidance_scale, max_sequence_length

The gallery page, `render`, `check` and the export all read prompts through `prompt_params` (editing is
in prompt_file.py, checking in prompt_check.py). Values are passed on exactly as written: a wrong type
is reported by `check` and refused by GenerationParams.validate, never converted.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
import zlib
from pathlib import Path
from typing import Any

import tomlkit
import tomlkit.exceptions

from models.flux import FluxError
from models.flux.params import SCHNELL_SETTINGS, SETTING_KEYS, GenerationParams
from models.flux.settings import SCHNELL_REPO_ID

DEFAULT_MODEL = SCHNELL_REPO_ID
DEFAULTS: dict[str, Any] = {"model": DEFAULT_MODEL, **SCHNELL_SETTINGS, "seed_policy": "fixed"}
SEED_POLICIES = ("fixed", "random")
OVERRIDE_KEYS = SETTING_KEYS  # keys a prompt may override; everything else comes from [defaults]

TOP_KEYS = ("title", "defaults", "sections")
SECTION_KEYS = ("id", "title", "commentary", "prompts")
PROMPT_KEYS = ("id", "text", "seed", "commentary", "tags", "translation", "rephrased", "chosen") + OVERRIDE_KEYS
# Texts the gallery can put beside the prompt with the same seed ("same seed, English translation", ...).
ALTERNATIVE_KEYS = {"translation": "English translation", "rephrased": "rephrased"}

UNSAFE_ID_CHARS = '<>:"|?*'  # forbidden in Windows file names; ids become file names

# A lecture's file is ~10 KB with ~10 prompts. The gallery parses the file and draws every prompt on
# each view, so what one file may cost is bounded here (a 10 MB file took 19 s to show, 3,000 prompts
# 205 s of server work per view).
MAX_FILE_BYTES = 256 * 1024
MAX_PROMPTS = 100
LIMITS_NOTE = f"a prompt file holds at most {MAX_FILE_BYTES // 1024} KB and {MAX_PROMPTS} prompts"


class PromptFileError(FluxError, ValueError):
    """The prompt file cannot be read (missing, not UTF-8, malformed TOML)."""

    def __init__(self, message: str, line: int = 0, path: str | Path | None = None) -> None:
        self.line = line
        self.path = str(path) if path is not None else None
        where = f"{self.path or 'prompt file'}:{line}: " if line else (f"{self.path}: " if self.path else "")
        super().__init__(where + message)
        self.message = message

    def shown(self, name: str) -> str:
        """The error as a page shows it: `name:LINE: message`, with a name of the caller's choosing (a page
        must not show the server's paths)."""
        return f"{name}:{self.line}: {self.message}" if self.line else f"{name}: {self.message}"


# ----------------------------------------------------------------------------- reading


def read_prompt_text(path: str | os.PathLike) -> str:
    """The file's text (a byte order mark is kept); PromptFileError says why it cannot be read.

    Only a regular file of at most MAX_FILE_BYTES is read (never a device, a pipe or a folder), and
    never more than that many bytes, whatever the file claims its size is.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a pipe must not block the open
    except FileNotFoundError:
        raise PromptFileError("file not found", path=path) from None
    except IsADirectoryError:
        raise PromptFileError("is a folder, not a prompt file", path=path) from None
    except OSError as err:
        raise PromptFileError(f"cannot read it ({err.strerror or err})", path=path) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise PromptFileError("is a folder, not a prompt file", path=path)
        if not stat.S_ISREG(info.st_mode):
            raise PromptFileError("is not a regular file (a device or a pipe): not a prompt file", path=path)
        with os.fdopen(os.dup(fd), "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise PromptFileError(f"cannot read it ({err.strerror or err})", path=path) from None
    finally:
        os.close(fd)
    if len(raw) > MAX_FILE_BYTES:
        raise PromptFileError(f"too big: {LIMITS_NOTE} (split it into several files)", path=path)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise PromptFileError("not UTF-8 text (save the file as UTF-8)", line=line, path=path) from None


def parse_document(text: str, path: str | os.PathLike | None = None) -> tomlkit.TOMLDocument:
    """tomlkit's document of `text` (without a byte order mark); PromptFileError names the bad line.

    The error never quotes the text (the file might not be a prompt file at all), and a text over the
    limits (LIMITS_NOTE) is refused before or right after parsing.
    """
    if len(text) > MAX_FILE_BYTES:  # characters: at least as many bytes
        raise PromptFileError(f"too big: {LIMITS_NOTE} (split it into several files)", path=path)
    try:
        doc = tomlkit.parse(text)
    except tomlkit.exceptions.TOMLKitError as err:
        line, message = _parse_failure(text, err)
        raise PromptFileError(message, line=line, path=path) from None
    count = _prompt_count(doc)
    if count > MAX_PROMPTS:
        raise PromptFileError(f"{count} prompts: {LIMITS_NOTE} (split it into several files)", line=1, path=path)
    return doc


def _prompt_count(doc: Any) -> int:
    sections = doc.get("sections")
    if not isinstance(sections, list):
        return 0
    return sum(len(s["prompts"]) for s in sections
               if isinstance(s, dict) and isinstance(s.get("prompts"), list))


def _schema_key(name: str) -> str:
    """A key named in an error only when it is one of the schema's (else the file's text would be echoed)."""
    known = set(TOP_KEYS) | set(SECTION_KEYS) | set(PROMPT_KEYS) | set(DEFAULTS)
    return repr(name) if name in known else "a key"


def _parse_failure(text: str, err: Exception) -> tuple[int, str]:
    """(line, message) for a file tomlkit cannot read, in words of our own (no text of the file).

    tomlkit's syntax errors carry a line; its semantic ones (a key defined twice) do not, so the
    standard library's parser, which names the line in its message, is asked for it.
    """
    if isinstance(err, tomlkit.exceptions.ParseError):
        what = re.sub(r"\s+at line \d+ col \d+$", "", str(err))
        # tomlkit quotes the file ("Unexpected character: 's'", 'Invalid key "x"'): drop every quote
        what = re.sub(r"""\s*("[^"]*"|'[^']*'|\([^)]*\))""", "", what).rstrip(" :.") or "syntax error"
        return err.line or 1, f"not valid TOML: {what[0].lower() + what[1:]} (column {err.col})"
    line = 1
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as std_err:
        found = re.search(r"at line (\d+)", str(std_err))
        line = int(found.group(1)) if found else 1
    if isinstance(err, tomlkit.exceptions.KeyAlreadyPresent):
        key = re.search(r'Key "(.*)" already exists', str(err))
        return line, f"not valid TOML: {_schema_key(key.group(1)) if key else 'a key'} is defined twice"
    return line, "not valid TOML: a table or key is defined twice or in the wrong place"


# ----------------------------------------------------------------------------- ids and seeds


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


# ----------------------------------------------------------------------------- from the file to parameters


def merged_defaults(table: Any) -> dict[str, Any]:
    """[defaults] (plain values) over the built-in schnell values; a [defaults] that is no table counts as empty."""
    merged = dict(DEFAULTS)
    if isinstance(table, dict):
        merged.update({k: v for k, v in table.items() if k in DEFAULTS})
    return merged


def prompt_params(defaults: dict[str, Any], prompt: dict[str, Any], *, model_id: str | None = None,
                  revision: str | None = None) -> GenerationParams:
    """The GenerationParams of one prompt: its overrides, else [defaults] (see merged_defaults).

    model_id/revision: the model that will draw it (None: the file's model). A prompt without a seed
    gets default_seed(id) under seed_policy "fixed", and seed None under "random" (the gallery draws
    one and records it). Nothing is validated or converted here: call .validate() or use `check`.
    """
    seed = prompt["seed"] if "seed" in prompt else None
    if seed is None and defaults["seed_policy"] != "random":
        seed = default_seed(str(prompt.get("id", "")))
    settings = {key: prompt.get(key, defaults[key]) for key in OVERRIDE_KEYS}
    return GenerationParams(prompt=prompt.get("text", ""), seed=seed, **settings,
                            model_id=defaults["model"] if model_id is None else model_id, revision=revision)
