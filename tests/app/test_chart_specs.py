"""app/ui/chart_specs.py: Altair charts become Vega-Lite dicts once per distinct input, and no page
hands an Altair chart to st.altair_chart (its schema validation and global lock cost a class its page loads)."""

import re
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import torch

from app.ui import chart_specs, charts
from app.ui.chart_specs import cached_chart, dataset_rows, vega_lite

APP = Path(__file__).parents[2] / "app"


def test_vega_lite_names_each_frame_and_keeps_its_rows():
    a = pd.DataFrame({"x": [1.0, 2.0], "y": [3.0, 4.0]})
    b = pd.DataFrame({"x": [5.0], "y": [6.0]})
    layered = alt.layer(alt.Chart(a).mark_point().encode(x="x:Q", y="y:Q"),
                        alt.Chart(b).mark_line().encode(x="x:Q", y="y:Q"))
    spec = vega_lite(layered)
    names = [layer["data"]["name"] for layer in spec["layer"]]
    rows = dataset_rows(spec)
    assert [rows[n] for n in names] == [a.to_dict("records"), b.to_dict("records")]
    assert all(isinstance(raw, bytes) for raw in spec["datasets"].values())  # Arrow, sent as it is
    assert "view" not in spec.get("config", {})  # Altair's default 300 × 300 view is dropped, as Streamlit does
    assert isinstance(layered.layer[0].data, pd.DataFrame)  # the caller's chart is left as it was


def test_a_cached_builder_builds_once_per_input_and_hands_out_copies():
    calls = []

    @cached_chart
    def points(xy, title=""):
        calls.append(title)
        return alt.Chart(pd.DataFrame(np.asarray(xy), columns=["x", "y"])).mark_point().encode(
            x="x:Q", y="y:Q").properties(title=title)

    xy = np.arange(6.0).reshape(3, 2)
    first = points(xy, title="t")
    first["title"] = "edited by a caller"  # presentation mode rewrites titles in place of a copy
    second = points(xy.copy(), title="t")
    assert calls == ["t"] and second["title"] == "t"
    assert dataset_rows(second) == dataset_rows(first)
    points(torch.tensor(xy), title="t")  # the same numbers as a tensor: the same chart
    assert len(calls) == 1
    points(torch.tensor(xy, dtype=torch.float32), title="t")  # rounded to float32: another chart
    points(xy + 1, title="t")            # other numbers: built again
    points(xy, title="u")                # another title: built again
    assert len(calls) == 4
    assert points.altair(xy, title="t").to_dict()["title"] == "t"


def test_an_argument_it_cannot_fingerprint_builds_afresh():
    class Opaque:
        pass

    calls = []

    @cached_chart
    def chart(_thing):
        calls.append(1)
        return alt.Chart(pd.DataFrame({"x": [1]})).mark_point().encode(x="x:Q")

    chart(Opaque()), chart(Opaque())
    assert len(calls) == 2


def test_the_cache_is_bounded():
    chart_specs.clear_cache()
    for i in range(chart_specs.MAX_CACHED + 10):
        charts.bar_shares({"a": 0.5, "b": i / 1000})
    assert chart_specs.cached_count() == chart_specs.MAX_CACHED


def test_the_builders_shared_by_pages_are_cached():
    for builder in (charts.scatter, charts.vector_field, charts.heatmap, charts.histogram, charts.bar_shares):
        assert callable(getattr(builder, "altair", None)), builder.__name__


def test_no_page_calls_st_altair_chart():
    calls = [str(p.relative_to(APP)) for p in APP.rglob("*.py") if re.search(r"\bst\.altair_chart\(", p.read_text())]
    assert calls == []
