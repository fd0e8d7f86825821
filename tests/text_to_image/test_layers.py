"""models/text_to_image stands on models.lab and models.core only: no other family, no streamlit."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "models" / "text_to_image"


def test_imports_only_lab_core_and_its_own_modules():
    bad = []
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            for name in names:
                if name.startswith("models.") and not name.startswith(("models.lab", "models.core")) \
                        or name.split(".")[0] in ("streamlit", "sklearn", "scipy", "app"):
                    bad.append(f"{path.name}: {name}")
    assert bad == []
