"""Which executor runs the app's jobs, from the DC_* settings (checked by models/core/server_settings.py).

    DC_JOBS              unset or "processes": worker processes (models/core/workers.py);
                         "threads": threads of the server process; ray://HOST:PORT: a Ray cluster
    DC_WORKER_MEMORY_MB  a training worker's memory ceiling (default: half the memory over the workers)
"""

from __future__ import annotations

import os
from typing import Mapping

from models.core.jobs import Executor, InThisProcess
from models.core.workers import WorkerProcesses

JOBS_ENV = "DC_JOBS"
WORKER_MEMORY_ENV = "DC_WORKER_MEMORY_MB"


def worker_memory_mb_from_env(env: Mapping[str, str] | None = None, default: int | None = None) -> int | None:
    """DC_WORKER_MEMORY_MB as a whole number of MB (≥ 256), or `default` when unset."""
    env = os.environ if env is None else env
    text = env.get(WORKER_MEMORY_ENV, "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit() and 256 <= int(text) <= 10**7):
        raise ValueError(f"{WORKER_MEMORY_ENV}={text[:20]!r} is not a memory ceiling: use a whole number of MB "
                         "from 256, or leave it unset")
    return int(text)


def jobs_backend_from_env(env: Mapping[str, str] | None = None) -> str:
    """DC_JOBS: "processes" (unset: the default), "threads", or a Ray address "ray://HOST:PORT"."""
    env = os.environ if env is None else env
    text = env.get(JOBS_ENV, "").strip()
    if text in ("", "processes"):
        return "processes"
    if text == "threads" or text.startswith("ray://"):
        if text.startswith("ray://"):
            host, _, port = text[len("ray://"):].rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"{JOBS_ENV}={text[:60]!r}: a Ray address is ray://HOST:PORT (the cluster's "
                                 "client port, 10001 by default)")
        return text
    raise ValueError(f"{JOBS_ENV}={text[:60]!r} is not a job backend: leave it unset (worker processes), or use "
                     "'threads' or ray://HOST:PORT")


def default_worker_memory_mb(workers: int, share: float = 0.5) -> int:
    """`share` of the machine's memory split between the workers, at least 1 GB each (the app keeps the rest)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 * 2**30
    return max(1024, int(total * share / max(workers, 1) / 2**20))


def make_executor(backend: str, workers: int, *, memory_limit_mb: int | None = None,
                  retire_above_mb: int | None = None, preload: tuple[str, ...] = (), name: str = "jobs",
                  gpus_per_job: float = 0.0) -> Executor:
    """The executor a backend string names (see `jobs_backend_from_env`)."""
    if backend == "threads":
        return InThisProcess()
    if backend.startswith("ray://"):
        from models.core.ray_jobs import RayCluster

        return RayCluster(backend, gpus_per_job=gpus_per_job, name=name)
    return WorkerProcesses(workers, memory_limit_mb=memory_limit_mb, retire_above_mb=retire_above_mb,
                           preload=preload, name=name)
