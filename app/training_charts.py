"""Altair charts of a training run: loss, per-σ loss and speed, each against the step.

Pure functions (no `st.*`): history rows from `Trainer.state.history` in, charts out.
They are redrawn twice a second while training, so every builder keeps at most
`MAX_ROWS` points (evenly thinned, the latest row always kept) and drops
non-finite values: NaN is not valid JSON and Vega would silently draw nothing.
"""

from __future__ import annotations

import math
from typing import Sequence

import altair as alt
import numpy as np
import pandas as pd

MAX_ROWS = 300
FLOOR_LABEL = "Bayes-optimal floor (a perfect network)"
LOSS_LABEL = "training loss"
LOSS_COLOR = "#1f77b4"
FLOOR_COLOR = "#444444"
WIDTH, HEIGHT = 420, 280


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


def _floor_rows(value: float | None, series: str, x0: float, x1: float) -> list[dict]:
    # A horizontal line across the steps trained so far, drawn as two points.
    if not _finite(value):
        return []
    return [{"step": x0, "loss": value, "series": series}, {"step": x1, "loss": value, "series": series}]


def loss_frame(history: Sequence[dict], floor: float | None = None, max_rows: int = MAX_ROWS) -> pd.DataFrame:
    """Long table (step, loss, series) of the loss and its floor, finite values only."""
    rows = [{"step": r["step"], "loss": r["loss"], "series": LOSS_LABEL}
            for r in thin(history, max_rows) if _finite(r.get("loss"))]
    if rows:
        rows += _floor_rows(floor, FLOOR_LABEL, rows[0]["step"], rows[-1]["step"])
    return pd.DataFrame(rows, columns=["step", "loss", "series"])


def loss_chart(history: Sequence[dict], floor: float | None = None, *, title: str = "Loss",
               y_title: str = "loss", width: int = WIDTH, height: int = HEIGHT) -> alt.Chart:
    """Mean loss per logging window, with the Bayes-optimal floor as a dashed horizontal line."""
    frame = loss_frame(history, floor)
    series = [LOSS_LABEL] + ([FLOOR_LABEL] if _finite(floor) else [])
    return alt.Chart(frame).mark_line(clip=True).encode(
        x=alt.X("step:Q", title="step"),
        y=alt.Y("loss:Q", title=y_title, scale=alt.Scale(zero=False)),
        color=alt.Color("series:N", scale=alt.Scale(domain=series, range=[LOSS_COLOR, FLOOR_COLOR][:len(series)]),
                        legend=alt.Legend(title=None, orient="bottom", labelLimit=400)),
        # the same legend as the colour, so Vega merges them and the floor's entry is dashed too
        strokeDash=alt.StrokeDash("series:N", scale=alt.Scale(domain=series, range=[[1, 0], [6, 4]][:len(series)]),
                                  legend=alt.Legend(title=None, orient="bottom", labelLimit=400)),
        tooltip=["series:N", "step:Q", alt.Tooltip("loss:Q", format=".4f")],
    ).properties(title=title, width=width, height=height)


def per_sigma_frame(history: Sequence[dict], sigmas: Sequence[float], floors: Sequence[float] | None = None,
                    max_rows: int = MAX_ROWS) -> pd.DataFrame:
    """Long table (step, loss, sigma, level, kind) with one line per level and one floor per level."""
    sigmas = [float(s) for s in sigmas]
    out = []
    rows = [r for r in thin(history, max_rows) if r.get("per_sigma") is not None]
    for r in rows:
        for i, v in enumerate(r["per_sigma"][:len(sigmas)]):
            if _finite(v):
                out.append({"step": r["step"], "loss": v, "sigma": sigma_label(sigmas[i]), "level": i + 1,
                            "kind": "loss"})
    if rows and floors is not None:
        x0, x1 = rows[0]["step"], rows[-1]["step"]
        for i, f in enumerate(list(floors)[:len(sigmas)]):
            if _finite(f):
                out += [{"step": x, "loss": f, "sigma": sigma_label(sigmas[i]), "level": i + 1, "kind": "floor"}
                        for x in (x0, x1)]
    return pd.DataFrame(out, columns=["step", "loss", "sigma", "level", "kind"])


def per_sigma_chart(history: Sequence[dict], sigmas: Sequence[float], floors: Sequence[float] | None = None, *,
                    title: str = "Loss per noise level (dashed: floors)",
                    width: int = WIDTH, height: int = HEIGHT) -> alt.Chart:
    """NCSN: one line per σ of the ladder (largest σ darkest), each with its own dashed floor."""
    frame = per_sigma_frame(history, sigmas, floors)
    order = [sigma_label(float(s)) for s in sigmas]
    color = alt.Color("sigma:N", sort=order, scale=alt.Scale(domain=order, scheme="viridis"),
                      legend=alt.Legend(title="noise level", orient="right", columns=1 if len(order) <= 12 else 2,
                                        labelLimit=120, symbolSize=60, rowPadding=1))
    return alt.Chart(frame).mark_line(clip=True).encode(
        x=alt.X("step:Q", title="step"),
        y=alt.Y("loss:Q", title="loss at this σ", scale=alt.Scale(zero=False)),
        color=color,
        detail="kind:N",
        strokeDash=alt.StrokeDash("kind:N", scale=alt.Scale(domain=["loss", "floor"], range=[[1, 0], [4, 3]]),
                                  legend=None),
        opacity=alt.Opacity("kind:N", scale=alt.Scale(domain=["loss", "floor"], range=[1.0, 0.6]), legend=None),
        tooltip=["sigma:N", "kind:N", "step:Q", alt.Tooltip("loss:Q", format=".4f")],
    ).properties(title=title, width=width, height=height)


def speed_frame(history: Sequence[dict], max_rows: int = MAX_ROWS) -> pd.DataFrame:
    rows = [{"step": r["step"], "steps_per_second": r["steps_per_second"]}
            for r in thin(history, max_rows) if _finite(r.get("steps_per_second"))]
    return pd.DataFrame(rows, columns=["step", "steps_per_second"])


def speed_chart(history: Sequence[dict], *, title: str = "Training speed", width: int = WIDTH,
                height: int = 180) -> alt.Chart:
    """Steps per second per logging window (dips show when something else used the CPU)."""
    return alt.Chart(speed_frame(history)).mark_line(color="#2ca02c", clip=True).encode(
        x=alt.X("step:Q", title="step"),
        y=alt.Y("steps_per_second:Q", title="steps / s"),
        tooltip=["step:Q", alt.Tooltip("steps_per_second:Q", format=".0f")],
    ).properties(title=title, width=width, height=height)
