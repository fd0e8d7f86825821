"""The gallery's images: tiles big enough to project, the lightbox, the step timeline, two prompts compared.

Tiles are 320 px wide in a wrapping row (≥ 300 px whatever the window: more per row on a wide screen,
one per row on a narrow one). "Open" shows the full-resolution file in a dialog with its PNG info, its
step timeline (x̂₀ after each step, models/flux/timeline.py) and a download under a readable name.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import streamlit as st

from app.gallery.widgets import image_caption, md_escape
from models.flux.export import export_name, matches_chosen
from models.flux.params import GenerationParams
from models.flux.prompt_schema import ALTERNATIVE_KEYS
from models.flux.store import ImageStore, StoredImage, png_parameters, thumbnail

TILE_WIDTH = 320  # px: projected from the back of a room, a 140-px thumbnail is a smudge
TILE_PIXELS = 480  # thumbnails at 1.5x the tile width: sharp enough on a projector, 44 % fewer pixels than 2x
WIDGET_SEED_MAX = 2**53 - 1  # a number widget's value goes through JavaScript: exact only up to 2**53


def size_note(meta: dict) -> str | None:
    return meta.get("size_note")


def image_tiles(images: list[StoredImage], chosen: Any, on_star: Callable[[StoredImage], None], key: str,
                store: ImageStore, can_star: bool = True) -> None:
    """One 320-px tile per image (seed, star, Open), wrapping to as many per row as fit."""
    row = st.container(horizontal=True, gap="medium")
    for image in images:
        stem = image.path.stem
        with row.container(width=TILE_WIDTH, gap="small"):
            st.image(thumbnail(image.path, TILE_PIXELS), caption=image_caption(image), width="stretch")
            with st.container(horizontal=True, gap="small"):
                starred = matches_chosen(image, chosen)
                st.button("Chosen" if starred else "Star", key=f"{key}_star_{stem}",
                          icon=":material/star:" if starred else ":material/star_border:",
                          type="primary" if starred else "tertiary", disabled=starred or not can_star,
                          on_click=on_star, args=(image,), help="Mark as the image for the handout (saved with Save)")
                if st.button("Open", key=f"{key}_open_{stem}", icon=":material/open_in_full:", type="tertiary",
                             help="Full size, PNG info, the image at each step, download"):
                    lightbox(str(image.path), str(store.root))


@st.dialog("Image", width="large")
def lightbox(path: str, store_root: str) -> None:
    """The full-resolution file, what it was made with, its step timeline, and a download."""
    store = ImageStore(store_root)
    try:
        meta = store.metadata(path)
        data = Path(path).read_bytes()
    except (OSError, ValueError, SyntaxError) as exc:
        st.error(f"This image cannot be read now: {md_escape(str(exc))}", icon=":material/error:")
        return
    image = StoredImage(path=Path(path), metadata=meta, mtime=0.0)
    st.image(data, caption=image_caption(image), width="content")
    note = size_note(meta)
    if note:
        st.caption(f"{note}: the demo's pictures are noise, drawn small to stay fast.")
    timeline_strip(store, Path(path), key=f"lightbox_steps_{Path(path).stem}")
    st.markdown("**PNG info** (the `parameters` text other tools read, as AUTOMATIC1111 writes it)")
    st.code(png_parameters(data) or "(no parameters text in this file)", language=None, wrap_lines=True)
    st.download_button("Download PNG", data=data, file_name=export_name(meta.get("prompt_id"), meta.get("seed")),
                       mime="image/png", icon=":material/download:", on_click="ignore",
                       key=f"lightbox_download_{Path(path).stem}")


def step_label(step: int, t: float) -> str:
    return f"step {step} · t = {t:.2f}"


TIMELINE_NOTE = ("What the model predicts the finished image to be at each step: x̂₀ = x_t − t·v (t = 1 is pure "
                 "noise, v the predicted velocity), decoded by the VAE. The last step lands on the image itself.")


def timeline_strip(store: ImageStore, path: Path, key: str) -> None:
    """The image's step timeline as a row of small pictures, one per step."""
    entries = store.timeline(path)
    if not entries:
        st.caption("No step timeline was kept for this image (made before timelines were recorded, or recalled).")
        return
    st.markdown("**Step timeline**")
    with st.container(horizontal=True, gap="small", key=key):
        for entry in entries:
            st.image(str(entry.path), caption=step_label(entry.step, entry.t), width=150)
    st.caption(TIMELINE_NOTE)


# ----------------------------------------------------------------------------- two prompts, same seed


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
            if entry is not None:
                col.image(str(entry.path), caption=step_label(entry.step, entry.t), width="stretch")
        st.caption(TIMELINE_NOTE + " Same seed: both start from the same noise.")
