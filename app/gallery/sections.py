"""The lesson's sections, in file order: each a heading, its commentary (or its fields in edit mode), and
its prompt cards."""

from __future__ import annotations

import streamlit as st

from app.gallery import editing
from app.gallery.card import prompt_card
from app.gallery.lesson import Lesson
from models.flux.params import random_seed
from models.flux.prompt_schema import id_problem


PROMPTS_PER_PAGE = 4  # prompt cards drawn at first (a screen or two); "Show more" adds as many again
SHOWN_KEY = "gallery_prompts_shown"


def sections_ui(lesson: Lesson, *, editing_on: bool) -> None:
    """Every section in file order; outside edit mode the prompt cards a page at a time (a lesson of 50
    images would otherwise send them all before the first one is seen), then a button for the next ones."""
    sections = lesson.pf.sections()
    seen_ids: set[str] = set()  # a duplicated id is shown once: its widgets would clash and edits be ambiguous
    limit = None if editing_on else st.session_state.get(SHOWN_KEY, PROMPTS_PER_PAGE)
    shown = total = 0
    for index, section in enumerate(sections):
        prompts = section["prompts"]
        if limit is not None and shown >= limit:
            total += len(prompts)
            continue
        _section_head(lesson, section, seen_ids, editing_on=editing_on, index=index, count=len(sections))
        for p_index, prompt in enumerate(prompts):
            total += 1
            if limit is not None and shown >= limit:
                continue
            if not _usable_prompt(prompt, seen_ids):
                st.warning("A prompt of this section is skipped: it needs a unique, valid `id` and a `text` "
                           "(see the problems listed above).", icon=":material/warning:")
                continue
            seen_ids.add(f"p:{prompt['id']}")
            prompt_card(lesson, prompt, editing_on=editing_on, index=p_index, count=len(prompts))
            shown += 1
    if limit is not None and total > shown:
        left = total - shown
        st.button(f"Show {min(left, PROMPTS_PER_PAGE)} more prompt{'s' if min(left, PROMPTS_PER_PAGE) > 1 else ''} "
                  f"({left} not shown yet)", key="gallery_more", icon=":material/expand_more:",
                  on_click=lambda: st.session_state.update({SHOWN_KEY: limit + PROMPTS_PER_PAGE}))
    if editing_on:
        st.divider()
        st.button("Add a section", key="gallery_sadd", icon=":material/add_box:", on_click=editing.structural,
                  args=(lesson.edits.add_section, lesson.pf, "New section"))


def _usable_prompt(prompt: dict, seen_ids: set[str]) -> bool:
    pid = prompt.get("id")
    return (isinstance(pid, str) and not id_problem(pid) and ("p:" + pid) not in seen_ids
            and isinstance(prompt.get("text"), str))


def _section_head(lesson: Lesson, section: dict, seen_ids: set[str], *, editing_on: bool, index: int,
                  count: int) -> None:
    """The section's title, then its commentary, or in edit mode its fields and buttons."""
    sid = section["id"]
    st.divider()
    st.header(str(section.get("title") or sid), anchor=False)
    section_ok = isinstance(sid, str) and lesson.pf.has_section(sid) and ("s:" + sid) not in seen_ids
    seen_ids.add(f"s:{sid}")
    if editing_on and not section_ok:
        st.caption("This section needs a unique `id` in the file before it can be edited here.")
    if editing_on and section_ok:
        _section_fields(lesson, section, index=index, count=count)
    elif section.get("commentary"):
        st.markdown(section["commentary"])


def _section_fields(lesson: Lesson, section: dict, *, index: int, count: int) -> None:
    sid, edits, pf = section["id"], lesson.edits, lesson.pf
    editing.edit_widget(st.text_input, "Section title", "stitle", sid, section.get("title", ""))
    editing.edit_widget(st.text_area, "Section commentary (Markdown)", "scomm", sid, section.get("commentary", ""),
                        height=180)
    with st.container(horizontal=True):
        st.button("Move up", key=f"gallery_sup_{sid}", icon=":material/arrow_upward:", disabled=index == 0,
                  on_click=editing.structural, args=(edits.move_section, sid, -1))
        st.button("Move down", key=f"gallery_sdown_{sid}", icon=":material/arrow_downward:",
                  disabled=index == count - 1, on_click=editing.structural, args=(edits.move_section, sid, 1))
        st.button("Add prompt", key=f"gallery_padd_{sid}", icon=":material/add:", on_click=editing.structural,
                  args=(lambda s: edits.add_prompt(pf, s, "a new prompt", seed=random_seed()), sid))
        st.button("Delete section", key=f"gallery_sdel_{sid}", icon=":material/delete:",
                  on_click=editing.confirm_delete, args=("section", sid))
    editing.confirm_box(lesson, "section", sid, edits.delete_section)
