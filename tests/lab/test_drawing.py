"""A canvas drawing as training points (models/lab/drawing.py), checked against exact geometry.

The Fabric JSON here has the shape streamlit-drawable-canvas 0.13 sends (captured from a real
browser): a free-hand stroke is a Path of M/Q commands in canvas pixels with originX/Y "center",
a clicked point a Circle (radius 3, strokeWidth 4) with originX "left", originY "center".
"""

from __future__ import annotations

import io

import numpy as np
import pytest

from models.core.errors import InputError
from models.lab.datasets import DatasetSpec, read_points_csv, training_data
from models.lab.drawing import (DOT_INK, DRAWN_POINTS, HALF_WIDTH, MAX_OBJECTS, PEN_JITTER, drawing_csv,
                                  drawing_points, drawing_strokes, drawing_summary)
from tests.helpers import canvas_dot, canvas_stroke

SIZE = 300.0


def _plot(x, y):
    return np.array([x / SIZE * 2 * HALF_WIDTH - HALF_WIDTH, HALF_WIDTH - y / SIZE * 2 * HALF_WIDTH])


def test_a_clicked_point_lands_where_it_was_clicked_with_y_up():
    strokes, dots = drawing_strokes({"objects": [canvas_dot(30, 40), canvas_dot(150, 150)]}, SIZE)
    assert strokes == []
    np.testing.assert_allclose(dots, [_plot(30, 40), [0.0, 0.0]], atol=1e-9)
    assert dots[0][1] > 0  # near the top of the canvas = large y


def test_a_stroke_becomes_its_polyline_and_moving_or_scaling_it_moves_the_points():
    strokes, _ = drawing_strokes({"objects": [canvas_stroke(50, 50, 200, 140)]}, SIZE)
    (line,) = strokes
    np.testing.assert_allclose(line[0], _plot(50, 50), atol=1e-9)
    np.testing.assert_allclose(line[-1], _plot(200, 140), atol=1e-9)
    moved, _ = drawing_strokes({"objects": [canvas_stroke(50, 50, 200, 140, left=125 + 30)]}, SIZE)
    np.testing.assert_allclose(moved[0] - line, np.tile(_plot(80, 0) - _plot(50, 0), (len(line), 1)), atol=1e-9)
    scaled, _ = drawing_strokes({"objects": [canvas_stroke(50, 50, 200, 140, scaleX=2, scaleY=2)]}, SIZE)
    np.testing.assert_allclose(scaled[0][-1] - scaled[0][0], 2 * (line[-1] - line[0]), atol=1e-9)


def test_points_lie_on_the_ink_in_proportion_to_its_length():
    long_, short = canvas_stroke(20, 100, 220, 100), canvas_stroke(20, 250, 70, 250)  # 200 px and 50 px
    strokes, dots = drawing_strokes({"objects": [long_, short]}, SIZE)
    pts = drawing_points(strokes, dots, n=20_000, seed=0, canvas_size=SIZE)
    jitter = PEN_JITTER * 2 * HALF_WIDTH
    on_long = np.abs(pts[:, 1] - _plot(0, 100)[1]) < 5 * jitter
    on_short = np.abs(pts[:, 1] - _plot(0, 250)[1]) < 5 * jitter
    assert (on_long | on_short).all()
    assert on_long.mean() == pytest.approx(0.8, abs=0.01)  # 200 / (200 + 50)
    # uniform along the stroke: the x's of the long one fill its span evenly
    xs = pts[on_long, 0]
    lo, hi = _plot(20, 0)[0], _plot(220, 0)[0]
    counts, _ = np.histogram(xs, bins=4, range=(lo, hi))
    assert counts.min() / counts.max() > 0.9
    assert np.std(pts[on_long, 1]) == pytest.approx(jitter, rel=0.05)  # the pen's width


def test_clicked_points_share_the_ink_equally_and_weigh_like_a_shortcanvas_stroke():
    strokes, dots = drawing_strokes({"objects": [canvas_dot(50, 50), canvas_dot(250, 250), canvas_dot(50, 250)]}, SIZE)
    pts = drawing_points(strokes, dots, n=30_000, seed=1, canvas_size=SIZE)
    nearest = np.argmin(((pts[:, None, :] - dots[None]) ** 2).sum(-1), axis=1)
    np.testing.assert_allclose(np.bincount(nearest) / len(pts), [1 / 3] * 3, atol=0.01)
    for k in range(3):
        np.testing.assert_allclose(pts[nearest == k].mean(0), dots[k], atol=0.01)
    # one dot beside a 36-pixel stroke: DOT_INK / (DOT_INK + 36) of the points
    strokes, dots = drawing_strokes({"objects": [canvas_dot(250, 50), canvas_stroke(20, 200, 56, 200)]}, SIZE)
    pts = drawing_points(strokes, dots, n=30_000, seed=2, canvas_size=SIZE)
    near_dot = np.linalg.norm(pts - dots[0], axis=1) < 0.3
    assert near_dot.mean() == pytest.approx(DOT_INK / (DOT_INK + 36), abs=0.01)


def test_the_drawing_takes_the_csv_route_and_trains():
    csv = drawing_csv({"objects": [canvas_stroke(50, 50, 250, 250), canvas_dot(250, 50)]}, SIZE, seed=0)
    points = read_points_csv(io.BytesIO(csv))  # the one validation route every CSV takes
    assert points.shape == (DRAWN_POINTS, 2)
    assert float(points.abs().max()) < HALF_WIDTH + 0.2
    assert drawing_csv({"objects": [canvas_stroke(50, 50, 250, 250), canvas_dot(250, 50)]}, SIZE, seed=0) == csv  # seeded


def test_a_saved_drawing_is_a_csv_dataset(tmp_path):
    path = tmp_path / "drawing.csv"
    path.write_bytes(drawing_csv({"objects": [canvas_stroke(30, 30, 270, 270)]}, SIZE))
    data = training_data(DatasetSpec.csv(path))
    assert len(data.points) == DRAWN_POINTS and data.spread > 0


@pytest.mark.parametrize("drawing", [None, {}, {"objects": []}, {"objects": [{"type": "Rect"}, "junk"]},
                                     {"objects": [{"type": "Path", "path": []}]}])
def test_an_empty_canvas_is_one_clear_line(drawing):
    with pytest.raises(InputError, match="the canvas is empty: draw a shape or click some points first"):
        drawing_csv(drawing, SIZE)


def test_too_many_objects_are_refused_before_any_work():
    with pytest.raises(InputError, match=f"at most {MAX_OBJECTS:,}"):
        drawing_strokes({"objects": [canvas_dot(10, 10)] * (MAX_OBJECTS + 1)}, SIZE)


def test_a_stroke_that_never_moved_is_a_dot_and_the_summary_counts():
    still = {"type": "Path", "originX": "center", "originY": "center", "left": 100, "top": 100, "strokeWidth": 4,
             "path": [["M", 100, 100], ["L", 100, 100]]}
    strokes, dots = drawing_strokes({"objects": [still]}, SIZE)
    pts = drawing_points(strokes, dots, n=500, seed=0, canvas_size=SIZE)
    np.testing.assert_allclose(pts.mean(0), _plot(100, 100), atol=0.01)
    assert drawing_summary({"objects": [canvas_stroke(1, 1, 9, 9), canvas_dot(5, 5), canvas_dot(6, 6)]}, SIZE) == "1 stroke and 2 points"
