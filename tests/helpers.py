"""Helpers the test files share: plain functions, so fixtures of any scope can use them (the fixtures
built on them are in tests/conftest.py).

* command lines: `run_module` (a fresh interpreter, as a user runs it) and `run_python`;
* pages: `open_page` / `new_session` open the app in Streamlit's AppTest; every app opened here
  has its background jobs cancelled after the test (tests/conftest.py), so no job outlives it;
* what a page shows: `charts`, `chart`, `chart_rows`, `metric`; and `wait_for` a condition;
* inputs several folders build: `quick_score_run`, and `canvas_stroke` / `canvas_dot` (the drawing
  canvas's objects). The FLUX engine's builders (PNGs, a tiny pipeline) are in tests/flux_fixtures.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
MAIN = str(ROOT / "app" / "main.py")
PAGE_TIMEOUT = 120  # s: a cap for one script run of a page, not an expected time


# ----------------------------------------------------------------------------- command lines

def run_module(module: str, *args, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m module *args` in a fresh interpreter at the repository root (text, captured).

    A traceback never reaches a user of the command line, so one on stderr fails the test."""
    run = subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=timeout)
    assert "Traceback" not in run.stderr, run.stderr
    return run


def run_python(code: str, *args, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -c code *args` in a fresh interpreter at the repository root (text, captured): for what
    only a new process shows (which modules an import pulls in, start-up checks)."""
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def clean_env(**extra: str) -> dict:
    """This process's environment without any DC_* setting, plus `extra`."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("DC_")}, **extra}


# ----------------------------------------------------------------------------- pages (AppTest)

OPENED: list = []  # every AppTest opened here since the last test ended (tests/conftest.py empties it)


def new_session(*, query: dict | None = None, timeout: float = PAGE_TIMEOUT):
    """A new browser session of the app (not yet run): as after a reload, only the URL's `query` survives."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(MAIN, default_timeout=timeout)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    OPENED.append(at)
    return at


def open_page(page: str, *, query: dict | None = None, timeout: float = PAGE_TIMEOUT, **session_state):
    """A new session opened straight at `page` ("views/<name>.py"), as a link with `query` opens it,
    with `session_state` set before the page's first run; fails on any exception the page shows."""
    at = new_session(query=query, timeout=timeout)
    at.switch_page(page)
    for key, value in session_state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def cancel_jobs(at) -> None:
    """Cancel (and wait for) every background job the session holds, directly or on a run it keeps."""
    from models.core.jobs import Job

    def jobs(value):
        if isinstance(value, Job):
            yield value
        elif isinstance(value, dict):
            for item in value.values():
                yield from jobs(item)
        elif isinstance(getattr(value, "job", None), Job):
            yield value.job

    for key in list(at.session_state):
        for job in jobs(at.session_state[key]):
            job.cancel()
            job.wait(30)


def charts(at) -> list[dict]:
    """Every Vega-Lite chart on the page: its spec, its title(s), its Arrow data rows and its inline rows."""
    import pyarrow as pa

    out = []
    for element in at.get("vega_lite_chart"):
        spec = json.loads(element.proto.spec)
        layers = spec.get("layer", [])
        titles = [str(t) for t in [spec.get("title")] + [layer.get("title") for layer in layers] if t]
        rows = [row for ds in element.proto.datasets
                for row in pa.ipc.open_stream(ds.data.data).read_all().to_pylist()]
        inline_rows = [row for layer in layers for row in layer.get("data", {}).get("values", [])]
        out.append({"spec": spec, "titles": titles, "rows": rows, "inline_rows": inline_rows})
    return out


def chart(at, title: str) -> dict:
    """The first chart whose title (or a layer's title) starts with `title`."""
    found = [c for c in charts(at) if any(t.startswith(title) for t in c["titles"])]
    assert found, f"no chart titled {title!r}: {[c['titles'] for c in charts(at)]}"
    return found[0]


def chart_rows(at, title: str) -> list[dict]:
    """The data rows of the chart titled `title` (see `chart`)."""
    return chart(at, title)["rows"]


def metric(at, label: str) -> str:
    """The value of the first metric whose label starts with `label`."""
    found = [m.value for m in at.metric if m.label.startswith(label)]
    assert found, f"no metric starting with {label!r}: {[m.label for m in at.metric]}"
    return found[0]


def wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> bool:
    """Poll `condition` every 50 ms until it holds (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


# ----------------------------------------------------------------------------- inputs several folders build

def quick_score_run(steps: int = 60, **config):
    """A small, untrained Score lab run on 2,000 points of 8-gaussians (`config`: training_config's options)."""
    from models.lab.datasets import DatasetSpec, training_data
    from models.score import run as training_run

    cfg = training_run.training_config(steps=steps, **config)
    return training_run.TrainingRun(data=training_data(DatasetSpec.builtin("8-gaussians"), 2000, 0), config=cfg)


def canvas_stroke(x0, y0, x1, y1, pieces=10, **placement):
    """A straight free-hand stroke as Fabric sends it: M then Q segments, placed by its box centre."""
    import numpy as np

    xs, ys = np.linspace(x0, x1, pieces + 1), np.linspace(y0, y1, pieces + 1)
    path = [["M", x0, y0]] + [["Q", xs[i], ys[i], (xs[i] + xs[i + 1]) / 2, (ys[i] + ys[i + 1]) / 2]
                               for i in range(pieces)] + [["L", x1, y1]]
    obj = {"type": "Path", "originX": "center", "originY": "center", "left": (x0 + x1) / 2, "top": (y0 + y1) / 2,
           "width": abs(x1 - x0), "height": abs(y1 - y0), "strokeWidth": 4, "scaleX": 1, "scaleY": 1, "angle": 0,
           "path": path}
    obj.update(placement)
    return obj


def canvas_dot(x, y):
    """A clicked point at canvas pixel (x, y), as the canvas stores it."""
    return {"type": "Circle", "originX": "left", "originY": "center", "left": x - 5, "top": y, "radius": 3,
            "width": 6, "height": 6, "strokeWidth": 4, "scaleX": 1, "scaleY": 1, "angle": 0}
