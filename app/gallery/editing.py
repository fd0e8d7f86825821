"""Editing the lesson: edit widgets and the callbacks that record edits (they run before the script),
the confirm step of a delete, and saving with conflict detection.

Callbacks ask `can_edit()` when they run: a session that was signed out meanwhile changes nothing.
"""

from __future__ import annotations

import difflib

import streamlit as st

from app.gallery.images import chosen_value
from app.gallery.lesson import Lesson
from app.gallery.messages import md_escape
from app.gallery.session import edit_key, next_revision, record_edit, view_conflicts
from app.ui.access import can_edit
from models.flux import FluxError
from models.flux.params import random_seed
from models.flux.prompt_edits import save_edits
from models.flux.prompt_file import SaveConflict
from models.flux.prompt_schema import PromptFileError
from models.flux.store import StoredImage


def edit_widget(widget, label: str, kind: str, ident: str, value, **options) -> None:
    """A text widget bound to one field: keyed with the revision, recorded into the patch on change."""
    widget(label, value=value, key=edit_key(kind, ident), on_change=record_edit,
           args=(st.session_state.gallery_rev, kind, ident), **options)


def structural(action, *args) -> None:
    """Record an edit that changes what widgets show (move, add, delete): widgets get fresh keys."""
    if not can_edit():
        return
    action(*args)
    st.session_state.gallery_confirm = None
    next_revision()


def random_seed_for(lesson: Lesson, prompt_id: str) -> None:
    structural(lesson.edits.set_field, lesson.pf, "prompt", prompt_id, "seed", random_seed())


def star(lesson: Lesson, prompt_id: str, image: StoredImage, siblings: list[StoredImage]) -> None:
    if can_edit():
        lesson.edits.set_field(lesson.pf, "prompt", prompt_id, "chosen", chosen_value(image, siblings))


def confirm_delete(kind: str, ident: str) -> None:
    st.session_state.gallery_confirm = (kind, ident)


def confirm_box(lesson: Lesson, kind: str, ident: str, action) -> None:
    """The second step of a delete: nothing is removed until this is confirmed."""
    if st.session_state.get("gallery_confirm") != (kind, ident):
        return
    st.warning(f"Delete this {kind} (`{ident}`) from the file? Save afterwards to make it permanent.",
               icon=":material/delete_forever:")
    row = st.container(horizontal=True)
    row.button(f"Delete {kind}", key=f"gallery_confirm_yes_{kind}_{ident}", type="primary",
               on_click=structural, args=(action, lesson.pf, ident))
    row.button("Keep it", key=f"gallery_confirm_no_{kind}_{ident}",
               on_click=lambda: st.session_state.update(gallery_confirm=None))


def save(lesson: Lesson, force: bool = False) -> None:
    """Apply this session's edits to the file as it is on disk now (under its lock) and write it."""
    if not can_edit():
        return
    try:
        saved = save_edits(lesson.path, lesson.edits, force=force)
    except SaveConflict as conflict:
        st.session_state.gallery_conflict = conflict
    except (FluxError, PromptFileError, OSError) as exc:
        why = (exc.shown(lesson.path.name) if isinstance(exc, PromptFileError)
               else exc.strerror or type(exc).__name__ if isinstance(exc, OSError) else str(exc))
        st.error(f"Could not save {lesson.path.name}: {md_escape(why)}", icon=":material/error:")
    else:
        lesson.edits.clear()
        st.session_state.gallery_base, st.session_state.gallery_conflict = saved, None
        next_revision()
        st.toast(f"Saved {lesson.path.name}", icon=":material/save:")


def reload_from_disk() -> None:
    """Drop every edit of this session; the widgets get fresh keys, so nothing stale comes back."""
    state = st.session_state
    state.gallery_edits.clear()
    state.gallery_base = state.gallery_conflict = state.gallery_confirm = None
    state.pop("gallery_seed_error", None)
    next_revision()


def conflict_ui(lesson: Lesson) -> None:
    """A save that found the file changed under it: what differs, and the two ways out."""
    conflict = st.session_state.get("gallery_conflict")
    if conflict is not None:
        st.error(f"**Not saved:** {md_escape(str(conflict))}", icon=":material/sync_problem:")
        diff = "\n".join(difflib.unified_diff((conflict.disk_text or "").splitlines(),
                                              conflict.mine_text.splitlines(), "on disk", "yours", lineterm=""))
        with st.expander("What differs (on disk → yours)"):
            st.code(diff or "(no difference)", language="diff")
        choice = st.container(horizontal=True)
        choice.button("Reload from disk (drop my edits)", key="gallery_reload", icon=":material/refresh:",
                      on_click=reload_from_disk)
        if choice.button("Keep mine (overwrite)", key="gallery_overwrite", icon=":material/save_as:", type="primary",
                         disabled=not lesson.editable or not hasattr(conflict, "conflicts")):
            save(lesson, force=True)
            st.rerun()
    elif view_conflicts():
        st.warning("Changed on disk since you started editing: "
                   + "; ".join(md_escape(str(c)) for c in view_conflicts()) + ". Save will ask what to do.",
                   icon=":material/sync:")
