"""Messages about the prompt file: a file that cannot be read, the problems of one that can, and
user text shown literally through st.markdown."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app.ui.access import can_edit
from models.flux.prompt_files import display_name
from models.flux.prompt_schema import PromptFileError, read_prompt_text


def show_load_error(path: Path, error: PromptFileError) -> None:
    """The error with its line; the lines around it only for the instructor (a student never sees raw text
    of a file that does not load: it might be no prompt file at all)."""
    name = md_escape(display_name(path))
    st.error(f"**{name}:{error.line}:** {md_escape(error.message)}" if error.line
             else f"**{name}:** {md_escape(error.message)}", icon=":material/error:")
    try:
        lines = read_prompt_text(path).splitlines() if can_edit() else []
    except PromptFileError:
        lines = []
    if error.line and lines:
        lo, hi = max(0, error.line - 4), min(len(lines), error.line + 3)
        excerpt = "\n".join(f"{'>' if n == error.line else ' '}{n:4d} | {lines[n - 1]}" for n in range(lo + 1, hi + 1))
        st.code(excerpt, language=None)
    st.caption("Fix the file in an editor (or check it with `python -m models.flux check FILE`), then reload.")


def show_problems(problems: list, path: Path) -> None:
    """The result of checking the (edited) file: errors first, each with its line."""
    errors = [p for p in problems if p.is_error]
    warnings = [p for p in problems if not p.is_error]
    if errors:
        st.error(f"**{len(errors)} problem(s) in {path.name}** (the page shows what it can):\n\n"
                 + "\n".join(f"- line {p.line}: {md_escape(p.message)}" for p in errors), icon=":material/error:")
    if warnings:
        with st.expander(f"{len(warnings)} warning(s) in {path.name}", icon=":material/warning:"):
            st.markdown("\n".join(f"- line {p.line}: {md_escape(p.message)}" for p in warnings))


def md_escape(text: str) -> str:
    """Inline text shown through st.markdown literally: no emphasis, code, links, HTML or math."""
    return "".join("\\" + ch if ch in "\\`*_[]<>|~$" else ch for ch in str(text).replace("\n", " "))
