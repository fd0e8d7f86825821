"""Settings of the FLUX engine, read once from the environment (DC_* variables) with safe defaults.

The defaults work on a laptop with no GPU and no internet: `model="auto"` uses the real
FLUX.1-schnell if it is already in the Hugging Face cache, else the tiny demo pipeline.
`check_settings()` lists every problem with them for the start-up check (`python -m app.startup_check`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from models.flux import FluxError
from models.flux.tiny import check_replaceable, is_tiny_pipeline

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHNELL_REPO_ID = "black-forest-labs/FLUX.1-schnell"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def default_hf_cache() -> Path:
    """The Hugging Face hub cache folder (honours HF_HOME / HF_HUB_CACHE like huggingface_hub does)."""
    try:
        from huggingface_hub import constants

        return Path(constants.HF_HUB_CACHE)
    except ImportError:  # hub missing: same rule, computed by hand
        home = os.environ.get("HF_HOME", os.path.join(os.path.expanduser("~"), ".cache", "huggingface"))
        return Path(os.environ.get("HF_HUB_CACHE", os.path.join(home, "hub")))


@dataclass(frozen=True)
class FluxSettings:
    """Where the weights, the images and the prompt file are, and whether downloads are allowed.

    model: a folder path, a HF repo id, "tiny" (demo pipeline) or "auto" (schnell if cached, else tiny).
    """

    model: str = "auto"
    output_dir: Path = REPO_ROOT / "outputs"
    tiny_dir: Path = REPO_ROOT / ".cache" / "tiny-flux"
    allow_download: bool = False
    cache_dir: Path | None = None  # None: the Hugging Face default (load_settings fills it in)
    prompts_file: Path = REPO_ROOT / "prompts" / "part1.toml"

    @property
    def resolved_cache_dir(self) -> Path:
        return Path(self.cache_dir) if self.cache_dir is not None else default_hf_cache()


class SettingsError(FluxError, ValueError):
    """An environment variable holds a value we cannot use."""


def _env_bool(name: str, value: str) -> bool:
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise SettingsError(f"{name}={value!r} is not a yes/no value: use 1 or 0")


def load_settings(env: Mapping[str, str] | None = None) -> FluxSettings:
    """Read FluxSettings from `env` (default: os.environ). Unset or empty variables keep the default.

    DC_FLUX_MODEL, DC_OUTPUT_DIR, DC_TINY_DIR, DC_ALLOW_DOWNLOAD (1/0), DC_HF_CACHE (else HF_HUB_CACHE /
    HF_HOME as huggingface_hub reads them), DC_PROMPTS_FILE.
    """
    env = os.environ if env is None else env
    d = FluxSettings()

    def path(name: str, default: Path) -> Path:
        value = env.get(name, "").strip()
        return Path(value).expanduser() if value else default

    cache = env.get("DC_HF_CACHE", "").strip()
    return FluxSettings(
        model=env.get("DC_FLUX_MODEL", "").strip() or d.model,
        output_dir=path("DC_OUTPUT_DIR", d.output_dir),
        tiny_dir=path("DC_TINY_DIR", d.tiny_dir),
        allow_download=_env_bool("DC_ALLOW_DOWNLOAD", env.get("DC_ALLOW_DOWNLOAD", "")),
        cache_dir=Path(cache).expanduser() if cache else default_hf_cache(),
        prompts_file=path("DC_PROMPTS_FILE", d.prompts_file),
    )


def check_settings(env: Mapping[str, str] | None = None) -> list[str]:
    """Every problem with the engine's settings, one line each (empty: all good)."""
    env = os.environ if env is None else env
    problems = []
    try:
        load_settings(env)
    except SettingsError as exc:
        problems.append(str(exc))
    return problems + _path_problems(env)


def _path_problems(env: Mapping[str, str]) -> list[str]:
    """Paths that exist but are the wrong kind of thing (a file where a folder must be, ...)."""
    def path(name: str) -> Path | None:
        value = env.get(name, "").strip()
        return Path(value).expanduser() if value else None

    problems = []
    for name in ("DC_OUTPUT_DIR", "DC_HF_CACHE"):
        folder = path(name)
        if folder is not None and folder.exists() and not folder.is_dir():
            problems.append(f"{name}={str(folder)!r} is a file: it must be a folder (or a path to create one)")
    prompts = path("DC_PROMPTS_FILE")
    if prompts is not None and prompts.is_dir():
        problems.append(f"DC_PROMPTS_FILE={str(prompts)!r} is a folder: it must be a .toml prompt file")
    elif prompts is not None and prompts.exists() and not prompts.is_file():
        problems.append(f"DC_PROMPTS_FILE={str(prompts)!r} is not a regular file: it must be a .toml prompt file")
    folder = path("DC_PROMPTS_DIR")
    if folder is not None and folder.exists() and not folder.is_dir():
        problems.append(f"DC_PROMPTS_DIR={str(folder)!r} is a file: it must be the folder that holds the prompt "
                        "files (DC_PROMPTS_FILE names one file)")
    tiny = path("DC_TINY_DIR")
    if tiny is not None and not is_tiny_pipeline(tiny):
        try:
            check_replaceable(tiny.resolve())
        except FluxError as exc:
            problems.append(f"DC_TINY_DIR={str(tiny)!r}: {exc}")
    return problems


# An absolute or home path in a message: starts with / or ~/ where no word, URL or number goes on.
_SERVER_PATH = re.compile(r"""(?<![\w.:/~-])(~?/[^\s'"()<>`,;]+)""")


def public_text(text: str) -> str:
    """`text` with every server path cut to its last part (`/srv/hf/hub` -> `…/hub`), for a page the class
    sees: where the server keeps its caches and weights is not theirs to know. URLs and repo ids stay."""
    def short(match: re.Match) -> str:
        path = match.group(1).rstrip(".:")
        tail = match.group(1)[len(path):]
        name = Path(path).name
        return (f"…/{name}" if name else "…") + tail
    return _SERVER_PATH.sub(short, str(text))


def public_model_id(model_id: str) -> str:
    """A model id as a page shows it: a repo id as is, a weights folder by its name only."""
    text = str(model_id)
    return f"folder {Path(text).name}" if text.startswith(("/", "~")) else text
