"""One prompt's card: its text and tokens, its settings, its images, and the buttons that make more.

In edit mode the card also holds the prompt's fields (seed, steps, size, commentary, tags, translation,
rephrasing) and its move / delete buttons; otherwise the commentary is shown under the images.
"""

from __future__ import annotations

import streamlit as st

from app.gallery import compare, editing, jobs
from app.gallery.images import compare_two, image_tiles, images_of, stored_image
from app.gallery.lesson import Lesson
from app.gallery.messages import md_escape
from app.gallery.session import ensure_seed, prompt_generation_params, sequence_length, view_problems
from app.gallery.tokens import token_panel
from models.flux.export import params_line
from models.flux.params import MAX_VARIATIONS, random_seed
from models.flux.prompt_schema import ALTERNATIVE_KEYS

SETTING_FIELDS = (("steps", "Steps", 1), ("width", "Width", 16), ("height", "Height", 16))  # kind, label, step


def prompt_card(lesson: Lesson, prompt: dict, *, editing_on: bool, index: int, count: int) -> None:
    """The card of `prompt`, the index-th of its section's `count` prompts."""
    pid = prompt["id"]
    images = images_of(lesson.store, lesson.pf, prompt, lesson.backend) if lesson.can_generate else []
    params = lesson.pf.params(pid)
    with st.container(border=True):
        st.subheader(pid, anchor=False)
        if params.problems():  # a wrong value in the file: say where, here; the other prompts still work
            st.error("\n\n".join(md_escape(line) for line in card_errors(lesson, pid, params)),
                     icon=":material/error:")
        _text(lesson, prompt, params, editing_on)
        st.caption(" · ".join(_notes(prompt, params)))
        if editing_on:
            _fields(lesson, prompt, index=index, count=count)
            grid_area = st.container()
        else:  # images first (320-px tiles: big enough to project), then the commentary under them
            grid_area = st.container()
            if prompt.get("commentary"):
                st.markdown(prompt["commentary"])
        with grid_area:
            _images(lesson, pid, prompt, images)
        _generate_row(lesson, prompt, params)
        pair = compare.pair_of(pid)
        if pair is not None:
            with st.expander("Same seed, side by side", expanded=True, icon=":material/compare:"):
                compare.show_pair(lesson, pair)
        # drawn only when asked: two full-size images per card would otherwise travel with every page
        if len(images) >= 2 and st.toggle("Compare two images side by side", key=f"gallery_cmp_on_{pid}"):
            compare_two(images, key=f"gallery_cmp_{pid}")


def card_errors(lesson: Lesson, prompt_id: str, params) -> list[str]:
    """FILE:LINE: messages of this prompt's errors (a prompt that inherits a bad [defaults] value says so)."""
    own = [p.format(lesson.path.name) for p in view_problems() if p.prompt_id == prompt_id and p.is_error]
    return own or [f"{problem} (from [defaults], listed at the top)" for problem in params.problems()]


def prompt_tags(prompt: dict) -> list[str]:
    tags = prompt.get("tags")
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def _text(lesson: Lesson, prompt: dict, params, editing_on: bool) -> None:
    """The prompt text, exactly as the model gets it (or its edit box), and its tokens."""
    if editing_on:
        editing.edit_widget(st.text_area, "Prompt text (sent to the model exactly as written)", "text", prompt["id"],
                            prompt["text"])
    else:
        st.code(prompt["text"], language=None, wrap_lines=True)
    token_panel(prompt["text"], output_dir=lesson.settings.output_dir, source=lesson.backend.source,
                max_sequence_length=sequence_length(params))


def _notes(prompt: dict, params) -> list[str]:
    """The settings line under the text: parameters, translation, tags."""
    notes = [params_line({**params.to_dict(), "model_id": None}) if params.seed is not None
             else "seed: drawn at random on the first Generate, then recorded"]
    if prompt.get("translation"):
        notes.append(f"translation: “{md_escape(str(prompt['translation']))}”")
    tags = prompt_tags(prompt)
    if tags:
        notes.append(" ".join(f"`{t.replace('`', '')}`" for t in tags))
    return notes


def _fields(lesson: Lesson, prompt: dict, *, index: int, count: int) -> None:
    """Edit mode: every field of the prompt, a commentary preview, and move / delete."""
    pid = prompt["id"]
    _seed_field(lesson, prompt)
    with st.container(horizontal=True, vertical_alignment="bottom"):
        for kind, label, step in SETTING_FIELDS:
            own = prompt.get(kind)
            editing.edit_widget(st.number_input, label, kind, pid,
                                own if isinstance(own, int) and not isinstance(own, bool) else None,
                                min_value=1, max_value=4096, step=step, width=160,
                                placeholder=f"{lesson.pf.defaults.get(kind)} ([defaults])",
                                help="Empty: the file's [defaults]")
    text_col, preview_col = st.columns(2)
    with text_col:
        editing.edit_widget(st.text_area, "Commentary (Markdown)", "comm", pid, prompt.get("commentary", ""),
                            height=220)
    with preview_col:  # what the class will see
        st.caption("Preview")
        st.markdown(prompt.get("commentary") or "*(no commentary)*")
    tags_col, translation_col, rephrased_col = st.columns(3)
    with tags_col:
        editing.edit_widget(st.text_input, "Tags (comma separated)", "tags", pid, ", ".join(prompt_tags(prompt)))
    with translation_col:
        editing.edit_widget(st.text_input, "Translation", "tr", pid, str(prompt.get("translation") or ""))
    with rephrased_col:
        editing.edit_widget(st.text_input, "Rephrased", "reph", pid, str(prompt.get("rephrased") or ""),
                            help="Compared with the prompt, same seed (the homonyms: say it unambiguously)")
    _move_buttons(lesson, pid, index=index, count=count)


def _seed_field(lesson: Lesson, prompt: dict) -> None:
    pid = prompt["id"]
    with st.container(horizontal=True, vertical_alignment="bottom"):
        editing.edit_widget(st.text_input, "Seed", "seed", pid,
                            "" if prompt.get("seed") is None else str(prompt["seed"]), width=220)
        st.button("Random seed", key=f"gallery_rand_{pid}", icon=":material/casino:",
                  help="Draw a new seed and record it in the file",
                  on_click=editing.random_seed_for, args=(lesson, pid))
    seed_error = st.session_state.get("gallery_seed_error")
    if seed_error and seed_error.prompt_id == pid:
        st.error(seed_error.message)


def _move_buttons(lesson: Lesson, pid: str, *, index: int, count: int) -> None:
    edits = lesson.edits
    with st.container(horizontal=True):
        st.button("Up", key=f"gallery_pup_{pid}", icon=":material/arrow_upward:", disabled=index == 0,
                  on_click=editing.structural, args=(edits.move_prompt, pid, -1))
        st.button("Down", key=f"gallery_pdown_{pid}", icon=":material/arrow_downward:", disabled=index == count - 1,
                  on_click=editing.structural, args=(edits.move_prompt, pid, 1))
        st.button("Delete prompt", key=f"gallery_pdel_{pid}", icon=":material/delete:",
                  on_click=editing.confirm_delete, args=("prompt", pid))
    editing.confirm_box(lesson, "prompt", pid, edits.delete_prompt)


def _images(lesson: Lesson, pid: str, prompt: dict, images: list) -> None:
    if images:
        image_tiles(images, prompt.get("chosen"), lambda im, p=pid, sib=images: editing.star(lesson, p, im, sib),
                    key=f"gallery_grid_{pid}", store=lesson.store, can_star=lesson.editable)
    elif lesson.can_generate:
        st.caption("No image yet: press Generate.")


def _generate_row(lesson: Lesson, prompt: dict, params) -> None:
    """Generate, Regenerate (the instructor's), variations with new seeds, and the same seed with another text."""
    pid, pf, backend = prompt["id"], lesson.pf, lesson.backend
    idle = not lesson.busy and lesson.can_generate
    with st.container(horizontal=True, vertical_alignment="bottom"):
        if st.button("Generate", key=f"gallery_gen_{pid}", icon=":material/play_arrow:", type="primary",
                     disabled=not idle, help="Make the image for this seed (instant when it is already there)"):
            ensure_seed(pf, pid)
            jobs.start_job(lesson.generator, [(pid, prompt_generation_params(pf, pid, backend))], f"generate {pid}")
            st.rerun()
        if lesson.editable and st.button("Regenerate", key=f"gallery_regen_{pid}", icon=":material/replay:",
                                         disabled=not idle,
                                         help="Delete this seed's image and compute it again: same seed, "
                                              "same picture"):
            _regenerate(lesson, pid)
        count = st.number_input("Variations", min_value=1, max_value=MAX_VARIATIONS, value=2,
                                key=f"gallery_nvar_{pid}", width=120)
        if st.button("New seeds", key=f"gallery_var_{pid}", icon=":material/shuffle:", disabled=not idle,
                     help="Variations: new random seeds, each recorded in its image"):
            items = [(pid, prompt_generation_params(pf, pid, backend, seed=random_seed())) for _ in range(int(count))]
            jobs.start_job(lesson.generator, items, f"variations of {pid}")
            st.rerun()
        for field, words in ALTERNATIVE_KEYS.items():
            if isinstance(prompt.get(field), str) and prompt[field].strip() and st.button(
                    f"Same seed, {words}", key=f"gallery_alt_{field}_{pid}", icon=":material/compare:",
                    disabled=not idle or params.problems() != [],
                    help=f"Draw the {words} with this prompt's seed and compare the two step by step"):
                ensure_seed(pf, pid)
                compare.compare_pair(lesson, pid, f"{pid}.{field}", seed=pf.params(pid).seed)
                st.rerun()


def _regenerate(lesson: Lesson, pid: str) -> None:
    """Delete this seed's stored image and compute it again."""
    ensure_seed(lesson.pf, pid)
    params = prompt_generation_params(lesson.pf, pid, lesson.backend)
    existing = stored_image(lesson.store, params)
    if existing is not None:
        lesson.store.delete(existing)
    jobs.start_job(lesson.generator, [(pid, params)], f"regenerate {pid}")
    st.rerun()
