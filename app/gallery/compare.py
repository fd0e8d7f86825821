"""Two texts with the same seed: a prompt and its translation or rephrasing, or any two prompts of the file.

Both images start from the same noise, so the difference is the text's. The final images are shown side
by side, then both step timelines, step by step.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import streamlit as st

from app.gallery.images import TILE_PIXELS, TIMELINE_NOTE, WIDGET_SEED_MAX, step_label
from app.gallery.jobs import start_job
from app.gallery.lesson import Lesson
from app.gallery.messages import md_escape
from app.gallery.session import prompt_generation_params
from models.flux.params import GenerationParams
from models.flux.prompt_schema import ALTERNATIVE_KEYS
from models.flux.store import ImageStore, thumbnail

ANY_TWO = "*"  # the card of the page's own "two prompts" box


@dataclass(frozen=True)
class Choice:
    """A text the compare view can draw: a prompt of the file, or its translation / rephrasing."""

    key: str  # "<prompt id>" or "<prompt id>.translation" / ".rephrased"
    label: str
    prompt_id: str
    text: str


def compare_choices(pf) -> list[Choice]:
    """Every prompt of the file and, where the file has them, its translation and rephrasing."""
    out = []
    for section in pf.sections():
        for prompt in section["prompts"]:
            pid, text = prompt.get("id"), prompt.get("text")
            if not isinstance(pid, str) or not isinstance(text, str):
                continue
            out.append(Choice(pid, pid, pid, text))
            for field, words in ALTERNATIVE_KEYS.items():
                alt = prompt.get(field)
                if isinstance(alt, str) and alt.strip():
                    out.append(Choice(f"{pid}.{field}", f"{pid} · {words}", pid, alt.strip()))
    return out


def choice_params(base: GenerationParams, choice: Choice, seed: int) -> GenerationParams:
    """The prompt's own settings, its text swapped for the choice's, the given seed."""
    return replace(base, prompt=choice.text, seed=seed)


def compare_view(store: ImageStore, left: tuple[Choice, GenerationParams], right: tuple[Choice, GenerationParams],
                 key: str) -> None:
    """Two texts with the same seed: the final images side by side, then both timelines step by step."""
    sides = []
    for choice, params in (left, right):
        path = None if params.problems() else store.get(params)
        sides.append((choice, params, path, store.timeline(path) if path else []))
    cols = st.columns(2)
    for col, (choice, params, path, _) in zip(cols, sides):
        with col:
            st.markdown(f"**{md_escape(choice.label)}**")
            st.code(choice.text, language=None, wrap_lines=True)
            if path is None:
                st.caption("Not generated yet with this seed.")
            else:
                st.image(thumbnail(path, TILE_PIXELS), caption=f"seed {params.seed}", width="stretch")
    steps = max((len(s[3]) for s in sides), default=0)
    if steps and all(s[3] for s in sides):
        step = st.select_slider("Step", options=list(range(1, steps + 1)), value=1, key=f"{key}_step",
                                help="Both prompts' predictions of the finished image after the same step")
        for col, (_, _, _, entries) in zip(st.columns(2), sides):
            entry = next((e for e in entries if e.step == step), None)
            data = store.frame_bytes(entry) if entry is not None else None
            if data is not None:
                col.image(data, caption=step_label(entry.step, entry.t), width="stretch")
        st.caption(TIMELINE_NOTE + " Same seed: both start from the same noise.")


@dataclass(frozen=True)
class ComparePair:
    """The pair on screen: two choice keys drawn with one seed, shown in `card`'s card (ANY_TWO: the page's box)."""

    card: str
    left: str
    right: str
    seed: int | None


def pair_params(lesson: Lesson, choice_key: str, seed: int) -> tuple[Choice, GenerationParams] | None:
    """A compare choice and its GenerationParams with `seed` (None when the choice is gone or its prompt is broken)."""
    choice = {c.key: c for c in compare_choices(lesson.pf)}.get(choice_key)
    if choice is None or lesson.pf.params(choice.prompt_id).problems():
        return None
    base = prompt_generation_params(lesson.pf, choice.prompt_id, lesson.backend)
    return choice, choice_params(base, choice, seed)


def compare_pair(lesson: Lesson, card: str, left: str, right: str | None = None, seed: int | None = None) -> None:
    """Show `left` and `right` (default: the card's prompt and `left`) with one seed; generate what is missing."""
    if right is None:
        left, right = card, left
    st.session_state.gallery_compare = ComparePair(card, left, right, seed)
    # An alternative text's image is recorded under "<id>.translation": it is not one of the card's images.
    todo = []
    for key in (left, right):
        side = pair_params(lesson, key, seed)
        if side is not None:
            _, params = side
            if lesson.store.get(params) is None:
                todo.append((key, params))
    if todo:
        start_job(lesson.generator, todo, "compare, same seed")


def pair_of(card: str) -> ComparePair | None:
    """The pair on screen, when it belongs to `card`."""
    pair: ComparePair | None = st.session_state.get("gallery_compare")
    return pair if pair is not None and pair.card == card else None


def show_pair(lesson: Lesson, pair: ComparePair) -> None:
    sides = [pair_params(lesson, pair.left, pair.seed), pair_params(lesson, pair.right, pair.seed)]
    if None in sides:
        st.caption("One of these prompts is gone from the file or has an error.")
        return
    compare_view(lesson.store, sides[0], sides[1], key=f"gallery_pair_{pair.card}")


def any_two_ui(lesson: Lesson) -> None:
    """Pick any two texts of the file and a seed; Compare draws both."""
    choices = {c.key: c for c in compare_choices(lesson.pf)}
    keys = list(choices)
    if len(keys) < 2:
        st.caption("The file needs two prompts to compare.")
        return
    # one picker a row, the column's width: side by side they cut an id to "lear-birds-in-the-"
    left_key = st.selectbox("Left", keys, format_func=lambda k: choices[k].label, key="gallery_pair_left")
    right_key = st.selectbox("Right", keys, index=1, format_func=lambda k: choices[k].label,
                             key="gallery_pair_right")
    pick = st.container(horizontal=True, vertical_alignment="bottom")
    own_seed = lesson.pf.params(choices[left_key].prompt_id).seed
    pair_seed = pick.number_input("Seed", min_value=0, max_value=WIDGET_SEED_MAX, key="gallery_pair_seed",
                                  value=own_seed if isinstance(own_seed, int) and 0 <= own_seed <= WIDGET_SEED_MAX
                                  else 0, width=200)
    if pick.button("Compare", key="gallery_pair_go", icon=":material/compare:", type="primary",
                   disabled=lesson.busy or not lesson.can_generate,
                   help="Draw both with this seed (what is already there is reused) and show them step by step"):
        compare_pair(lesson, ANY_TWO, left_key, right_key, seed=int(pair_seed))
        st.rerun()
    pair = pair_of(ANY_TWO)
    if pair is not None:
        show_pair(lesson, pair)
