"""Altair charts of the "How FLUX samples" page that the shared chart modules do not have (no st.* here)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from app.ui.chart_specs import cached_chart

SCHNELL_STEPS = 4


@cached_chart
def quality_vs_steps(rows: list[dict], *, title: str, highlight: int | None = None, width: int | str = "container",
                     height: int = 220) -> alt.LayerChart:
    """Energy distance as a multiple of the data-vs-data floor against the number of Euler steps (log–log):
    a dashed rule at 4 steps (FLUX.1-schnell), a grey rule at 1× (the floor), a ring at the slider's value.

    Kept to plain layers on shared scales: text marks and a colour legend in this layered chart made
    Vega lay the plot out with no height in Streamlit."""
    frame = pd.DataFrame(rows)
    x = alt.X("steps:Q", scale=alt.Scale(type="log", domain=[1, 50]), title="Euler steps",
              axis=alt.Axis(values=[1, 2, 4, 8, 16, 50]))
    y = alt.Y("ratio:Q", scale=alt.Scale(type="log"), title="ED ÷ floor")
    layers = [
        alt.Chart(frame).mark_line(point=True).encode(
            x=x, y=y, tooltip=["steps:Q", alt.Tooltip("energy_distance:Q", format=".4f"),
                               alt.Tooltip("ratio:Q", format=".1f")]),
        alt.Chart(pd.DataFrame({"steps": [SCHNELL_STEPS]})).mark_rule(strokeDash=[4, 3], color="#888").encode(x=x),
        alt.Chart(pd.DataFrame({"ratio": [1.0]})).mark_rule(color="#444").encode(y=y),
    ]
    if highlight is not None:
        picked = frame[frame["steps"] == highlight].assign(picked=True)
        layers.append(alt.Chart(picked).mark_point(size=160, color="#e4572e", filled=False, strokeWidth=2)
                      .encode(x=x, y=y))
    return alt.layer(*layers).properties(title=title, width=width, height=height)
