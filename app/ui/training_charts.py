"""Altair charts of a training run: loss, per-σ loss and speed, each against the step.

Pure functions (no `st.*`): history rows from `Trainer.state.history` in, charts out.
Every builder keeps at most `MAX_ROWS` history rows (evenly thinned, the latest row
always kept) and drops non-finite values: NaN is not valid JSON and Vega would
silently draw nothing.

Each chart is a Vega-Lite dict (`loss_spec(...)` etc.), because the live panel redraws
it every second while a job trains. Building and validating an Altair chart costs
20–60 ms of Python, which would steal the GIL from the training thread; so the Altair
chart is built once per shape (cached) and only the rows are swapped in (~1 ms).
"""

from __future__ import annotations

import functools
import json
import math
from typing import Sequence

import altair as alt
import numpy as np

from app.ui.chart_specs import vega_lite
from app.ui.charts import FIT_WIDTH, square_scales

MAX_ROWS = 300
FLOOR_LABEL = "floor of the training set (a memorizing network)"
LOSS_LABEL = "training loss"
LOSS_COLOR = "#1f77b4"
FLOOR_COLOR = "#444444"
WIDTH, HEIGHT = "container", 280  # as wide as the column (see app/ui/charts.py FIT_WIDTH), plot height
DATA = "rows"  # the named dataset a spec-form chart reads


def thin(rows: Sequence[dict], max_rows: int = MAX_ROWS) -> list[dict]:
    """At most max_rows rows, evenly spread over the run; first and last always kept."""
    rows = list(rows)
    if len(rows) <= max_rows:
        return rows
    keep = np.unique(np.linspace(0, len(rows) - 1, max_rows).round().astype(int))
    return [rows[i] for i in keep]


def _finite(v) -> bool:
    return v is not None and isinstance(v, (int, float)) and math.isfinite(v)


def sigma_label(sigma: float) -> str:
    """One legend entry per noise level, e.g. 'σ = 0.0375'."""
    return f"σ = {sigma:.3g}"


def _template(chart: alt.TopLevelMixin) -> str:
    spec = vega_lite(chart)  # the chart reads the named dataset DATA, filled in per redraw by `_spec`
    # Redrawn every second: a canvas repaints far faster than SVG rebuilding a node per point.
    spec["usermeta"] = {"embedOptions": {"renderer": "canvas"}}
    return json.dumps(spec)


def _spec(template: str, rows: list[dict]) -> dict:
    spec = json.loads(template)
    spec["datasets"] = {DATA: rows}
    return spec


# ----------------------------------------------------------------------------- loss

def loss_rows(history: Sequence[dict], floor: float | None = None, max_rows: int = MAX_ROWS) -> list[dict]:
    """(step, loss, series) rows of the loss and of its floor (a flat line across the steps so far)."""
    rows = [{"step": r["step"], "loss": float(r["loss"]), "series": LOSS_LABEL}
            for r in thin(history, max_rows) if _finite(r.get("loss"))]
    if rows and _finite(floor):
        rows += [{"step": rows[0]["step"], "loss": float(floor), "series": FLOOR_LABEL},
                 {"step": rows[-1]["step"], "loss": float(floor), "series": FLOOR_LABEL}]
    return rows


def _loss_chart(data, with_floor: bool, title: str, y_title: str, width: int | str, height: int) -> alt.Chart:
    series = [LOSS_LABEL] + ([FLOOR_LABEL] if with_floor else [])
    # one entry per line, never shortened: FLOOR_LABEL must stay whole; above the plot, where it is on
    # screen together with the curve it explains (presentation mode on a 1024×768 projector)
    legend = alt.Legend(title=None, orient="top", direction="vertical", labelLimit=0, offset=4, padding=0,
                        rowPadding=2)
    return alt.Chart(data).mark_line(clip=True).encode(
        x=alt.X("step:Q", title="step"),
        y=alt.Y("loss:Q", title=y_title, scale=alt.Scale(zero=False)),
        color=alt.Color("series:N", scale=alt.Scale(domain=series, range=[LOSS_COLOR, FLOOR_COLOR][:len(series)]),
                        legend=legend),
        # the same legend as the colour, so Vega merges them and the floor's entry is dashed too
        strokeDash=alt.StrokeDash("series:N", scale=alt.Scale(domain=series, range=[[1, 0], [6, 4]][:len(series)]),
                                  legend=legend),
        tooltip=["series:N", "step:Q", alt.Tooltip("loss:Q", format=".4f")],
    ).properties(title=title, width=width, height=height, autosize=FIT_WIDTH)


@functools.lru_cache(maxsize=32)
def _loss_template(with_floor: bool, title: str, y_title: str, width: int | str, height: int) -> str:
    return _template(_loss_chart(alt.NamedData(name=DATA), with_floor, title, y_title, width, height))


def loss_spec(history: Sequence[dict], floor: float | None = None, *, title: str = "Loss",
              y_title: str = "loss", width: int | str = WIDTH, height: int = HEIGHT) -> dict:
    """Mean loss per logging window, with the Bayes-optimal floor as a dashed horizontal line."""
    return _spec(_loss_template(_finite(floor), title, y_title, width, height), loss_rows(history, floor))


# ----------------------------------------------------------------------------- loss per σ

def per_sigma_rows(history: Sequence[dict], sigmas: Sequence[float], floors: Sequence[float | None] | None = None,
                   max_rows: int = MAX_ROWS // 3) -> list[dict]:
    """(step, loss, sigma, level, kind) rows: one line per level, and each level's floor (kind 'floor')."""
    sigmas = [float(s) for s in sigmas]
    labels = [sigma_label(s) for s in sigmas]
    out = []
    rows = [r for r in thin(history, max_rows) if r.get("per_sigma") is not None]
    for r in rows:
        for i, v in enumerate(r["per_sigma"][:len(sigmas)]):
            if _finite(v):
                out.append({"step": r["step"], "loss": float(v), "sigma": labels[i], "level": i + 1, "kind": "loss"})
    if rows and floors is not None:
        x0, x1 = rows[0]["step"], rows[-1]["step"]
        for i, f in enumerate(list(floors)[:len(sigmas)]):
            if _finite(f):
                out += [{"step": x, "loss": float(f), "sigma": labels[i], "level": i + 1, "kind": "floor"}
                        for x in (x0, x1)]
    return out


def _per_sigma_chart(data, order: tuple[str, ...], title: str, width: int | str, height: int) -> alt.Chart:
    order = list(order)
    color = alt.Color("sigma:N", sort=order, scale=alt.Scale(domain=order, scheme="viridis"),
                      # below the plot, as many columns as fit its width: the plot (and the title
                      # above it) keep the column's whole width
                      legend=alt.Legend(title="noise level", orient="bottom", labelLimit=120, symbolSize=60,
                                        rowPadding=1, columns=alt.ExprRef("max(1, floor(width / 100))")))
    return alt.Chart(data).mark_line(clip=True).encode(
        x=alt.X("step:Q", title="step"),
        y=alt.Y("loss:Q", title="loss at this σ", scale=alt.Scale(zero=False)),
        color=color,
        detail="kind:N",
        strokeDash=alt.StrokeDash("kind:N", scale=alt.Scale(domain=["loss", "floor"], range=[[1, 0], [4, 3]]),
                                  legend=None),
        opacity=alt.Opacity("kind:N", scale=alt.Scale(domain=["loss", "floor"], range=[1.0, 0.6]), legend=None),
        tooltip=["sigma:N", "kind:N", "step:Q", alt.Tooltip("loss:Q", format=".4f")],
    ).properties(title=title, width=width, height=height, autosize=FIT_WIDTH)


@functools.lru_cache(maxsize=32)
def _per_sigma_template(order: tuple[str, ...], title: str, width: int | str, height: int) -> str:
    return _template(_per_sigma_chart(alt.NamedData(name=DATA), order, title, width, height))


def per_sigma_spec(history: Sequence[dict], sigmas: Sequence[float], floors: Sequence[float | None] | None = None,
                   *, title: str = "Loss per noise level (dashed: floors)",
                   width: int | str = WIDTH, height: int = HEIGHT) -> dict:
    order = tuple(sigma_label(float(s)) for s in sigmas)
    return _spec(_per_sigma_template(order, title, width, height), per_sigma_rows(history, sigmas, floors))


# ----------------------------------------------------------------------------- speed

RATE_WINDOW_S = 5.0  # the live "steps / s": over about this much of the latest training time


def recent_rate(history: Sequence[dict], seconds: float = RATE_WINDOW_S) -> float | None:
    """Steps per second over the latest `seconds` of training, measured as the run's final average is
    (its steps ÷ the time they took, models/lab/training.py TrainState.seconds): whole log windows,
    newest first, until they cover `seconds`. A window's time is its steps ÷ its rate. The last window
    alone (a few hundred ms) jumps with every pause of the thread: it read 293 while the run averaged 80.
    None before the first window."""
    steps = spent = 0.0
    for i in range(len(history) - 1, -1, -1):
        row, before = history[i], history[i - 1]["step"] if i > 0 else 0
        rate = row.get("steps_per_second")
        if not _finite(rate) or rate <= 0 or row["step"] <= before:
            continue
        steps += row["step"] - before
        spent += (row["step"] - before) / rate
        if spent >= seconds:
            break
    return steps / spent if spent > 0 else None


def speed_rows(history: Sequence[dict], max_rows: int = MAX_ROWS) -> list[dict]:
    return [{"step": r["step"], "steps_per_second": float(r["steps_per_second"])}
            for r in thin(history, max_rows) if _finite(r.get("steps_per_second"))]


def _speed_chart(data, title: str, width: int | str, height: int) -> alt.Chart:
    return alt.Chart(data).mark_line(color="#2ca02c", clip=True).encode(
        x=alt.X("step:Q", title="step"),
        y=alt.Y("steps_per_second:Q", title="steps / s"),
        tooltip=["step:Q", alt.Tooltip("steps_per_second:Q", format=".0f")],
    ).properties(title=title, width=width, height=height, autosize=FIT_WIDTH)


@functools.lru_cache(maxsize=8)
def _speed_template(title: str, width: int | str, height: int) -> str:
    return _template(_speed_chart(alt.NamedData(name=DATA), title, width, height))


def speed_spec(history: Sequence[dict], *, title: str = "Training speed", width: int | str = WIDTH,
               height: int = 180) -> dict:
    return _spec(_speed_template(title, width, height), speed_rows(history))



# ----------------------------------------------------------------------------- live samples

SAMPLES_COLOR, DATA_COLOR = "#e4572e", "#c8c8c8"


def samples_rows(points, label: str = "samples", max_points: int | None = None) -> list[dict]:
    """(x, y, set) rows of one point set (finite points only; an even subset if max_points)."""
    if points is None:
        return []
    arr = np.asarray(points.detach().cpu().numpy() if hasattr(points, "detach") else points, dtype=np.float64)
    arr = arr[np.isfinite(arr).all(1)]
    if max_points is not None and len(arr) > max_points:  # a fixed subset: the backdrop does not flicker
        arr = arr[np.linspace(0, len(arr) - 1, max_points).astype(int)]
    return [{"x": x, "y": y, "set": label} for x, y in arr.tolist()]


@functools.lru_cache(maxsize=16)
def _samples_template(domain: tuple[float, float], size: int) -> str:
    x_scale, y_scale = square_scales(domain)  # as wide as the column, one unit length on both axes
    chart = alt.Chart(alt.NamedData(name=DATA)).mark_circle(size=9, opacity=0.75, clip=True).encode(
        x=alt.X("x:Q", scale=x_scale, title=None),
        y=alt.Y("y:Q", scale=y_scale, title=None),
        color=alt.Color("set:N", scale=alt.Scale(domain=["data", "samples"], range=[DATA_COLOR, SAMPLES_COLOR]),
                        legend=alt.Legend(title=None, orient="bottom")),
    ).properties(width="container", height=size, autosize=FIT_WIDTH)  # rows: data first, samples on top
    return _template(chart)


def samples_spec(samples, data_rows: list[dict] | None = None, *, domain: tuple[float, float],
                 title: str = "Samples", size: int = 330) -> dict:
    """Samples (coloured) over the data (grey, `samples_rows(data, "data", 600)` made once per run)
    on a fixed square domain, as a Vega-Lite dict."""
    spec = _spec(_samples_template((round(float(domain[0]), 6), round(float(domain[1]), 6)), size),
                 list(data_rows or []) + samples_rows(samples))
    spec["title"] = title
    return spec
