"""The job pool's DC_* settings: a bad value is one line naming the variable, not a traceback.

    DC_MAX_JOBS          concurrent background jobs for the whole server (default: half the cores)
    DC_JOBS              where they run: unset = worker processes; "threads"; ray://HOST:PORT (a Ray cluster)
    DC_WORKER_MEMORY_MB  a training worker's memory ceiling (default: half the memory over the workers)

`check_settings()` lists this package's problems; `python -m app.startup_check` asks every package for
its own before Streamlit starts. The app reads DC_MAX_JOBS through `max_jobs_from_env()`.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Mapping

from models.core.job_backends import jobs_backend_from_env, worker_memory_mb_from_env

MAX_JOBS_ENV = "DC_MAX_JOBS"
MAX_JOBS_LIMIT = 64  # a toy-model job is one busy core: more than this is a typo


class SettingError(ValueError):
    """An environment variable holds a value the server cannot use (the message is one line)."""


def default_max_jobs(cores: int | None = None) -> int:
    """Half the cores (at least one): the other half serves the pages and the sessions' sampling."""
    return max(1, (cores or os.cpu_count() or 2) // 2)


def max_jobs_from_env(env: Mapping[str, str] | None = None) -> int:
    """DC_MAX_JOBS as a whole number from 1 to MAX_JOBS_LIMIT; unset or empty: `default_max_jobs()`."""
    env = os.environ if env is None else env
    text = env.get(MAX_JOBS_ENV, "").strip()
    if not text:
        return default_max_jobs()
    shown = text if len(text) <= 20 else text[:19] + "…"
    if not (text.isascii() and text.isdigit() and len(text) <= 4 and 1 <= int(text) <= MAX_JOBS_LIMIT):
        raise SettingError(f"{MAX_JOBS_ENV}={shown!r} is not a number of jobs: use a whole number from 1 to "
                           f"{MAX_JOBS_LIMIT}, or leave it unset for {default_max_jobs()} (half the cores)")
    return int(text)


def check_settings(env: Mapping[str, str] | None = None) -> list[str]:
    """Every problem with the job pool's settings, one line each (empty: all good)."""
    env = os.environ if env is None else env
    problems = []
    for check in (max_jobs_from_env, jobs_backend_from_env, worker_memory_mb_from_env):
        try:
            value = check(env)
        except ValueError as exc:  # SettingError included
            problems.append(str(exc))
            continue
        if check is jobs_backend_from_env and value.startswith("ray://") and importlib.util.find_spec("ray") is None:
            problems.append("DC_JOBS names a Ray cluster but Ray is not installed here: "
                            "pip install -r requirements-ray.txt (or leave DC_JOBS unset for worker processes)")
    return problems
