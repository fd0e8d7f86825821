"""A drawing turned into a training set: strokes and clicked points from the Score lab's canvas.

The canvas (streamlit-drawable-canvas, Fabric.js) sends its drawing as Fabric JSON: a
free-hand stroke is a `Path` of SVG commands (M, L, Q, C) in canvas pixels, a clicked
point a small `Circle`. `drawing_strokes` reads them into polylines (y pointing up);
`drawing_points` spreads points evenly along the ink, as a pen would lay it down:

* along every stroke, uniformly by arc length (a long stroke gets more points);
* around every clicked point, as much ink as a DOT_INK-pixel stroke (a small round blob);
* every point jittered by a Gaussian as wide as the pen (`PEN_JITTER` of the canvas).

The result is an x,y CSV (`drawing_csv`) that the app stores like an uploaded one, so a
drawing takes the one route every CSV takes: `points_csv.read_points_csv` checks it and
`DatasetSpec.csv` trains on it. Coordinates: the canvas square maps onto [−2, 2]².
"""

from __future__ import annotations

import io
import math

import numpy as np

from models.core.errors import InputError

DRAWN_POINTS = 4000     # the training set drawn from one sketch
PEN_JITTER = 0.01       # std of each point around the ink, as a share of the canvas side
DOT_INK = 12.0          # a clicked point counts as this many pixels of stroke
HALF_WIDTH = 2.0        # the canvas square becomes [−2, 2]²: the built-in shapes' scale
MAX_OBJECTS = 2000      # strokes + points: far more than a hand draws, bounds the work
CURVE_PIECES = 8        # each Bézier segment becomes this many straight pieces

# where Fabric puts `left`/`top` on an object's box
_ORIGIN = {"left": 0.0, "top": 0.0, "center": 0.5, "right": 1.0, "bottom": 1.0}


def _bezier(p0, controls, p1, pieces: int = CURVE_PIECES) -> list[tuple[float, float]]:
    """Points along a quadratic (one control) or cubic (two controls) Bézier, p0 excluded."""
    pts = [np.asarray(p0, float)] + [np.asarray(c, float) for c in controls] + [np.asarray(p1, float)]
    degree = len(pts) - 1
    out = []
    for k in range(1, pieces + 1):
        t = k / pieces
        point = sum(math.comb(degree, i) * (1 - t) ** (degree - i) * t ** i * pts[i] for i in range(degree + 1))
        out.append((float(point[0]), float(point[1])))
    return out


def _path_polyline(commands: list) -> np.ndarray:
    """The path's own coordinates (before the object's move/scale/rotation) as an (m, 2) polyline."""
    points: list[tuple[float, float]] = []
    for command in commands:
        if not isinstance(command, (list, tuple)) or not command:
            continue
        op, args = str(command[0]).upper(), [float(a) for a in command[1:]]
        if op in ("M", "L") and len(args) >= 2:
            points.append((args[0], args[1]))
        elif op == "Q" and len(args) >= 4 and points:
            points += _bezier(points[-1], [args[0:2]], args[2:4])
        elif op == "C" and len(args) >= 6 and points:
            points += _bezier(points[-1], [args[0:2], args[2:4]], args[4:6])
    return np.asarray(points, float).reshape(-1, 2)


def _placed(local: np.ndarray, obj: dict, own_box: tuple[float, float, float, float]) -> np.ndarray:
    """Local coordinates → canvas pixels: Fabric's scale, flip, rotation about the box centre, then its place."""
    x0, y0, w, h = own_box
    centre = np.array([x0 + w / 2, y0 + h / 2])
    sx = float(obj.get("scaleX", 1) or 1) * (-1 if obj.get("flipX") else 1)
    sy = float(obj.get("scaleY", 1) or 1) * (-1 if obj.get("flipY") else 1)
    angle = math.radians(float(obj.get("angle", 0) or 0))
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    moved = ((local - centre) * [sx, sy]) @ rot.T
    # `left`/`top` name the point of the (scaled) box at the object's origin
    stroke = float(obj.get("strokeWidth", 0) or 0)
    box_w, box_h = (w + stroke) * abs(sx), (h + stroke) * abs(sy)
    ox = _ORIGIN.get(str(obj.get("originX", "left")), 0.0)
    oy = _ORIGIN.get(str(obj.get("originY", "top")), 0.0)
    box_centre = np.array([float(obj.get("left", 0)) + (0.5 - ox) * box_w,
                           float(obj.get("top", 0)) + (0.5 - oy) * box_h])
    return moved + box_centre


def drawing_strokes(drawing: dict | None, canvas_size: float) -> tuple[list[np.ndarray], np.ndarray]:
    """Strokes (each an (m, 2) polyline) and clicked points ((k, 2)) in [−2, 2]², y up.

    `drawing` is the canvas's Fabric JSON (`{"objects": [...]}`); anything else in it is ignored.
    """
    objects = (drawing or {}).get("objects") or [] if isinstance(drawing, dict) else []
    if len(objects) > MAX_OBJECTS:
        raise InputError(f"the drawing has {len(objects):,} strokes and points; at most {MAX_OBJECTS:,} are allowed")
    strokes, dots = [], []
    for obj in objects:
        if not isinstance(obj, dict):
            continue
        kind = str(obj.get("type", "")).lower()
        if kind == "path":
            local = _path_polyline(obj.get("path") or [])
            if len(local) == 0:
                continue
            lo, hi = local.min(0), local.max(0)
            strokes.append(_placed(local, obj, (lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1])))
        elif kind == "line":
            local = np.array([[obj.get("x1", 0), obj.get("y1", 0)], [obj.get("x2", 0), obj.get("y2", 0)]], float)
            w, h = float(obj.get("width", 0)), float(obj.get("height", 0))
            strokes.append(_placed(local, obj, (-w / 2, -h / 2, w, h)))  # a Line's x1..y2 are about its centre
        elif kind == "circle":
            r = float(obj.get("radius", 0) or 0)
            dots.append(_placed(np.zeros((1, 2)), obj, (-r, -r, 2 * r, 2 * r))[0])
    to_plot = lambda p: np.stack([p[:, 0] / canvas_size * 2 * HALF_WIDTH - HALF_WIDTH,  # noqa: E731
                                  HALF_WIDTH - p[:, 1] / canvas_size * 2 * HALF_WIDTH], 1)
    finite = [s for s in strokes if np.isfinite(s).all()]
    dot_array = np.asarray(dots, float).reshape(-1, 2)
    return [to_plot(s) for s in finite], to_plot(dot_array[np.isfinite(dot_array).all(1)])


def drawing_points(strokes: list[np.ndarray], dots: np.ndarray, n: int = DRAWN_POINTS, seed: int = 0,
                   canvas_size: float = 1.0) -> np.ndarray:
    """n points laid along the strokes and around the dots (see the module docstring), shape (n, 2)."""
    if not strokes and len(dots) == 0:
        raise InputError("the canvas is empty: draw a shape or click some points first")
    rng = np.random.default_rng(seed)
    pixel = 2 * HALF_WIDTH / canvas_size  # one canvas pixel in plot units
    segments_a, segments_b = [], []
    for s in strokes:
        if np.all(s == s[0]):  # a stroke that never moved (a click in free-hand mode): a dot
            dots = np.vstack([dots, s[:1]])
            continue
        segments_a.append(s[:-1])
        segments_b.append(s[1:])
    a = np.vstack(segments_a) if segments_a else np.zeros((0, 2))
    b = np.vstack(segments_b) if segments_b else np.zeros((0, 2))
    ink = np.concatenate([np.linalg.norm(b - a, axis=1), np.full(len(dots), DOT_INK * pixel)])
    if ink.sum() <= 0:  # only zero-length strokes
        ink = np.ones_like(ink)
    which = rng.choice(len(ink), size=n, p=ink / ink.sum())
    t = rng.random(n)[:, None]
    starts = np.vstack([a, dots])
    ends = np.vstack([b, dots])
    points = starts[which] + t * (ends[which] - starts[which])
    return points + rng.normal(scale=PEN_JITTER * 2 * HALF_WIDTH, size=points.shape)


def drawing_csv(drawing: dict | None, canvas_size: float, n: int = DRAWN_POINTS, seed: int = 0) -> bytes:
    """The drawing as x,y CSV bytes (header `x,y`), ready for the app's upload store."""
    strokes, dots = drawing_strokes(drawing, canvas_size)
    points = drawing_points(strokes, dots, n=n, seed=seed, canvas_size=canvas_size)
    out = io.StringIO()
    out.write("x,y\n")
    for x, y in points.tolist():
        out.write(f"{x:.6g},{y:.6g}\n")
    return out.getvalue().encode()


def drawing_summary(drawing: dict | None, canvas_size: float) -> str:
    """'3 strokes and 5 points' — what the sidebar says about the sketch."""
    strokes, dots = drawing_strokes(drawing, canvas_size)

    def count(k: int, word: str) -> str:
        return f"{k} {word}{'' if k == 1 else 's'}"
    return f"{count(len(strokes), 'stroke')} and {count(len(dots), 'point')}"
