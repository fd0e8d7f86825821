"""The gallery's images: tiles big enough to project, the lightbox, the step timeline.

Tiles are 320 px wide in a wrapping row (≥ 300 px whatever the window: more per row on a wide screen,
one per row on a narrow one). "Open" shows the full-resolution file in a dialog with its PNG info, its
step timeline (x̂₀ after each step, models/flux/timeline.py) and a download under a readable name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import streamlit as st

from app.gallery.backend import Backend
from app.gallery.messages import md_escape
from app.gallery.session import prompt_generation_params
from models.flux.export import export_name, image_key, matches_chosen, params_line, prompt_images, representative_image
from models.flux.params import GenerationParams
from models.flux.prompt_file import PromptFile
from models.flux.store import DEMO_LABEL, ImageStore, StoredImage, png_parameters, thumbnail

TILE_WIDTH = 320  # px: projected from the back of a room, a 140-px thumbnail is a smudge
SHEET_WIDTH = 150  # px: the contact sheet's thumbnails, three a row beside an open sidebar at 1024×768
TILE_PIXELS = 480  # thumbnails at 1.5x the tile width: sharp enough on a projector, 44 % fewer pixels than 2x
WIDGET_SEED_MAX = 2**53 - 1  # a number widget's value goes through JavaScript: exact only up to 2**53


def size_note(meta: dict) -> str | None:
    return meta.get("size_note")


def stored_image(store: ImageStore, params: GenerationParams) -> Path | None:
    """The stored PNG of `params`, None when there is none or the parameters are unusable (their
    cache key cannot even be computed from a width of "1024px")."""
    return None if params.problems() else store.get(params)


def images_of(store: ImageStore, pf: PromptFile, prompt: dict, backend: Backend) -> list[StoredImage]:
    """The prompt's images for the current model; the one matching the file's settings first."""
    images = prompt_images(store, prompt["id"], prompt.get("text", ""), backend.model_id)
    if pf.params(prompt["id"]).seed is not None and backend.model_id:
        current = stored_image(store, prompt_generation_params(pf, prompt["id"], backend))
        images.sort(key=lambda s: s.path != current)
    return images


def chosen_value(image: StoredImage, siblings: list[StoredImage]) -> int | str:
    """What `chosen` records for a starred image: its seed when that is unambiguous, else its cache key."""
    seed = image.metadata.get("seed")
    same_seed = [s for s in siblings if s.metadata.get("seed") == seed]
    return seed if isinstance(seed, int) and len(same_seed) == 1 else image_key(image)


def image_caption(image: StoredImage) -> str:
    caption = f"seed {image.metadata.get('seed')}"
    if image.is_demo:
        caption += f" · {DEMO_LABEL}"
    rendered = image.metadata.get("rendered_size")
    if image.metadata.get("size_note") and isinstance(rendered, list) and len(rendered) == 2:
        caption += f" · drawn at {rendered[0]}×{rendered[1]}"
    return caption


def contact_sheet(lesson) -> None:
    """Every prompt's image at a glance: its starred one (else the file's seed's, else the newest), small,
    several a row, each under its prompt id; the cards below show them large."""
    tiles = []
    for section in lesson.pf.sections() if lesson.can_generate else []:
        for prompt in section["prompts"]:
            if not isinstance(prompt.get("id"), str) or not isinstance(prompt.get("text"), str):
                continue
            image = representative_image(images_of(lesson.store, lesson.pf, prompt, lesson.backend),
                                         prompt.get("chosen"), lesson.pf.params(prompt["id"]).seed)
            if image is not None:
                tiles.append((prompt["id"], image))
    if not tiles:
        return
    with st.expander(f"Contact sheet: {len(tiles)} prompts at a glance", expanded=True, icon=":material/grid_view:"):
        row = st.container(horizontal=True, gap="small", key="gallery_sheet")
        for pid, image in tiles:
            with row.container(width=SHEET_WIDTH, gap=None):
                st.image(thumbnail(image.path, SHEET_WIDTH * 2), caption=pid, width="stretch")


def compare_two(images: list[StoredImage], key: str) -> None:
    """Pick two of a prompt's images and show them side by side, full size, with their parameters."""
    by_name = {image.path.stem: image for image in images}
    picked = st.multiselect("Pick two images", list(by_name), default=list(by_name)[:2], max_selections=2,
                            format_func=lambda stem: image_caption(by_name[stem]), key=key)
    if len(picked) == 2:
        for col, stem in zip(st.columns(2), picked):
            with col:
                image = by_name[stem]
                st.image(str(image.path), caption=image_caption(image), width="stretch")
                st.caption(params_line(image.metadata))


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
                          on_click=on_star, args=(image,),
                          help="Mark as the image for the handout (saved with Save)" if can_star  # a student has no Save
                          else "The instructor stars one image of each prompt for the handout")
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
        st.caption("This image's step timeline cannot be read (a damaged or altered file)."
                   if store.timeline_folder(path).exists() else
                   "No step timeline was kept for this image (made before timelines were recorded, or recalled).")
        return
    st.markdown("**Step timeline**")
    with st.container(horizontal=True, gap="small", key=key):
        for entry in entries:
            data = store.frame_bytes(entry)
            if data is None:
                st.caption(f"{step_label(entry.step, entry.t)}: cannot be read")
            else:
                st.image(data, caption=step_label(entry.step, entry.t), width=150)
    st.caption(TIMELINE_NOTE)
