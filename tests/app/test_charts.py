"""app/ui/charts.py: each builder gives a valid Vega-Lite spec with the right rows and no NaN."""

import json
import math

import numpy as np
from altair.utils.schemapi import validate_jsonschema
from altair.vegalite.v6.schema import load_schema
import pytest
import torch

from app.ui import charts
from app.ui.chart_specs import dataset_rows
from models.lab.datasets import sample_dataset
from models.lab.metrics import score_grid


def _spec(spec: dict) -> dict:
    """The builder's Vega-Lite dict, checked: valid against the Vega-Lite schema, data included, and
    no NaN/Inf anywhere (NaN is not valid JSON: Vega would draw nothing)."""
    inline = {**spec, "datasets": dataset_rows(spec)}
    json.dumps(inline, allow_nan=False)
    validate_jsonschema(inline, load_schema())  # raises on a spec Vega-Lite would reject
    return spec


def _rows(spec) -> list[dict]:
    return [row for rows in dataset_rows(spec).values() for row in rows]


def _all_finite(rows) -> bool:
    return all(math.isfinite(v) for row in rows for v in row.values() if isinstance(v, float))


def test_scatter_counts_filters_and_downsamples():
    data = sample_dataset("moons", 5000, seed=0)
    samples = torch.randn(200, 2)
    samples[:3, 0] = float("nan")
    samples[3, 1] = float("inf")
    spec = _spec(charts.scatter(samples, data, "moons"))
    rows = _rows(spec)
    assert len(rows) == charts.MAX_POINTS + 196   # data downsampled, 4 bad samples dropped
    assert _all_finite(rows)
    sets = {r["set"] for r in rows}
    assert sets == {"data", "samples"}
    assert spec["width"] == "container" and spec["height"] == charts.SIZE


def test_scatter_fixed_domain_and_groups_and_paths():
    a, b = torch.zeros(10, 2), torch.ones(20, 2)
    paths = torch.randn(7, 4, 2)
    spec = _spec(charts.scatter({"noisy": a, "denoised": b}, None, domain=(-3, 3), paths=paths))
    rows = _rows(spec)
    assert len(rows) == 10 + 20 + 7 * 4
    layer_scales = [lay["encoding"]["x"]["scale"]["domainMin"] for lay in spec["layer"]]
    assert layer_scales == [{"expr": "0.0 - 3.0 * max(1, width / height)"}] * 2


def test_scatter_rejects_wrong_shape():
    with pytest.raises(ValueError, match="shape"):
        charts.scatter(torch.zeros(5, 3))


def test_square_domain_covers_points():
    lo, hi = charts.square_domain(np.array([[0.0, 0.0], [2.0, 10.0]]))
    assert lo < 0 and hi > 10


def test_vector_field_rows_and_unit_length():
    grid = score_grid(3.0, 12)
    vectors = -grid * torch.linspace(0.01, 100, len(grid))[:, None]  # magnitudes spanning 4 decades
    vectors[0] = float("nan")
    spec = _spec(charts.vector_field(grid, vectors, title="field", arrow_length=0.5))
    rows = _rows(spec)
    assert len(rows) == 12 * 12 - 1
    assert _all_finite(rows)
    lengths = [math.hypot(r["x2"] - r["x"], r["y2"] - r["y"]) for r in rows if r["magnitude"] > 1e-9]
    assert np.allclose(lengths, 0.5)


def test_vector_field_mismatch_is_explained():
    with pytest.raises(ValueError, match="one vector per point"):
        charts.vector_field(torch.zeros(4, 2), torch.zeros(3, 2))


def test_heatmap_grid_and_flat_forms():
    gx, gy = np.linspace(-1, 1, 10), np.linspace(-2, 2, 8)
    vals = np.random.default_rng(0).normal(size=(8, 10))
    vals[0, 0] = np.nan
    rows = _rows(_spec(charts.heatmap(gx, gy, vals, "h")))
    assert len(rows) == 79 and _all_finite(rows)
    grid = score_grid(2.0, 6)
    rows = _rows(_spec(charts.heatmap(grid[:, 0], grid[:, 1], grid.norm(dim=1), "flat")))
    assert len(rows) == 36
    with pytest.raises(ValueError, match="expected"):
        charts.heatmap(gx, gy, vals.T)


def test_histogram_bins_and_shares():
    rng = np.random.default_rng(0)
    spec = _spec(charts.histogram({"a": rng.random(100), "b": np.r_[rng.random(50), np.nan]}, bins=20))
    rows = _rows(spec)
    assert len(rows) == 40
    for label, n in (("a", 100), ("b", 50)):
        assert sum(r["count"] for r in rows if r["set"] == label) == n
    log_rows = _rows(_spec(charts.histogram(np.array([1e-4, 1e-2, 1.0, 0.0]), bins=5, log_x=True)))
    assert len(log_rows) == 5 and sum(r["count"] for r in log_rows) == 3


def test_bar_shares_with_reference():
    spec = _spec(charts.bar_shares({"(−5,−5)": 0.21, "(5,5)": 0.79}, reference={"(−5,−5)": 0.2, "(5,5)": 0.8}))
    rows = _rows(spec)
    assert len(rows) == 4
    with pytest.raises(ValueError, match="finite"):
        charts.bar_shares({"a": float("nan")})


def test_scatter_rings_join_the_legend():
    train = torch.randn(30, 2)
    spec = _spec(charts.scatter({"samples": torch.randn(50, 2)}, None, rings=train, ring_label="training points"))
    rows = _rows(spec)
    assert len(rows) == 80
    ring_layer = spec["layer"][-1]
    assert ring_layer["mark"]["filled"] is False
    assert ring_layer["encoding"]["color"]["scale"]["domain"] == ["samples", "training points"]


def test_histogram_rows_are_one_view_with_a_band_per_group():
    # one view, not a facet: only a single or layered view can stretch to its column
    spec = _spec(charts.histogram({"a": np.full(10, 1e-6), "b": np.geomspace(1e-3, 1, 20)},
                                  bins=6, log_x=True, rows=True, extent=(1e-4, 1)))
    assert "facet" not in spec and spec["width"] == "container" and spec["autosize"]["type"] == "fit-x"
    bars, names = spec["layer"]
    assert bars["encoding"]["x"]["axis"]["values"] == [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    rows = [r for r in _rows(spec) if "count" in r]
    assert sum(r["count"] for r in rows if r["set"] == "a") == 10   # below the extent: first bar
    assert [r["count"] for r in rows if r["set"] == "a"][0] == 10
    # "a" is the top band (y 1..2), "b" the bottom one; each group's tallest bar is 0.72 of its band
    top = max(r["y1"] for r in rows if r["set"] == "a")
    assert [r["y0"] for r in rows if r["set"] == "a"] == [1.0] * 6 and top == pytest.approx(1.72)
    assert max(r["y1"] for r in rows if r["set"] == "b") == pytest.approx(0.72)
    # the names sit above their bands' tallest bars
    assert {r["set"]: r["y0"] for r in _rows(spec) if "count" not in r} == {"a": 1.78, "b": 0.78}


def test_bar_shares_without_value_labels():
    spec = _spec(charts.bar_shares({"a": 0.3, "b": 0.7}, show_values=False))
    assert [lay["mark"]["type"] for lay in spec["layer"]] == ["bar"]


def test_square_charts_fill_their_column_with_one_unit_length_on_both_axes():
    # the plot is as wide as the column and `size` high; the domains come from Vega's width/height
    # signals so that one unit is as many pixels on x as on y and [lo, hi] stays whole on both
    for chart in (charts.scatter(torch.randn(5, 2), domain=(-1, 3)),
                  charts.vector_field(score_grid(1.0, 3), torch.ones(9, 2), domain=(-1, 3)),
                  charts.heatmap(np.arange(3.0), np.arange(3.0), np.ones((3, 3)), domain=(-1, 3))):
        spec = _spec(chart)
        assert spec["autosize"] == {"type": "fit-x", "contains": "padding"}
        assert spec["width"] == "container" and spec["height"] == charts.SIZE
        enc = spec["layer"][0]["encoding"] if "layer" in spec else spec["encoding"]
        x, y = enc["x"]["scale"], enc["y"]["scale"]
        for width, height in ((300, 380), (900, 380), (380, 380)):
            def ev(e):  # Vega's expression, evaluated for this plot size
                return eval(e["expr"].replace("width", str(width)).replace("height", str(height)))
            x_span, y_span = ev(x["domainMax"]) - ev(x["domainMin"]), ev(y["domainMax"]) - ev(y["domainMin"])
            assert x_span / width == pytest.approx(y_span / height)         # round circles
            assert min(x_span, y_span) == pytest.approx(4.0)                # [-1, 3] fits exactly
            assert (ev(x["domainMin"]) + ev(x["domainMax"])) / 2 == pytest.approx(1.0)
