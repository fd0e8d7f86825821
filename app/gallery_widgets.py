"""Helpers of the Gallery page: shared objects, the generation job, and widget groups.

The page (app/views/gallery.py) reads top to bottom as a script; the pieces that would clutter it
live here. The background job function never calls `st.*` (it runs in a worker thread).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import streamlit as st

from models.flux import FluxError
from models.flux.export import image_key, matches_chosen, params_line, prompt_images
from models.flux.generate import GenerationCancelled, Generator, OutOfMemory
from models.flux.loading import (
    InsufficientMemory,
    ModelNotFound,
    ModelSource,
    choose_model_spec,
    how_to_get_weights,
    plan_memory,
    resolve_model,
)
from models.flux.params import GenerationParams, random_seed
from models.flux.prompt_file import PromptFile
from models.flux.prompt_schema import PromptFileError
from models.flux.settings import FluxSettings
from models.flux.store import DEMO_LABEL, ImageStore, StoredImage, thumbnail

EDIT_PREFIX = "ge_"  # session_state keys of edit widgets: dropped when the document changes under them


# ----------------------------------------------------------------------------- which model, cheaply


@dataclass(frozen=True)
class Backend:
    """What the page will generate with, found without loading (or building) anything heavy.

    model_id / revision: what image metadata and cache keys will say (None when the model is missing).
    """

    spec: str
    is_demo: bool
    label: str
    model_id: str | None
    revision: str | None
    source: ModelSource | None = None
    note: str | None = None
    error: str | None = None
    plan_summary: str | None = None
    plan_warning: str | None = None


def model_spec(settings: FluxSettings, pf: PromptFile | None) -> str:
    """DC_FLUX_MODEL wins, else the file's model (the same rule as `render`)."""
    return choose_model_spec(settings, file_model=pf.defaults.get("model") if pf is not None else None)


@st.cache_resource(ttl=60, show_spinner=False)
def backend_status(spec: str, settings: FluxSettings) -> Backend:
    """Resolve `spec` as `render` does, except that a missing FLUX.1-schnell means the demo (re-checked
    every minute)."""
    try:
        source = resolve_model(spec, settings, allow_demo=True)
    except ModelNotFound as exc:
        return Backend(spec, False, spec, None, None, error=str(exc))
    try:
        plan = plan_memory(source)
    except InsufficientMemory as exc:
        return Backend(spec, source.is_demo, source.label, source.model_id, source.revision, source,
                       error=str(exc))
    return Backend(spec, source.is_demo, source.label, source.model_id, source.revision, source,
                   note=source.note, plan_summary=plan.summary, plan_warning=plan.warning)


@st.cache_resource(show_spinner=False)
def shared_generator(settings: FluxSettings, source: ModelSource | None) -> Generator:
    """One Generator per process and model: every session shares it, so calls are serialized."""
    return Generator(source, settings=settings, store=ImageStore(settings.output_dir))


def show_backend(backend: Backend) -> None:
    """The model status box at the top of the page."""
    if backend.error:
        st.error(f"**No model to generate with.** {backend.error}", icon=":material/error:")
        return
    if backend.is_demo:
        st.warning(
            f"**This is the {DEMO_LABEL}.** Every button works, but the pictures are noise "
            "from a tiny untrained network with FLUX's structure: a demo of the mechanics."
            + (f"\n\n{backend.note}" if backend.note else ""),
            icon=":material/science:",
        )
        with st.expander("How to get the real FLUX.1-schnell weights"):
            st.markdown(how_to_get_weights())
    else:
        st.success(f"**Model:** {backend.label}", icon=":material/check_circle:")
    if backend.plan_summary:
        st.caption(f"Memory plan: {backend.plan_summary}")
    if backend.plan_warning:
        st.warning(backend.plan_warning, icon=":material/memory:")


# ----------------------------------------------------------------------------- the prompt file in session


def load_prompt_file(path: Path) -> PromptFile | None:
    """The session's PromptFile (edits survive reruns); reloads when the path changes or when the
    file changed on disk and there is nothing unsaved to lose. None when the file cannot be read
    (the error is in st.session_state.gallery_load_error)."""
    state = st.session_state
    pf: PromptFile | None = state.get("gallery_pf")
    same = pf is not None and state.get("gallery_pf_path") == str(path)
    if same and not (not pf.dirty and pf.changed_on_disk()):
        return pf
    try:
        pf = PromptFile.load(path)
    except PromptFileError as exc:
        state.gallery_load_error = exc
        state.gallery_pf = None
        return None
    state.gallery_pf, state.gallery_pf_path, state.gallery_load_error = pf, str(path), None
    reset_edit_widgets()
    return pf


def reset_edit_widgets() -> None:
    """Forget edit widgets' state so they show the document's values again (after reload, move, ...)."""
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(EDIT_PREFIX)]:
        del st.session_state[key]


def show_load_error(path: Path, error: PromptFileError) -> None:
    st.error(f"**{path}:{error.line}:** {error.message}" if error.line else f"**{path}:** {error.message}",
             icon=":material/error:")
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return
    if error.line:
        lo, hi = max(0, error.line - 4), min(len(lines), error.line + 3)
        excerpt = "\n".join(f"{'>' if n == error.line else ' '}{n:4d} | {lines[n - 1]}" for n in range(lo + 1, hi + 1))
        st.code(excerpt, language=None)
    st.caption("Fix the file in an editor (or check it with `python -m models.flux check FILE`), then reload.")


def show_problems(pf: PromptFile, path: Path) -> None:
    """The result of checking the (edited) file: errors first, each with its line."""
    problems = pf.problems()
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


# ----------------------------------------------------------------------------- parameters and images


def prompt_generation_params(pf: PromptFile, prompt_id: str, backend: Backend, seed: int | None = None) -> GenerationParams:
    """GenerationParams of a prompt as the file describes it (seed overridable), for this backend."""
    params = pf.params(prompt_id, model_id=backend.model_id or "", revision=backend.revision)
    return params if seed is None else replace(params, seed=seed)


def ensure_seed(pf: PromptFile, prompt_id: str) -> int:
    """The prompt's seed; under seed_policy "random" a prompt without one gets a fresh seed, recorded."""
    seed = pf.params(prompt_id).seed
    if seed is None:
        seed = random_seed()
        pf.set_prompt_seed(prompt_id, seed)
    return seed


def images_of(store: ImageStore, pf: PromptFile, prompt: dict, backend: Backend) -> list[StoredImage]:
    """The prompt's images for the current model; the one matching the file's settings first."""
    images = prompt_images(store, prompt["id"], prompt.get("text", ""), backend.model_id)
    seed = pf.params(prompt["id"]).seed
    if seed is not None and backend.model_id:
        current = store.get(prompt_generation_params(pf, prompt["id"], backend))
        images.sort(key=lambda s: s.path != current)
    return images


def chosen_value(image: StoredImage, siblings: list[StoredImage]) -> int | str:
    """What `chosen` records for a starred image: its seed when that is unambiguous, else its cache key."""
    seed = image.metadata.get("seed")
    same_seed = [s for s in siblings if s.metadata.get("seed") == seed]
    return seed if isinstance(seed, int) and len(same_seed) == 1 else image_key(image)


def image_caption(image: StoredImage) -> str:
    caption = f"seed {image.metadata.get('seed')}"
    return f"{caption} · {DEMO_LABEL}" if image.is_demo else caption


def image_grid(images: list[StoredImage], chosen: Any, on_star: Callable[[StoredImage], None], key: str,
               columns: int = 4, size: int = 256) -> None:
    """Thumbnails in rows of `columns`, each with its seed and a star button."""
    for start in range(0, len(images), columns):
        cols = st.columns(columns)
        for col, image in zip(cols, images[start:start + columns]):
            with col:
                st.image(thumbnail(image.path, size), caption=image_caption(image), width="stretch")
                starred = matches_chosen(image, chosen)
                st.button("Chosen" if starred else "Star", key=f"{key}_star_{image.path.stem}",
                          icon=":material/star:" if starred else ":material/star_border:",
                          type="primary" if starred else "tertiary", disabled=starred,
                          on_click=on_star, args=(image,), help="Mark as the image for the handout (saved with Save)")


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


# ----------------------------------------------------------------------------- the generation job


def generation_job(generator: Generator, items: list[tuple[str, GenerationParams]]) -> Callable:
    """The function a JobPool runs: generate `items` in order, publishing progress; no st.* in here.

    Progress fields: index/total (images), prompt_id, step/steps, preview (PIL image), status text.
    Returns {"made": [(prompt_id, seed, path, from_cache)], "errors": [(prompt_id, message)],
             "next_plan": MemoryPlan | None, "seconds": float}.
    """

    def work(job) -> dict[str, Any]:
        start = time.perf_counter()
        made: list[tuple[str, int, str, bool]] = []
        errors: list[tuple[str, str]] = []
        next_plan = None
        total = len(items)
        for index, (prompt_id, params) in enumerate(items):
            if job.should_stop():
                break
            status = "waiting for the generator (another session is using it)" if generator.busy else (
                "loading the model" if not generator.loaded else "starting")
            job.report(index=index, total=total, prompt_id=prompt_id, step=0, steps=params.steps,
                       preview=None, status=status)

            def on_step(step: int, steps: int, preview) -> None:
                job.report(step=step, steps=steps, preview=preview, status=f"step {step}/{steps}")

            try:
                result = generator.generate(params, on_step=on_step, cancel=job.stop_event, prompt_id=prompt_id)
            except GenerationCancelled:
                break
            except OutOfMemory as exc:
                errors.append((prompt_id, str(exc)))
                next_plan = exc.next_plan
                break
            except (ModelNotFound, InsufficientMemory) as exc:  # nothing else can work either
                errors.append((prompt_id, str(exc)))
                break
            except FluxError as exc:
                errors.append((prompt_id, str(exc)))
                continue
            made.append((prompt_id, params.seed, str(result.path) if result.path else "", result.from_cache))
            job.report(index=index + 1, step=params.steps)
        return {"made": made, "errors": errors, "next_plan": next_plan, "seconds": time.perf_counter() - start}

    return work


def job_progress(job) -> None:
    """Progress of a running job: which image, a bar over all steps, the latest preview, Cancel."""
    progress = job.snapshot()
    total = max(1, int(progress.get("total", 1)))
    index = int(progress.get("index", 0))
    steps = max(1, int(progress.get("steps", 1)))
    step = int(progress.get("step", 0))
    fraction = min(1.0, (index + step / steps) / total)
    if job.state == "queued":
        text = f"Waiting in line (position {job.queue_position}) for a free worker…"
    else:
        text = (f"Image {min(index + 1, total)}/{total} · {progress.get('prompt_id', '')} · "
                f"{progress.get('status', 'starting')}")
    cols = st.columns([4, 1, 1], vertical_alignment="center")
    with cols[0]:
        st.progress(fraction, text=text)
    with cols[1]:
        preview = progress.get("preview")
        if preview is not None:
            st.image(preview, width=96, caption="preview")
    with cols[2]:
        st.button("Cancel", key="gallery_cancel", icon=":material/cancel:", on_click=job.cancel)
