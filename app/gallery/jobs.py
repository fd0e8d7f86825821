"""This session's generation job: started in the shared generation pool, its progress, and what it did."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from app.gallery.messages import md_escape
from app.gallery.session import ensure_seed, prompt_generation_params
from app.ui.resources import generation_pool
from app.ui.sessions import session_id
from models.flux.generate import Generator
from models.flux.params import GenerationParams
from models.flux.worker import GenerationOutcome, GenerationProgress, generation_task


@dataclass(frozen=True)
class LastJob:
    """What the session's finished job did; it stays on the page until the next job starts."""

    state: str
    error: str | None
    made: list    # (prompt_id, seed, path, from_cache) per image
    errors: list  # (prompt_id, message) per image that failed
    next_plan: Any  # a lighter MemoryPlan after running out of memory, else None
    seconds: float

    @classmethod
    def of(cls, job) -> LastJob:
        result = job.result or GenerationOutcome()
        return cls(job.state, job.error, result.made, result.errors, result.next_plan, result.seconds)

    @property
    def fresh(self) -> int:
        """Images computed by this job, not found already in the store."""
        return sum(1 for _prompt_id, _seed, _path, from_cache in self.made if not from_cache)


def collect_finished_job() -> None:
    """Turn a finished job into its summary, once."""
    job = st.session_state.get("gallery_job")
    if job is not None and job.is_finished:
        st.session_state.gallery_last = LastJob.of(job)
        st.session_state.gallery_job = None


def last_job_ui(generator: Generator) -> None:
    """What the last job made or why it failed, a lighter memory plan to try, and whether we wait our turn."""
    last: LastJob | None = st.session_state.get("gallery_last")
    if last is not None:
        if last.made:
            st.success(f"{len(last.made)} image(s) ready ({last.fresh} new, {len(last.made) - last.fresh} already "
                       f"there) in {last.seconds:.1f} s.", icon=":material/check:")
        if last.state == "cancelled":
            st.info("Generation cancelled; the images finished before that are kept.", icon=":material/cancel:")
        for prompt_id, message in last.errors:
            st.error(f"**{md_escape(prompt_id)}:** {md_escape(message)}", icon=":material/error:")
        if last.error:
            st.error(f"The generation job failed: {md_escape(last.error)}", icon=":material/error:")
        if last.next_plan is not None:
            if st.button(f"Try again with a lighter memory plan: {last.next_plan.summary}", key="gallery_next_plan"):
                generator.use_plan(last.next_plan)
                st.session_state.gallery_last = None
                st.rerun()
    if st.session_state.get("gallery_job") is None and generation_pool().running:
        st.info("The generator is busy with another session's image: yours will wait for it.",
                icon=":material/hourglass_top:")


def start_job(generator: Generator, items: list, name: str) -> None:
    """Queue generation of [(prompt_id, GenerationParams)] in the shared pool."""
    if not items:
        st.toast("Nothing to generate: every image is already there.")
        return
    job = generation_pool().submit(generation_task(generator, items), name=name, owner=session_id())
    st.session_state.gallery_job = job
    st.session_state.gallery_last = None


def missing_images(lesson) -> list[tuple[str, GenerationParams]]:
    """Every prompt whose image is not in the store yet; prompts with errors in the file are skipped (a toast)."""
    todo, skipped = [], []
    for pid in lesson.pf.prompt_ids():
        ensure_seed(lesson.pf, pid)
        params = prompt_generation_params(lesson.pf, pid, lesson.backend)
        if params.problems():
            skipped.append(pid)
        elif lesson.store.get(params) is None:
            todo.append((pid, params))
    if skipped:
        st.toast(f"Skipped {len(skipped)} prompt(s) with errors in the file: {', '.join(skipped)}")
    return todo


def progress_ui() -> None:
    if st.session_state.get("gallery_job") is not None:
        _progress_panel()


@st.fragment(run_every=1.0)
def _progress_panel() -> None:
    running = st.session_state.get("gallery_job")
    if running is None:
        return
    if running.is_finished:
        st.rerun(scope="app")  # the whole page redraws with the new images
    job_progress(running)


def job_progress(job) -> None:
    """Progress of a running job: which image, a bar over all steps, the latest preview, Cancel."""
    progress = job.snapshot() or GenerationProgress()
    total = max(1, int(progress.total))
    index = int(progress.index)
    steps = max(1, int(progress.steps))
    step = int(progress.step)
    fraction = min(1.0, (index + step / steps) / total)
    if job.state == "queued":
        text = f"Waiting in line (position {job.queue_position}) for a free worker…"
    else:
        text = f"Image {min(index + 1, total)}/{total} · {progress.prompt_id} · {progress.status}"
    cols = st.columns([4, 1, 1], vertical_alignment="center")
    with cols[0]:
        st.progress(fraction, text=text)
    with cols[1]:
        preview = progress.preview
        if preview is not None:
            st.image(preview, width=96, caption="preview")
    with cols[2]:
        st.button("Cancel", key="gallery_cancel", icon=":material/cancel:", on_click=job.cancel)
