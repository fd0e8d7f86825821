"""Process-wide resources shared by every session (one job pool, a reaper for closed tabs)."""

from __future__ import annotations

import sys
import threading
import time

import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from models.core.job_backends import (default_worker_memory_mb, jobs_backend_from_env, make_executor,
                                      worker_memory_mb_from_env)
from models.core.jobs import JobPool
from models.core.registry import RunRegistry
from models.core.server_settings import max_jobs_from_env
from models.lab.uploads import forget_uploads, owner_key, prune_uploads

# A closed tab's jobs stop after this long; a reloaded tab reattaches its run within it.
REAP_GRACE_S = 60.0

# Concurrent background jobs for the whole server; the rest wait in line.
MAX_JOBS = max_jobs_from_env()  # DC_MAX_JOBS, default half the cores; `make run` checks it first
# Where they run: worker processes (default), threads of this process, or a Ray cluster (DC_JOBS).
JOBS_BACKEND = jobs_backend_from_env()
# What a training worker may hold (DC_WORKER_MEMORY_MB): past it, its job fails and the worker is replaced.
WORKER_MEMORY_MB = worker_memory_mb_from_env(default=default_worker_memory_mb(MAX_JOBS))
# A training worker left holding more than this after a job is replaced by a fresh one.
RETIRE_ABOVE_MB = min(1024, WORKER_MEMORY_MB // 2)
# Imported by each training worker as it starts, so the first Train does not wait for them.
WORKER_PRELOAD = ("torch", "models.score.run:warm_up", "models.flow.run", "models.text_to_image.run",
                  "models.score.experiments", "models.score.sampler_comparison")


def session_id() -> str:
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "no-session"


def _session_alive(owner: str) -> bool:
    try:
        return Runtime.instance().is_active_session(owner)
    except Exception:  # no runtime (AppTest, bare mode): nobody to reap
        return True


_uploads: dict[str, list[str]] = {}   # session id → the CSVs it uploaded (deleted when it goes)
_uploads_lock = threading.Lock()


def remember_upload(path) -> None:
    with _uploads_lock:
        _uploads.setdefault(session_id(), []).append(str(path))


def live_upload_owners() -> set[str]:
    """The upload folders (models.lab.uploads.owner_key) of the sessions still open, this one included:
    their files are never removed to make room for someone else's."""
    with _uploads_lock:
        owners = [owner for owner in _uploads if _session_alive(owner)]
    return {owner_key(owner) for owner in owners + [session_id()]}


def _forget_closed_sessions_uploads() -> None:
    with _uploads_lock:
        gone = [owner for owner in _uploads if not _session_alive(owner)]
        paths = [p for owner in gone for p in _uploads.pop(owner)]
    if paths:
        forget_uploads(paths)


@st.cache_resource
def upload_sweeper() -> threading.Thread:
    """From the first page view on (not from the first Train): a closed tab's uploads leave the disk."""
    prune_uploads()  # once per server start: what earlier runs of the app left behind

    def sweep():
        while True:
            time.sleep(5)
            _forget_closed_sessions_uploads()

    thread = threading.Thread(target=sweep, name="uploads-sweeper", daemon=True)
    thread.start()
    return thread


def _reaped_pool(workers: int, name: str, executor) -> JobPool:
    pool = JobPool(workers, reap_grace_s=REAP_GRACE_S, executor=executor)

    def reaper():  # a closed tab must not keep a CPU busy
        while True:
            time.sleep(5)
            pool.reap(_session_alive)

    threading.Thread(target=reaper, name=f"{name}-reaper", daemon=True).start()
    return pool


@st.cache_resource
def job_pool() -> JobPool:
    """Training and other toy-model jobs, at most MAX_JOBS at once for the whole server."""
    executor = make_executor(JOBS_BACKEND, MAX_JOBS, memory_limit_mb=WORKER_MEMORY_MB, retire_above_mb=RETIRE_ABOVE_MB,
                             preload=WORKER_PRELOAD, name="jobs")
    return _reaped_pool(MAX_JOBS, "jobs", executor)


def warm_jobs() -> None:
    """A lab page is open: start the job workers now (torch and the lab imported, the optimizer warmed up),
    so the first Train does not wait for them; in threads, warm this process up instead."""
    if JOBS_BACKEND == "threads":
        from models.score.run import warm_up

        warm_up()
    else:
        pool = job_pool()
        threading.Thread(target=pool.warm, name="jobs-warm", daemon=True).start()


@st.cache_resource
def run_registry() -> RunRegistry:
    """Every lab page's runs by the id in their tab's URL, so a reload finds its run again: sized for a
    class (each student with a run on every lab page, plus closed tabs' runs kept for three hours), and
    an open tab's run is never evicted."""
    return RunRegistry(max_runs=256, max_age_s=3 * 3600, per_owner=4, is_alive=_session_alive)


def run_gone_notice(what: str) -> None:
    """The address named a run this server does not keep (it restarted, the run's tab closed hours ago,
    or the id belongs to another page): say so, rather than show an empty page as if nothing happened."""
    st.warning(f"The {what} named in this page's address is no longer kept on the server (the server may "
               "have restarted, or its tab was closed long ago): start a new one.", icon=":material/link_off:")


@st.cache_resource
def generation_pool() -> JobPool:
    """Image generation: one at a time (one pipeline in one worker process, which keeps it loaded), never
    queued behind training; on a Ray cluster, on a GPU node when the cluster has one."""
    executor = make_executor(JOBS_BACKEND, 1, memory_limit_mb=worker_memory_mb_from_env(
        default=default_worker_memory_mb(1, share=0.85)), preload=("torch",), name="generation", gpus_per_job=flux_gpus())
    return _reaped_pool(1, "generation", executor)


def flux_gpus() -> float:
    """GPUs a FLUX render asks of a Ray cluster: DC_FLUX_GPUS (default 0: anywhere; 1: a GPU node)."""
    import os

    text = os.environ.get("DC_FLUX_GPUS", "").strip()
    try:
        return max(0.0, float(text)) if text else 0.0
    except ValueError:
        return 0.0


_torch_ready = threading.Event()
_torch_lock = threading.Lock()
_first_asked_at: float | None = None  # when Home first asked (the import waits for its first paint)
TORCH_IMPORT_DELAY_S = 2.5  # a cold import holds the GIL for seconds: not while the browser still fetches and paints Home


def _import_torch() -> None:
    import torch  # noqa: F401  (the import is the work)

    _torch_ready.set()


def device_summary() -> str | None:
    """One Markdown line on the devices, or None while torch is still being imported."""
    if not _torch_ready.is_set():
        if "torch" in sys.modules and hasattr(sys.modules["torch"], "cuda"):
            _torch_ready.set()  # already imported by another page
        else:
            global _first_asked_at
            with _torch_lock:
                if _first_asked_at is None:
                    _first_asked_at = time.monotonic()
                if time.monotonic() - _first_asked_at < TORCH_IMPORT_DELAY_S:
                    return None  # asked again by the line's fragment, after the page has painted
                if not any(t.name == "import-torch" for t in threading.enumerate()):
                    threading.Thread(target=_import_torch, name="import-torch", daemon=True).start()
            if not _torch_ready.wait(0.05):
                return None
    from models.core.devices import device_summary as summary

    return summary()
