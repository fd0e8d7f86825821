"""Process-wide resources shared by every session: the job pools, a reaper for closed tabs, the run registry.

Home never imports this (its first paint would wait ~30 ms for the job machinery): the sessions, uploads
and device line it needs are `sessions.py`, `uploads.py` and `device.py`.
"""

from __future__ import annotations

import threading
import time

import streamlit as st

from app.ui.sessions import session_alive
from models.core.job_backends import (default_worker_memory_mb, jobs_backend_from_env, make_executor,
                                      worker_memory_mb_from_env)
from models.core.jobs import JobPool
from models.core.registry import RunRegistry
from models.core.server_settings import max_jobs_from_env

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


def _reaped_pool(workers: int, name: str, executor) -> JobPool:
    pool = JobPool(workers, reap_grace_s=REAP_GRACE_S, executor=executor)

    def reaper():  # a closed tab must not keep a CPU busy
        while True:
            time.sleep(5)
            pool.reap(session_alive)

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
    return RunRegistry(max_runs=256, max_age_s=3 * 3600, per_owner=4, is_alive=session_alive)


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
