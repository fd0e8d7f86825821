"""Checking a prompt file: every problem with the line it is on, like a compiler (`FILE:LINE: message`).

`python -m models.flux check`, `render` (which refuses a file with errors) and the gallery page all call
`validate_file` / `validate_text`, so they accept and refuse exactly the same files. The limits of each
value are those of models.flux.params.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from pathlib import Path

from models.flux.params import prompt_problem, seed_problem, setting_problem
from models.flux.prompt_schema import (
    DEFAULT_MODEL,
    DEFAULTS,
    OVERRIDE_KEYS,
    PROMPT_KEYS,
    SECTION_KEYS,
    SEED_POLICIES,
    TOP_KEYS,
    PromptFileError,
    id_problem,
    parse_document,
    read_prompt_text,
)


@dataclass(frozen=True)
class Problem:
    """One finding of `validate_file`: `line` is 1-based (0 when the file cannot be read at all)."""

    line: int
    message: str
    severity: str = "error"  # "error" or "warning"
    prompt_id: str | None = None  # the prompt it belongs to (the gallery shows it in that prompt's card)

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def format(self, path: str | Path = "") -> str:
        """`FILE:LINE: message` like a compiler (warnings say so), so editors can jump to the line."""
        prefix = "" if self.severity == "error" else "warning: "
        return f"{path}:{self.line}: {prefix}{self.message}"

    def __str__(self) -> str:
        return self.format("line") if self.line else self.message


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


def validate_file(path: str | Path) -> list[Problem]:
    """Check a prompt file; returns problems sorted by line (empty when all is well)."""
    try:
        text = read_prompt_text(path)
    except PromptFileError as err:
        return [Problem(err.line, f"{err.message}: {path}" if not err.line else err.message)]
    return validate_text(text)


def validate_text(text: str) -> list[Problem]:
    """Check the text of a prompt file (see `validate_file`)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        data = parse_document(text).unwrap()
    except PromptFileError as err:
        return [Problem(err.line, err.message)]
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
    policy = "fixed"
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
            first = len(problems)
            for key in prompt:
                if key not in PROMPT_KEYS:
                    warn(p_path, key, f"unknown key {key!r} in a prompt{_did_you_mean(key, PROMPT_KEYS)}")
            _check_id(prompt, p_path, lines, "prompt", seen_prompts, problems)
            if "text" not in prompt:
                error(p_path, None, "prompt has no text: add text = \"...\"")
            elif problem := prompt_problem(prompt["text"]):
                error(p_path, "text", problem)
            if "seed" in prompt:
                if problem := seed_problem(prompt["seed"]):
                    error(p_path, "seed", problem)
            elif policy == "random":
                error(p_path, None, 'prompt has no seed and seed_policy is "random": add seed = <a number> '
                                    "(Generate in the gallery records one)")
            for key in ("commentary", "translation", "rephrased"):
                if key in prompt and not isinstance(prompt[key], str):
                    error(p_path, key, f"{key} must be text in quotes")
            tags = prompt.get("tags")
            if tags is not None and (not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)):
                error(p_path, "tags", 'tags must be a list of words in quotes, like tags = ["homonym", "style"]')
            chosen = prompt.get("chosen")
            if chosen is not None and not (seed_problem(chosen) is None or isinstance(chosen, str)):
                error(p_path, "chosen", "chosen must be the starred image's seed (a number) or its key (text)")
            problems += _check_settings(prompt, p_path, lines, model, "")
            if isinstance(prompt.get("id"), str):
                problems[first:] = [replace(p, prompt_id=prompt["id"]) for p in problems[first:]]
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
    """The limits of models.flux.params, for [defaults] and for a prompt's overrides."""
    out: list[Problem] = []
    where = f" {where}" if where else ""
    for key in OVERRIDE_KEYS:
        if key in table and (problem := setting_problem(key, table[key], model)):
            out.append(Problem(lines.line(path, key), problem + where, "error"))
    guidance = table.get("guidance_scale")
    if guidance and setting_problem("guidance_scale", guidance, model) is None and "schnell" in model.lower():
        out.append(Problem(lines.line(path, "guidance_scale"),
                           f"guidance_scale {guidance} is ignored by FLUX.1-schnell (it has no guidance input; use 0.0)"
                           + where, "warning"))
    return out
