"""The server's DC_* settings, checked at start: a bad value is one line naming the variable, not a traceback.

    DC_MAX_JOBS        concurrent background jobs for the whole server (default: half the cores)
    DC_JOBS            where they run: unset = worker processes; "threads"; ray://HOST:PORT (a Ray cluster)
    DC_WORKER_MEMORY_MB  a training worker's memory ceiling (default: half the memory over the workers)
    DC_ALLOW_DOWNLOAD, DC_OUTPUT_DIR, DC_HF_CACHE, DC_PROMPTS_FILE, DC_PROMPTS_DIR, DC_TINY_DIR, DC_FLUX_MODEL
                       the FLUX engine's (models/flux/settings.py)

`python -m models.core.server_settings` checks them all and exits 2 with the first problem on one line
(run before `streamlit run`); the app reads DC_MAX_JOBS through `max_jobs_from_env()`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Mapping

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
    """Every problem with the DC_* settings, one line each (empty: all good)."""
    from models.flux.settings import SettingsError, load_settings

    env = os.environ if env is None else env
    problems = []
    try:
        max_jobs_from_env(env)
    except SettingError as exc:
        problems.append(str(exc))
    from models.core.job_backends import jobs_backend_from_env, worker_memory_mb_from_env

    for check in (jobs_backend_from_env, worker_memory_mb_from_env):
        try:
            backend = check(env)
        except ValueError as exc:
            problems.append(str(exc))
        else:
            if check is jobs_backend_from_env and backend.startswith("ray://"):
                problems += _ray_problems()
    try:
        load_settings(env)
    except SettingsError as exc:
        problems.append(str(exc))
    problems += _path_problems(env)
    return problems


def _ray_problems() -> list[str]:
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        return ["DC_JOBS names a Ray cluster but Ray is not installed here: "
                "pip install -r requirements-ray.txt (or leave DC_JOBS unset for worker processes)"]
    return []


def _path_problems(env: Mapping[str, str]) -> list[str]:
    """Paths that exist but are the wrong kind of thing (a file where a folder must be, ...)."""
    from models.flux import FluxError
    from models.flux.tiny import check_replaceable, is_tiny_pipeline

    problems = []
    for name in ("DC_OUTPUT_DIR", "DC_HF_CACHE"):
        path = _path(env, name)
        if path is not None and path.exists() and not path.is_dir():
            problems.append(f"{name}={str(path)!r} is a file: it must be a folder (or a path to create one)")
    prompts = _path(env, "DC_PROMPTS_FILE")
    if prompts is not None and prompts.is_dir():
        problems.append(f"DC_PROMPTS_FILE={str(prompts)!r} is a folder: it must be a .toml prompt file")
    elif prompts is not None and prompts.exists() and not prompts.is_file():
        problems.append(f"DC_PROMPTS_FILE={str(prompts)!r} is not a regular file: it must be a .toml prompt file")
    folder = _path(env, "DC_PROMPTS_DIR")
    if folder is not None and folder.exists() and not folder.is_dir():
        problems.append(f"DC_PROMPTS_DIR={str(folder)!r} is a file: it must be the folder that holds the prompt "
                        "files (DC_PROMPTS_FILE names one file)")
    tiny = _path(env, "DC_TINY_DIR")
    if tiny is not None and not is_tiny_pipeline(tiny):
        try:
            check_replaceable(tiny.resolve())
        except FluxError as exc:
            problems.append(f"DC_TINY_DIR={str(tiny)!r}: {exc}")
    return problems


def _path(env: Mapping[str, str], name: str) -> Path | None:
    value = env.get(name, "").strip()
    return Path(value).expanduser() if value else None


def main() -> int:
    problems = check_settings()
    if problems:
        extra = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        print(f"error: {problems[0]}{extra}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
