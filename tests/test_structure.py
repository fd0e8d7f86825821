"""The project's shape, checked from the source: app/ does no torch math, and no engine file grows past one
idea's size. Imports (layers, circles, no streamlit in models/) are tests/test_layers.py's."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_MODEL_LINES = 500


def test_app_holds_no_torch_math():
    pattern = re.compile(r"torch\.(randn|rand|randint|randperm|optim|no_grad|meshgrid|linspace|stack)\b|\.backward\(|"
                         r"import torch\b|from torch\b")
    offenders = []
    for path in (ROOT / "app").rglob("*.py"):
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line) and "the import is the work" not in line:
                offenders.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    assert offenders == []


def test_no_engine_file_is_over_500_lines():
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / "models").rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODEL_LINES}
    assert long == {}


def test_score_lab_session_glue_stays_small():
    assert len((ROOT / "app" / "score_lab" / "session.py").read_text(encoding="utf-8").splitlines()) <= 220
