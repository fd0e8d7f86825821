"""Altair charts of the "How FLUX samples" page that the shared chart modules do not have (no st.* here)."""

from __future__ import annotations

import altair as alt
import pandas as pd

SCHNELL_STEPS = 4


def quality_vs_steps(rows: list[dict], *, title: str, highlight: int | None = None, width: int | str = "container",
                     height: int = 240) -> alt.LayerChart:
    """Energy distance as a multiple of the data-vs-data floor against the number of Euler steps (log–log),
    with a rule at 4 steps (FLUX.1-schnell) and a dot at the slider's step count."""
    frame = pd.DataFrame(rows)
    series = frame["series"] if "series" in frame else "flow"
    frame = frame.assign(series=series)
    x = alt.X("steps:Q", scale=alt.Scale(type="log", domain=[1, 50]), title="Euler steps",
              axis=alt.Axis(values=[1, 2, 4, 8, 16, 50]))
    y = alt.Y("ratio:Q", scale=alt.Scale(type="log"), title="energy distance ÷ data-vs-data floor")
    lines = alt.Chart(frame).mark_line(point=True).encode(
        x=x, y=y, color=alt.Color("series:N", legend=alt.Legend(title=None, orient="bottom")),
        tooltip=["series:N", "steps:Q", alt.Tooltip("energy_distance:Q", format=".4f"),
                 alt.Tooltip("ratio:Q", format=".1f")])
    top = float(frame["ratio"].max()) if len(frame) else 1.0
    rule = alt.Chart(pd.DataFrame({"steps": [SCHNELL_STEPS], "ratio": [top], "label": ["FLUX.1-schnell: 4 steps"]}))
    layers = [lines, rule.mark_rule(strokeDash=[4, 3], color="#888").encode(x=x),
              rule.mark_text(align="left", dx=4, dy=4, baseline="top", color="#666").encode(x=x, y=y, text="label:N")]
    floor = alt.Chart(pd.DataFrame({"ratio": [1.0], "label": ["data-vs-data floor"]}))
    layers += [floor.mark_rule(color="#444", strokeDash=[2, 2]).encode(y=y),
               floor.mark_text(align="right", x="width", dx=-2, dy=-6, color="#444").encode(y=y, text="label:N")]
    if highlight is not None:
        picked = frame[frame["steps"] == highlight].assign(picked=True)
        layers.append(alt.Chart(picked).mark_point(size=160, color="#e4572e", filled=False, strokeWidth=2)
                      .encode(x=x, y=y))
    return alt.layer(*layers).properties(title=title, width=width, height=height)
