"""README.md is a front door: short, and its Layout section names the folders that are really there.

The layout is the first code block under `## Layout`. A line whose first word ends in `/` names a
folder, one ending in `.py` a file; two spaces of indent per level nest it under the line above.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MAX_LINES = 150
PACKAGE_ROOTS = ("models", "app")  # every package under these must be listed


def layout_block(text: str) -> list[str]:
    section = re.search(r"^## Layout\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert section, "README.md needs a '## Layout' section"
    block = re.search(r"^```[^\n]*\n(.*?)^```", section.group(1), re.M | re.S)
    assert block, "the Layout section needs a code block with the tree"
    return block.group(1).splitlines()


def listed_paths(lines: list[str]) -> set[str]:
    """The folders and files a layout block names, as paths relative to the repo root."""
    paths, stack = set(), []  # stack: (indent, folder path) of the enclosing folders
    for line in lines:
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        word = line.split()[0]
        if not (word.endswith("/") or word.endswith(".py")):
            continue  # a description wrapped onto its own line
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1] if stack else ""
        path = f"{parent}/{word.rstrip('/')}" if parent else word.rstrip("/")
        paths.add(path)
        if word.endswith("/"):
            stack.append((indent, path))
    return paths


def packages_under(root: str) -> set[str]:
    """Every folder under `root` (itself excluded) that holds a .py file of its own."""
    base = ROOT / root
    return {p.parent.relative_to(ROOT).as_posix() for p in base.rglob("*.py")
            if "__pycache__" not in p.parts and p.parent != base}


def tracked_top_level_folders() -> set[str] | None:
    try:
        out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0 or not out.stdout:
        return None
    return {line.split("/")[0] for line in out.stdout.splitlines()
            if "/" in line and not line.startswith(".")}


@pytest.fixture(scope="module")
def layout() -> set[str]:
    return listed_paths(layout_block(README.read_text(encoding="utf-8")))


def test_readme_is_short():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_LINES, f"README.md has {len(lines)} lines; move detail to docs/"


def test_every_listed_path_exists(layout):
    missing = sorted(p for p in layout if not (ROOT / p).exists())
    assert missing == [], f"README's Layout lists what is not there: {missing}"


@pytest.mark.parametrize("root", PACKAGE_ROOTS)
def test_every_package_is_listed(layout, root):
    unlisted = sorted(packages_under(root) - layout)
    assert unlisted == [], f"README's Layout misses these packages: {unlisted}"


def test_every_top_level_folder_is_listed(layout):
    folders = tracked_top_level_folders()
    if folders is None:
        pytest.skip("not a git checkout: no list of tracked folders")
    unlisted = sorted(folders - layout)
    assert unlisted == [], f"README's Layout misses these top-level folders: {unlisted}"


def test_the_parser_nests_by_indent():
    block = ["app/   the UI", "  main.py   nav", "  ui/   shared", "                wrapped text/",
             "models/", "  core/", "docs/"]
    assert listed_paths(block) == {"app", "app/main.py", "app/ui", "models", "models/core", "docs"}


def test_relative_links_resolve():
    """Every relative link in README.md and docs/*.md points at a file that is there."""
    broken = []
    for doc in [README, *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            if not (doc.parent / target.split("#")[0]).exists():
                broken.append(f"{doc.relative_to(ROOT)} → {target}")
    assert broken == []
