"""app/charts.py: each builder gives a valid Vega-Lite spec with the right rows and no NaN."""

import json
import math

import numpy as np
import pytest
import torch

from app import charts
from models.score.datasets import sample_dataset
from models.score.metrics import score_grid


def _spec(chart) -> dict:
    spec = chart.to_dict()
    json.dumps(spec, allow_nan=False)  # raises on NaN/Inf anywhere in the spec
    return spec


def _rows(spec) -> list[dict]:
    return [row for rows in spec.get("datasets", {}).values() for row in rows]


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
    assert spec["width"] == spec["height"]


def test_scatter_fixed_domain_and_groups_and_paths():
    a, b = torch.zeros(10, 2), torch.ones(20, 2)
    paths = torch.randn(7, 4, 2)
    spec = _spec(charts.scatter({"noisy": a, "denoised": b}, None, domain=(-3, 3), paths=paths))
    rows = _rows(spec)
    assert len(rows) == 10 + 20 + 7 * 4
    layer_scales = [lay["encoding"]["x"]["scale"]["domain"] for lay in spec["layer"]]
    assert layer_scales == [[-3, 3], [-3, 3]]


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


def test_histogram_rows_layout_is_faceted_with_own_y_scales():
    spec = _spec(charts.histogram({"a": np.full(10, 1e-6), "b": np.geomspace(1e-3, 1, 20)},
                                  bins=6, log_x=True, rows=True, extent=(1e-4, 1)))
    assert spec["facet"]["row"]["field"] == "set"
    assert spec["resolve"]["scale"]["y"] == "independent"
    assert spec["spec"]["encoding"]["x"]["axis"]["values"] == [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    rows = _rows(spec)
    assert sum(r["count"] for r in rows if r["set"] == "a") == 10   # below the extent: first bar
    assert [r["count"] for r in rows if r["set"] == "a"][0] == 10


def test_bar_shares_without_value_labels():
    spec = _spec(charts.bar_shares({"a": 0.3, "b": 0.7}, show_values=False))
    assert [lay["mark"]["type"] for lay in spec["layer"]] == ["bar"]


def test_square_charts_keep_their_plot_area_square():
    # "pad" autosize: width/height are the plot area, so a square domain draws round circles.
    for chart in (charts.scatter(torch.randn(5, 2)), charts.vector_field(score_grid(1.0, 3), torch.ones(9, 2)),
                  charts.heatmap(np.arange(3.0), np.arange(3.0), np.ones((3, 3)))):
        spec = _spec(chart)
        assert spec["autosize"]["type"] == "pad" and spec["width"] == spec["height"]
