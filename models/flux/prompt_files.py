"""Several prompt files: one per lecture, or one per student's submission.

The gallery offers every `*.toml` in `prompts/` and in the folder DC_PROMPTS_DIR (when set), plus
DC_PROMPTS_FILE itself; each file has its own images (those of its prompts), handout and zip.
"New file from template" writes a small valid file that never replaces an existing one.
"""

from __future__ import annotations

import os
import tempfile
import unicodedata
from pathlib import Path

from models.flux import FluxError
from models.flux.prompt_schema import slugify
from models.flux.settings import REPO_ROOT, FluxSettings

PROMPTS_DIR = REPO_ROOT / "prompts"
PROMPTS_DIR_ENV = "DC_PROMPTS_DIR"
MAX_LISTED = 200  # a folder of submissions stays a usable list

TEMPLATE = '''# {title}: a prompt file of Diffusion Classroom (see prompts/README.md for every key).
# Check it after editing:  python -m models.flux check {name}

title = "{title}"

[defaults]
model = "black-forest-labs/FLUX.1-schnell"
steps = 4
width = 1024
height = 1024
guidance_scale = 0.0
max_sequence_length = 256
seed_policy = "fixed"

[[sections]]
id = "first-section"
title = "First section"
commentary = """
What this section shows, in Markdown.
"""

[[sections.prompts]]
id = "first-prompt"
text = "a watercolor lighthouse on a cliff at dawn"
seed = 42
commentary = """
What to look for in this image.
"""
'''


class PromptFilesError(FluxError):
    """A new prompt file cannot be made (bad name, already there, folder not writable)."""


def prompt_folders(env: dict | None = None) -> list[Path]:
    """prompts/ and, when set, DC_PROMPTS_DIR (in that order, without duplicates)."""
    env = os.environ if env is None else env
    folders = [PROMPTS_DIR]
    extra = env.get(PROMPTS_DIR_ENV, "").strip()
    if extra:
        folders.append(Path(extra).expanduser())
    seen, out = set(), []
    for folder in folders:
        key = folder.resolve()
        if key not in seen:
            seen.add(key)
            out.append(folder)
    return out


def _inside(path: Path, folder: Path) -> bool:
    """Is `path`, links followed, a regular file inside `folder` (links followed too)?

    A student's submission archive may hold symlinks (unzip and tar restore them): a link to
    /proc/self/environ or /etc/passwd must never be offered, read or shown.
    """
    try:
        return path.resolve().is_relative_to(folder.resolve()) and path.is_file()
    except (OSError, RuntimeError):  # a link loop, a folder we cannot read
        return False


def list_prompt_files(settings: FluxSettings, env: dict | None = None) -> list[Path]:
    """settings.prompts_file first, then every other *.toml of the prompt folders, sorted by name.

    A file of a folder is listed only when it stays inside that folder once links are followed.
    """
    found = [Path(settings.prompts_file)]
    seen = {found[0].resolve()}
    for folder in prompt_folders(env):
        try:
            names = sorted(p for p in folder.glob("*.toml") if not p.name.startswith(".") and _inside(p, folder))
        except OSError:  # a folder we cannot read: nothing from it
            continue
        for path in names[:MAX_LISTED]:
            if path.resolve() not in seen:
                seen.add(path.resolve())
                found.append(path)
    return found


def is_allowed_prompt_file(path: str | os.PathLike, settings: FluxSettings, env: dict | None = None) -> bool:
    """May the gallery read `path`? The settings' own file, or a *.toml inside a prompt folder (links
    followed: a link out of the folder is refused)."""
    path = Path(path)
    try:
        if path.resolve() == Path(settings.prompts_file).resolve():
            return True
    except (OSError, RuntimeError):
        return False
    return path.suffix == ".toml" and not path.name.startswith(".") and any(
        path.parent.resolve() == folder.resolve() and _inside(path, folder) for folder in prompt_folders(env))


def display_name(path: str | os.PathLike) -> str:
    """How a page names a prompt file: prompts/ files by name, others as <folder>/<name> (two part1.toml
    must not look the same); never the server's full path."""
    path = Path(path)
    try:
        in_prompts = path.parent.resolve() == PROMPTS_DIR.resolve()
    except (OSError, RuntimeError):
        in_prompts = False
    return path.name if in_prompts or not path.parent.name else f"{path.parent.name}/{path.name}"


def new_prompt_file(folder: str | os.PathLike, title: str) -> Path:
    """Write a new prompt file named after `title` in `folder` from TEMPLATE; never replaces a file."""
    title = " ".join(str(title).split())
    stem = slugify(title, fallback="")
    if not title or not stem:
        raise PromptFilesError("Give the new file a title (letters or digits).")
    if '"' in title or "\\" in title:
        raise PromptFilesError("A title cannot contain quotes or backslashes.")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in title):  # TOML refuses them: the file would not parse
        raise PromptFilesError("A title cannot contain a control character.")
    path = Path(folder).expanduser() / f"{stem}.toml"
    if path.exists():
        raise PromptFilesError(f"{path.name} already exists: pick another title.")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(TEMPLATE.format(title=title, name=path.name))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        try:  # a link appears whole, and fails if the name appeared meanwhile: never replaces a file
            os.link(tmp, path)
        except FileExistsError:
            raise PromptFilesError(f"{path.name} already exists: pick another title.") from None
    finally:
        os.unlink(tmp)
    return path
