"""The scratch prompt (like the FLUX.1-schnell Space): a prompt box, a seed with Randomize, steps, size.

The result is shown large with its step timeline. "Add to the prompt file" is the instructor's (a read-only
session sees no such button); it records the prompt in this session's edits, saved with Save.
"""

from __future__ import annotations

from typing import Callable

import streamlit as st

from app.gallery import images as gi
from app.gallery.backend import Backend
from app.gallery.jobs import start_job
from app.gallery.lesson import Lesson
from app.gallery.messages import md_escape
from app.gallery.session import next_revision
from app.ui.access import can_edit
from models.flux.params import (
    SCHNELL_SETTINGS, SEED_MAX, SIZE_MAX, SIZE_MIN, GenerationParams, random_seed, seed_problem,
)
from models.flux.prompt_schema import OVERRIDE_KEYS
from models.flux.store import ImageStore

SCRATCH_ID = "scratch"  # the prompt id recorded in scratch images
STEPS_RANGE = (1, 8)  # schnell is distilled for 1-4 steps; up to 8 shows what more steps do (little)
SIZES = list(range(SIZE_MIN, SIZE_MAX + 1, 32))  # the official demo's choices: 256-2048 in steps of 32


def _randomize() -> None:
    st.session_state.scratch_seed = str(random_seed())


def parse_seed(text: str) -> tuple[int | None, str | None]:
    """(seed, None) for a whole number in range, else (None, why): a text box, not a number box, so what
    it shows is exactly what is used (a number box kept an out-of-range value on screen and sent the old one;
    and JavaScript rounds numbers past 2**53)."""
    text = str(text).strip()
    value = int(text) if text.isascii() and text.isdigit() and len(text) <= 20 else None
    if value is None or seed_problem(value):
        return None, f"“{text[:30]}” is not a seed: use a whole number from 0 to {SEED_MAX:,}"
    return value, None


def scratch_panel(*, store: ImageStore, backend: Backend, start_job: Callable, busy: bool, can_generate: bool,
                  add_prompt: Callable[[GenerationParams, str], str] | None, section_ids: list[str]) -> None:
    """The whole panel. add_prompt(params, section id) -> new prompt id (None: read-only session)."""
    state = st.session_state
    if not isinstance(state.get("scratch_seed"), str):
        state.scratch_seed = str(random_seed())
    text = st.text_area("Prompt", key="scratch_text", placeholder="a cat wizard casting a spell, gouache",
                        help="Sent to the model exactly as written")
    row = st.container(horizontal=True, vertical_alignment="bottom")
    seed, seed_error = parse_seed(row.text_input("Seed", key="scratch_seed", width=200,
                                                 help=f"A whole number from 0 to {SEED_MAX:,}"))
    row.button("Randomize", key="scratch_random", icon=":material/casino:", on_click=_randomize,
               help="A new seed; the one used is always recorded in the image")
    steps = row.slider("Steps", *STEPS_RANGE, value=SCHNELL_SETTINGS["steps"], key="scratch_steps", width=220,
                       help="schnell is distilled for 1 to 4 steps")
    width = row.select_slider("Width", SIZES, value=SCHNELL_SETTINGS["width"], key="scratch_width", width=220)
    height = row.select_slider("Height", SIZES, value=SCHNELL_SETTINGS["height"], key="scratch_height", width=220)
    if backend.is_demo:
        st.caption("The demo pipeline draws at most 256 px whatever the size asked (its pictures are noise).")
    if seed_error:
        shown = state.get("scratch_params")
        st.error(md_escape(seed_error) + (f" (the image below is seed {shown.seed})" if shown is not None else ""),
                 icon=":material/error:")
    if st.button("Generate", key="scratch_go", icon=":material/play_arrow:", type="primary",
                 disabled=busy or not can_generate or not text.strip() or seed_error is not None):
        params = GenerationParams(prompt=text, seed=int(seed), steps=int(steps), width=int(width),
                                  height=int(height), model_id=backend.model_id or "", revision=backend.revision)
        problems = params.problems()
        if problems:
            st.error(md_escape(problems[0]), icon=":material/error:")
        else:
            state.scratch_params = params
            if store.get(params) is None:
                start_job([(SCRATCH_ID, params)], "scratch prompt")
            st.rerun()
    params: GenerationParams | None = state.get("scratch_params")
    if params is None:
        return
    path = store.get(params)
    if path is None:
        st.caption("Generating… the image appears here when it is ready.")
        return
    # at most its own pixels (a 256-px demo picture stretched to the column was a blur of big squares)
    st.image(str(path), caption=f"seed {params.seed} · {params.steps} steps · {params.width}×{params.height}",
             width="content")
    gi.timeline_strip(store, path, key="scratch_timeline")
    if add_prompt is None:
        return
    add = st.container(horizontal=True, vertical_alignment="bottom")
    if not section_ids:
        st.caption("Add a section first (Edit → Add a section) to keep this prompt.")
        return
    target = add.selectbox("Section", section_ids, key="scratch_section")
    if add.button("Add to the prompt file", key="scratch_add", icon=":material/add:",
                  help="A new prompt with this text, seed and settings; Save writes it to the file"):
        new_id = add_prompt(params, target)
        st.toast(f"Added prompt {new_id}; press Save to keep it.")
        st.rerun()


def overrides_of(params: GenerationParams, defaults: dict) -> dict:
    """The settings of `params` that differ from the file's [defaults] (what a new prompt must write)."""
    return {k: getattr(params, k) for k in OVERRIDE_KEYS if getattr(params, k) != defaults.get(k)}


def scratch_ui(lesson: Lesson) -> None:
    """The panel wired to the lesson: jobs in this session's name; the instructor may keep a prompt."""

    def add_prompt(params: GenerationParams, section_id: str) -> str | None:
        if not can_edit():
            return None
        new_id = lesson.edits.add_prompt(lesson.pf, section_id, params.prompt, seed=params.seed,
                                         commentary="Added from the scratch prompt.",
                                         **overrides_of(params, lesson.pf.defaults))
        next_revision()
        return new_id

    scratch_panel(store=lesson.store, backend=lesson.backend,
                  start_job=lambda items, name: start_job(lesson.generator, items, name),
                  busy=lesson.busy, can_generate=lesson.can_generate,
                  add_prompt=add_prompt if lesson.editable else None,
                  section_ids=[sec["id"] for sec in lesson.pf.sections() if isinstance(sec.get("id"), str)])
