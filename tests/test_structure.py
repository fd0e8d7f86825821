"""The project's shape, checked from the source: models/ is UI-free and has no import circles,
app/ does no torch math, and no engine file grows past one idea's size."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_MODEL_LINES = 500


def _modules(package: str) -> dict[str, Path]:
    base = ROOT / package
    out = {}
    for path in sorted(base.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, is_package: bool) -> set[str]:
    """Every module `name` imports (module level or inside functions), relative imports resolved."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)  # `from pkg import module`
    return found


def test_models_never_import_streamlit():
    offenders = [name for name, path in _modules("models").items()
                 if any(m == "streamlit" or m.startswith("streamlit.")
                        for m in _imports(name, path, path.name == "__init__.py"))]
    assert offenders == []


def test_no_import_circles_in_models():
    modules = _modules("models")
    graph = {name: {m for m in _imports(name, path, path.name == "__init__.py") if m in modules and m != name}
             for name, path in modules.items()}

    def cycle_from(start: str) -> list[str] | None:
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    return path + [start]
                if nxt not in seen and not start.startswith(nxt + "."):  # a package's own __init__ is not a circle
                    seen.add(nxt)
                    stack.append((nxt, path + [nxt]))
        return None

    circles = [c for c in map(cycle_from, graph) if c]
    assert circles == [], circles


def test_the_circle_check_can_see_a_circle(tmp_path):
    (tmp_path / "a.py").write_text("from .b import x\n")
    (tmp_path / "b.py").write_text("def f():\n    from .a import y\n")
    assert "pkg.b" in _imports("pkg.a", tmp_path / "a.py", False)
    assert "pkg.a" in _imports("pkg.b", tmp_path / "b.py", False)


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
