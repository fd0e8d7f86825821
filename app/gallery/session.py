"""The prompt file as this session sees it, and the edit widgets' bookkeeping.

A session never edits a copy of the file in place: it keeps its edits as a patch (PromptEdits) and
sees the file as it is on disk now with that patch applied (the "view"). Edit widgets are keyed with
the revision `gallery_rev`, which grows whenever what they should show changes for another reason than
the widget itself (the file changed on disk, a save, a move, Random seed, Reload from disk). A widget
of an older revision disappears from the page; if its stale value still arrives from the browser,
`record_edit` ignores it, so it can never overwrite what was reloaded.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import streamlit as st

from app.gallery.backend import Backend
from models.flux.params import SCHNELL_MAX_SEQUENCE_LENGTH, GenerationParams, random_seed, seed_problem
from models.flux.prompt_edits import PromptEdits, working_copy
from models.flux.prompt_file import PromptFile, text_hash
from models.flux.prompt_schema import PromptFileError, read_prompt_text

EDIT_PREFIX = "ge_"  # session_state keys of edit widgets: ge_<kind>_<id>_r<revision>

# widget kind -> (table, field) of the prompt file
EDIT_FIELDS = {"text": ("prompt", "text"), "comm": ("prompt", "commentary"), "tr": ("prompt", "translation"),
               "reph": ("prompt", "rephrased"),
               "tags": ("prompt", "tags"), "seed": ("prompt", "seed"), "stitle": ("section", "title"),
               "scomm": ("section", "commentary"), "steps": ("prompt", "steps"), "width": ("prompt", "width"),
               "height": ("prompt", "height")}
SETTING_WIDGETS = ("steps", "width", "height")  # empty = the file's [defaults]


@dataclass(frozen=True)
class SessionView:
    """The file on disk with this session's edits applied, computed once per (file, edits) version."""

    version: tuple  # (hash of the file as read, version of the edits)
    pf: PromptFile
    conflicts: list  # edits that collide with what was saved on disk since (Save asks what to do)
    problems: list   # prompt_check.Problem list of the view


@dataclass(frozen=True)
class SeedError:
    """A seed field holding something that is not a seed, shown under that prompt's field."""

    prompt_id: str
    message: str


def load_prompt_file(path: Path) -> PromptFile | None:
    """This session's view of the prompt file (re-read from disk on every run, edits applied).

    None when the file cannot be read and there is no earlier copy (the error is in
    st.session_state.gallery_load_error). A file that breaks on disk later keeps the last good copy
    on screen, with the error in gallery_disk_error.
    """
    state = st.session_state
    edits: PromptEdits = state.setdefault("gallery_edits", PromptEdits())
    base: PromptFile | None = state.get("gallery_base")
    if state.get("gallery_pf_path") != str(path):
        base = None
        edits.clear()
    state.gallery_disk_error = None
    try:
        text = read_prompt_text(path)
        if base is None or text_hash(text) != base.loaded_hash:
            base = PromptFile(text, path=path)
            edits.drop_saved(base)
            next_revision()
    except PromptFileError as exc:
        if base is None:
            state.gallery_load_error, state.gallery_base, state.gallery_pf = exc, None, None
            return None
        state.gallery_disk_error = exc
    state.gallery_base, state.gallery_pf_path, state.gallery_load_error = base, str(path), None
    if state.pop("gallery_new_rev", False) or "gallery_rev" not in state:
        state.gallery_rev = state.get("gallery_rev", 0) + 1
    version = (base.loaded_hash, edits.version)
    view: SessionView | None = state.get("gallery_view")
    if view is None or view.version != version:
        pf, conflicts = working_copy(base, edits)
        view = state.gallery_view = SessionView(version, pf, conflicts, pf.problems())
    state.gallery_pf = view.pf
    return view.pf


def view_conflicts() -> list:
    """Edits of this session that collide with what was saved on disk since (they need Save's choice)."""
    return st.session_state.gallery_view.conflicts


def view_problems() -> list:
    """The check of the view (prompt_check.Problem list), computed once per version of it."""
    return st.session_state.gallery_view.problems


def next_revision() -> None:
    """Give every edit widget a fresh key on the next run (they will show the view's values)."""
    st.session_state.gallery_new_rev = True


def edit_key(kind: str, ident: str) -> str:
    return f"{EDIT_PREFIX}{kind}_{ident}_r{st.session_state.gallery_rev}"


def widget_to_value(kind: str, value: Any) -> Any:
    """What an edit widget's text means in the file (ValueError for a seed that is not one)."""
    if kind in ("tr", "reph"):
        return value.strip() or None
    if kind == "tags":
        return [t.strip() for t in value.split(",") if t.strip()] or None
    if kind == "seed":
        if not str(value).strip():
            return None  # an empty field removes the seed (seed_policy decides then)
        seed = int(str(value).strip())
        if seed_problem(seed):
            raise ValueError(seed_problem(seed))
        return seed
    return value


def record_edit(rev: int, kind: str, ident: str) -> None:
    """on_change of an edit widget: record its value in this session's patch."""
    state = st.session_state
    if rev != state.get("gallery_rev"):
        return  # a widget of an older revision of the file: its value is stale, never write it
    value = state[f"{EDIT_PREFIX}{kind}_{ident}_r{rev}"]
    try:
        value = widget_to_value(kind, value)
    except ValueError:
        state.gallery_seed_error = SeedError(ident, f"{value!r} is not a seed: use a whole number like 42.")
        return
    if kind == "seed":
        state.pop("gallery_seed_error", None)
    table, field = EDIT_FIELDS[kind]
    view = state.gallery_view.pf
    if kind in SETTING_WIDGETS and value is not None and value == view.defaults.get(field):
        value = None  # the same as [defaults]: inherit it rather than repeat it in the prompt
    state.gallery_edits.set_field(view, table, ident, field, value)


def prompt_generation_params(pf: PromptFile, prompt_id: str, backend: Backend, seed: int | None = None) -> GenerationParams:
    """GenerationParams of a prompt as the file describes it (seed overridable), for this backend."""
    params = pf.params(prompt_id, model_id=backend.model_id or "", revision=backend.revision)
    return params if seed is None else replace(params, seed=seed)


def ensure_seed(pf: PromptFile, prompt_id: str) -> GenerationParams:
    """The prompt's parameters as the view now says; under seed_policy "random" a prompt without a seed
    gets a fresh one first, recorded in this session's edits (and shown after the rerun)."""
    if pf.params(prompt_id).seed is None:
        st.session_state.gallery_edits.set_field(pf, "prompt", prompt_id, "seed", random_seed())
        next_revision()
        pf.set_prompt_seed(prompt_id, st.session_state.gallery_edits.fields[("prompt", prompt_id, "seed")][1])
    return pf.params(prompt_id)


def sequence_length(params: GenerationParams) -> int:
    """The prompt's T5 window; schnell's 256 while the file's value is unusable (its error shows in the card)."""
    value = params.max_sequence_length
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else SCHNELL_MAX_SEQUENCE_LENGTH
