"""Which model the gallery generates with, found cheaply, and the status box that says so."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from models.flux.generate import Generator
from models.flux.loading import (
    InsufficientMemory,
    ModelNotFound,
    ModelSource,
    choose_model_spec,
    how_to_get_weights,
    plan_memory,
    resolve_model,
)
from models.flux.prompt_file import PromptFile
from models.flux.settings import FluxSettings, public_text
from models.flux.store import DEMO_LABEL, ImageStore


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
    # Every text here reaches the class's browsers: server paths are cut to their last part.
    try:
        source = resolve_model(spec, settings, allow_demo=True)
    except ModelNotFound as exc:
        return Backend(spec, False, public_text(spec), None, None, error=public_text(str(exc)))
    label = public_text(source.label)
    try:
        plan = plan_memory(source)
    except InsufficientMemory as exc:
        return Backend(spec, source.is_demo, label, source.model_id, source.revision, source,
                       error=public_text(str(exc)))
    return Backend(spec, source.is_demo, label, source.model_id, source.revision, source,
                   note=public_text(source.note) if source.note else None, plan_summary=public_text(plan.summary),
                   plan_warning=public_text(plan.warning) if plan.warning else None)


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
        st.page_link("views/text_to_image.py", icon=":material/draw:",
                     label="Text to image, trained here: these lessons without FLUX")
        with st.expander("How to get the real FLUX.1-schnell weights"):
            st.markdown(how_to_get_weights())
    else:
        st.success(f"**Model:** {backend.label}", icon=":material/check_circle:")
    if backend.plan_summary:
        st.caption(f"Memory plan: {backend.plan_summary}")
    if backend.plan_warning:
        st.warning(backend.plan_warning, icon=":material/memory:")
