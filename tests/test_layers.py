"""The layers, checked from the source: app and models.toy2d (the entries) → the families (score, flow, flux,
text_to_image) → models.lab → models.core. An import may only go down; never sideways between two
families (or two entries); and a private name (`_x`) is never imported from another package. Within
models/ there are no import circles between modules either, and no streamlit.

`import_problems(root)` reads every module under root/app and root/models (imports at module level
and inside functions alike) and returns one line per problem, so the tests below can run it on the
tree and on a copy with a violation planted in it.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# package → layer: an import may only reach a lower layer, or its own package
LAYERS = {"app": 3, "models.toy2d": 3,
          "models.score": 2, "models.flow": 2, "models.flux": 2, "models.text_to_image": 2,
          "models.lab": 1, "models.core": 0}
# A package's `__main__` is an entry though it lives lower down (`python -m models.score` runs the 2-D
# lab's command line, models.toy2d); no other module is exempt.


def modules(root: Path) -> dict[str, Path]:
    out = {}
    for top in ("app", "models"):
        for path in sorted((root / top).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def imports(name: str, path: Path) -> list[tuple[str, list[str], int]]:
    """(module, names taken from it, line) for every import in the file; relative imports resolved."""
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((module, [alias.name for alias in node.names], node.lineno))
    return found


def package_of(module: str) -> str | None:
    """The layered package a module belongs to (None: outside them, e.g. torch or `models` itself)."""
    best = None
    for package in LAYERS:
        if (module == package or module.startswith(package + ".")) and (best is None or len(package) > len(best)):
            best = package
    return best


def import_problems(root: Path) -> list[str]:
    problems = []
    known = modules(root)
    for name, path in known.items():
        own = package_of(name)
        if own is None:
            continue
        entry = name.endswith(".__main__")
        layer = 3 if entry else LAYERS[own]
        where = f"{path.relative_to(root)}"
        for module, names, line in imports(name, path):
            # `from models.score import run` names a module: judge the module it names
            targets = [f"{module}.{n}" if f"{module}.{n}" in known else module for n in names] or [module]
            for target in set(targets):
                other = package_of(target)
                if other is None or other == own:
                    continue
                if other == "app" and own != "app":
                    problems.append(f"{where}:{line}: {name} imports {target}: models never import app")
                elif LAYERS[other] > layer:
                    problems.append(f"{where}:{line}: {name} imports {target}, a layer above it")
                elif LAYERS[other] == layer and not entry:
                    problems.append(f"{where}:{line}: {name} imports {target}: {own} and {other} are siblings")
            if package_of(module) not in (None, own):
                private = [n for n in names if n.startswith("_") and not n.startswith("__")]
                if private:
                    problems.append(f"{where}:{line}: {name} imports the private {', '.join(private)} of {module}")
    return problems


def test_every_import_goes_down_the_layers():
    assert import_problems(ROOT) == []


def test_the_checker_sees_each_kind_of_violation(tmp_path):
    def write(relative: str, text: str) -> None:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    for package in ("models", "models/core", "models/lab", "models/score", "models/flow", "models/toy2d", "app"):
        write(f"{package}/__init__.py", "")
    write("models/core/errors.py", "class InputError(ValueError): ...\n")
    write("models/lab/checks.py", "from models.core.errors import InputError\n_SECRET = 1\n"
                                  "def late():\n    from models.score import trainer\n")       # up
    write("models/score/trainer.py", "from models.lab.checks import _SECRET\n")               # private
    write("models/flow/run.py", "from models.score.trainer import x\n")                       # sideways
    write("models/toy2d/cli.py", "from models.score import trainer\nfrom models.flow import run\n")  # fine
    write("models/score/__main__.py", "from models.toy2d.cli import main\n")                  # an entry: fine
    write("models/core/jobs.py", "import app.main\n")                                         # models → app
    write("app/main.py", "from models.toy2d import cli\n")                                    # sideways entries
    problems = import_problems(tmp_path)
    assert len(problems) == 5, problems
    assert any("models.lab.checks imports models.score.trainer, a layer above it" in p for p in problems)
    assert any("imports the private _SECRET of models.lab.checks" in p for p in problems)
    assert any("models.flow and models.score are siblings" in p for p in problems)
    assert any("models never import app" in p for p in problems)
    assert any("app and models.toy2d are siblings" in p for p in problems)


def test_the_checker_sees_a_violation_planted_in_a_copy_of_this_tree(tmp_path):
    for top in ("app", "models"):
        shutil.copytree(ROOT / top, tmp_path / top, ignore=shutil.ignore_patterns("__pycache__"))
    lab = tmp_path / "models" / "lab" / "metrics.py"
    lab.write_text(lab.read_text(encoding="utf-8") + "\n\ndef planted():\n    from models.flow import run\n",
                   encoding="utf-8")
    flow = tmp_path / "models" / "flow" / "exact.py"
    flow.write_text(flow.read_text(encoding="utf-8") + "\nfrom models.score.checkpoints import ScoreModel\n",
                    encoding="utf-8")
    core = tmp_path / "models" / "core" / "server_settings.py"  # core checking a family's settings itself
    core.write_text(core.read_text(encoding="utf-8") + "\n\ndef planted():\n    from models.flux import settings\n",
                    encoding="utf-8")
    problems = import_problems(tmp_path)
    assert len(problems) == 3, problems
    assert any("models.lab.metrics imports models.flow.run, a layer above it" in p for p in problems)
    assert any("models.flow and models.score are siblings" in p for p in problems)
    assert any("models.core.server_settings imports models.flux.settings, a layer above it" in p for p in problems)


def _models_graph(root: Path) -> dict[str, set[str]]:
    known = {name: path for name, path in modules(root).items() if name.startswith("models")}
    graph = {}
    for name, path in known.items():
        targets = set()
        for module, names, _ in imports(name, path):
            targets.add(module)
            targets.update(f"{module}.{n}" for n in names)  # `from pkg import module`
        graph[name] = {t for t in targets if t in known and t != name}
    return graph


def import_circles(root: Path) -> list[list[str]]:
    graph = _models_graph(root)

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

    return [c for c in map(cycle_from, graph) if c]


def test_no_import_circles_in_models():
    circles = import_circles(ROOT)
    assert circles == [], circles


def test_the_circle_check_can_see_a_circle(tmp_path):
    (tmp_path / "models" / "lab").mkdir(parents=True)
    (tmp_path / "models" / "lab" / "a.py").write_text("from .b import x\n")
    (tmp_path / "models" / "lab" / "b.py").write_text("def f():\n    from .a import y\n")
    assert import_circles(tmp_path)


def test_models_never_import_streamlit():
    offenders = [name for name, path in modules(ROOT).items() if name.startswith("models")
                 and any(m.split(".")[0] == "streamlit" for m, _, _ in imports(name, path))]
    assert offenders == []
