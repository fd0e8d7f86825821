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
from models.flux.export import image_key, params_line, prompt_images
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
from models.flux.params import SCHNELL_MAX_SEQUENCE_LENGTH, GenerationParams, random_seed, seed_problem
from models.flux.prompt_edits import PromptEdits, working_copy
from models.flux.prompt_file import PromptFile, text_hash
from models.flux.prompt_schema import PromptFileError, read_prompt_text
from models.flux.settings import FluxSettings
from models.flux.store import DEMO_LABEL, ImageStore, StoredImage

EDIT_PREFIX = "ge_"  # session_state keys of edit widgets: ge_<kind>_<id>_r<revision>


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
#
# A session never edits a copy of the file in place: it keeps its edits as a patch (PromptEdits) and
# sees the file as it is on disk now with that patch applied (the "view"). Edit widgets are keyed with
# the revision `gallery_rev`, which grows whenever what they should show changes for another reason than
# the widget itself (the file changed on disk, a save, a move, Random seed, Reload from disk). A widget
# of an older revision disappears from the page; if its stale value still arrives from the browser,
# `record_edit` ignores it (that was issue 8's lost edit).

# widget kind -> (table, field) of the prompt file
EDIT_FIELDS = {"text": ("prompt", "text"), "comm": ("prompt", "commentary"), "tr": ("prompt", "translation"),
               "reph": ("prompt", "rephrased"),
               "tags": ("prompt", "tags"), "seed": ("prompt", "seed"), "stitle": ("section", "title"),
               "scomm": ("section", "commentary"), "steps": ("prompt", "steps"), "width": ("prompt", "width"),
               "height": ("prompt", "height")}
SETTING_WIDGETS = ("steps", "width", "height")  # empty = the file's [defaults]


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
    key = (base.loaded_hash, edits.version)
    cached = state.get("gallery_view")
    if cached is None or cached[0] != key:
        view, conflicts = working_copy(base, edits)
        cached = state.gallery_view = (key, view, conflicts, view.problems())
    state.gallery_pf = cached[1]
    return cached[1]


def view_conflicts() -> list:
    """Edits of this session that collide with what was saved on disk since (they need Save's choice)."""
    return st.session_state.gallery_view[2]


def view_problems() -> list:
    """The check of the view (prompt_check.Problem list), computed once per version of it."""
    return st.session_state.gallery_view[3]


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
        state.gallery_seed_error = (ident, f"{value!r} is not a seed: use a whole number like 42.")
        return
    if kind == "seed":
        state.pop("gallery_seed_error", None)
    table, field = EDIT_FIELDS[kind]
    view = state.gallery_view[1]
    if kind in SETTING_WIDGETS and value is not None and value == view.defaults.get(field):
        value = None  # the same as [defaults]: inherit it rather than repeat it in the prompt
    state.gallery_edits.set_field(view, table, ident, field, value)


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


# ----------------------------------------------------------------------------- parameters and images


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
