"""Chart builders shared by the score pages: tensors in, Vega-Lite dicts out (built with Altair).

Pure functions (no `st.*` calls), so they are tested headless and every page draws
the same kind of picture the same way:

* `scatter`      samples in colour over the data in light grey (optionally with trajectories)
* `vector_field` a score field as arrows: direction drawn, magnitude in colour
* `heatmap`      a value per grid cell (log-density, score norm, score error)
* `histogram`    one or several overlaid histograms, pre-binned
* `bar_shares`   mode shares as bars, with optional true weights as ticks

Each builder is `@cached_chart` (app/ui/chart_specs.py): the same inputs give the same dict without
building the chart again, because every visit to a page draws its charts; `builder.altair(...)` is the
Altair chart itself. Charts carry their data with them. Non-finite points (a diverged sampler) are dropped,
because NaN is not valid JSON and Vega would silently draw nothing. Large point sets
are downsampled (deterministically) so the browser stays responsive.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import altair as alt
import numpy as np
import pandas as pd

from app.ui.chart_specs import cached_chart

MAX_POINTS = 3000
SIZE = 380            # default plot height in pixels of a square chart (its width: the column's)
DATA_COLOR = "#c8c8c8"
PALETTE = ["#e4572e", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf"]

Points = object  # a torch.Tensor, numpy array or nested list of shape (N, 2)

# width/height are the PLOT AREA; axes, legend and title come on top. (Streamlit's default,
# "fit", squeezes all of them into width × height, which flattens a square plot.)
PAD = alt.AutoSizeParams(type="pad", contains="padding")
# Square charts fill their column's width (width="container") at a fixed plot height: the width
# fits the column and the height stays `size` (axes, legend and title come on top of it).
FIT_WIDTH = alt.AutoSizeParams(type="fit-x", contains="padding")


# ----------------------------------------------------------------------------- helpers

def as_points(points: Points, name: str = "points") -> np.ndarray:
    """Any (N, 2) tensor/array/list as a float64 numpy array (a single point is promoted)."""
    if hasattr(points, "detach"):  # torch.Tensor without importing torch here
        points = points.detach().cpu().numpy()
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim == 1 and arr.size == 2:
        arr = arr[None]
    if arr.ndim != 2 or (arr.size and arr.shape[1] != 2):
        raise ValueError(f"{name} must have shape (N, 2), got {tuple(arr.shape)}")
    return arr.reshape(-1, 2)


def finite_rows(arr: np.ndarray) -> np.ndarray:
    """The rows of arr whose every entry is finite."""
    return arr[np.isfinite(arr).all(axis=1)] if arr.size else arr


def downsample(arr: np.ndarray, max_points: int = MAX_POINTS, seed: int = 0) -> np.ndarray:
    """At most max_points rows, chosen at random but reproducibly (keeps row order)."""
    if max_points is None or len(arr) <= max_points:
        return arr
    keep = np.sort(np.random.default_rng(seed).choice(len(arr), max_points, replace=False))
    return arr[keep]


def square_domain(*point_sets: Points, pad: float = 0.08, quantile: float = 0.002) -> tuple[float, float]:
    """One [lo, hi] range for both axes covering the point sets (outliers trimmed).

    Using the same range on x and y keeps circles round; pass it as `domain=` to every
    frame of an animation so the axes do not jump.
    """
    pts = [finite_rows(as_points(p)) for p in point_sets if p is not None]
    pts = [p for p in pts if len(p)]
    if not pts:
        return (-1.0, 1.0)
    allp = np.concatenate(pts)
    lo = float(np.quantile(allp, quantile)) if len(allp) > 50 else float(allp.min())
    hi = float(np.quantile(allp, 1 - quantile)) if len(allp) > 50 else float(allp.max())
    span = max(hi - lo, 1e-6)
    return (lo - pad * span, hi + pad * span)


def _groups(samples, default_label: str) -> dict[str, np.ndarray]:
    """`samples` may be one point set or a {label: points} dict (several colours)."""
    if samples is None:
        return {}
    if isinstance(samples, Mapping):
        return {str(k): as_points(v, str(k)) for k, v in samples.items() if v is not None}
    return {default_label: as_points(samples, default_label)}


def square_scales(domain) -> tuple[alt.Scale, alt.Scale]:
    """x and y scales that show at least [lo, hi] on both axes with ONE unit length in pixels, at
    whatever width the column gives the plot (a circle stays round, the data square stays whole).

    The longer side of the plot shows more around the square: the domain is computed in the
    browser from Vega's `width` and `height` signals (the plot area's size).
    """
    lo, hi = float(domain[0]), float(domain[1])
    mid, half = (lo + hi) / 2, (hi - lo) / 2

    def scale(ratio: str) -> alt.Scale:
        return alt.Scale(domainMin=alt.ExprRef(f"{mid!r} - {half!r} * max(1, {ratio})"),
                         domainMax=alt.ExprRef(f"{mid!r} + {half!r} * max(1, {ratio})"),
                         zero=False, nice=False, clamp=False)

    return scale("width / height"), scale("height / width")


# The y-axis of a square chart has one fixed width: its domain follows the plot's width (above), so
# free-width labels ("2.5" → "−12.5") changed the layout after Vega had fitted it, and the title and
# labels were drawn past the chart's left edge.
SQUARE_Y_AXIS = alt.Axis(minExtent=36, maxExtent=36)


def square_size(size: int) -> dict:
    """The properties of a square chart: as wide as its column, `size` pixels of plot high."""
    return {"width": "container", "height": size, "autosize": FIT_WIDTH}


def _points_frame(groups: dict[str, np.ndarray], max_points: int, seed: int) -> pd.DataFrame:
    frames = []
    for i, (label, pts) in enumerate(groups.items()):
        pts = downsample(finite_rows(pts), max_points, seed + i)
        frames.append(pd.DataFrame({"x": pts[:, 0], "y": pts[:, 1], "set": label}))
    if not frames:
        return pd.DataFrame({"x": [], "y": [], "set": []})
    return pd.concat(frames, ignore_index=True)


# ----------------------------------------------------------------------------- scatter

@cached_chart
def scatter(samples: Points | Mapping[str, Points] | None, data: Points | None = None, title: str = "",
            domain: tuple[float, float] | None = None, *, sample_label: str = "samples",
            data_label: str = "data", paths: Points | None = None, rings: Points | None = None,
            ring_label: str = "training points", max_points: int = MAX_POINTS,
            size: int = SIZE, point_size: float = 9, colors: Sequence[str] | None = None,
            seed: int = 0) -> alt.Chart | alt.LayerChart:
    """Samples in colour over the data in light grey, equal aspect, fixed square domain.

    samples: (N, 2) points, or {label: points} for several coloured sets.
    data: the training/true points, drawn first in grey.
    domain: (lo, hi) for both axes; default covers all points (see `square_domain`).
    paths: particle trajectories, shape (T, K, 2) (T frames of K particles), drawn as lines.
    rings: a few reference points (e.g. a small training set) drawn on top as open black
        circles, so samples sitting exactly on them stay visible inside the ring.
    size: the plot area's height in pixels; its width is the column's (see `square_scales`).
    """
    groups = _groups(samples, sample_label)
    data_pts = None if data is None else as_points(data, "data")
    ring_pts = None if rings is None else downsample(finite_rows(as_points(rings, "rings")), max_points, seed)
    if domain is None:
        domain = square_domain(data_pts, ring_pts, *groups.values())
    palette = list(colors or PALETTE)
    labels = list(groups)
    legend_domain = ([data_label] if data_pts is not None else []) + labels
    legend_range = ([DATA_COLOR] if data_pts is not None else []) + palette[:len(labels)]
    if ring_pts is not None:
        legend_domain.append(ring_label)
        legend_range.append("black")
    # Grey data first so the coloured samples are drawn on top of it.
    all_groups = ({data_label: data_pts} if data_pts is not None else {}) | groups
    frame = _points_frame(all_groups, max_points, seed)
    x = alt.X("x:Q", scale=square_scales(domain)[0], title=None)
    y = alt.Y("y:Q", scale=square_scales(domain)[1], title=None, axis=SQUARE_Y_AXIS)
    color = alt.Color("set:N", scale=alt.Scale(domain=legend_domain, range=legend_range),
                      legend=alt.Legend(title=None, orient="bottom"))
    points = alt.Chart(frame).mark_circle(size=point_size, opacity=0.75, clip=True).encode(
        x=x, y=y, color=color)
    layers = [points]
    if paths is not None:
        layers.insert(0, trajectories(paths, domain))
    if ring_pts is not None:
        ring_frame = pd.DataFrame({"x": ring_pts[:, 0], "y": ring_pts[:, 1], "set": ring_label})
        layers.append(alt.Chart(ring_frame).mark_point(filled=False, size=45, strokeWidth=1.2, clip=True)
                      .encode(x=x, y=y, color=color))
    chart = alt.layer(*layers) if len(layers) > 1 else points
    return chart.properties(title=title, **square_size(size))


def trajectories(paths: Points, domain: tuple[float, float], *, max_paths: int = 50,
                 color: str = "#555555") -> alt.Chart:
    """Particle paths as thin lines; paths has shape (T, K, 2): T frames of K particles."""
    if hasattr(paths, "detach"):
        paths = paths.detach().cpu().numpy()
    arr = np.asarray(paths, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[2] != 2:
        raise ValueError(f"paths must have shape (frames, particles, 2), got {tuple(arr.shape)}")
    arr = arr[:, :max_paths]
    t, k, _ = arr.shape
    frame = pd.DataFrame({
        "x": arr[:, :, 0].ravel(), "y": arr[:, :, 1].ravel(),
        "step": np.repeat(np.arange(t), k), "particle": np.tile(np.arange(k), t),
    })
    frame = frame[np.isfinite(frame["x"]) & np.isfinite(frame["y"])]
    return alt.Chart(frame).mark_line(strokeWidth=0.8, opacity=0.6, color=color, clip=True).encode(
        x=alt.X("x:Q", scale=square_scales(domain)[0], title=None),
        y=alt.Y("y:Q", scale=square_scales(domain)[1], title=None, axis=SQUARE_Y_AXIS),
        detail="particle:N", order="step:Q")


# ----------------------------------------------------------------------------- vector field

@cached_chart
def vector_field(points: Points, vectors: Points, data: Points | None = None, title: str = "",
                 domain: tuple[float, float] | None = None, *, arrow_length: float | None = None,
                 size: int = SIZE, color_title: str = "‖score‖", max_points: int = MAX_POINTS,
                 seed: int = 0) -> alt.LayerChart:
    """Arrows from each grid point along its vector, all the same length.

    Only the direction is drawn to scale: near σ → 0 the score is huge close to the
    data and tiny far away, so raw arrows would be unreadable. The magnitude is in the
    colour (log scale). arrow_length defaults to 0.8 × the typical grid spacing.
    """
    p = as_points(points, "points")
    v = as_points(vectors, "vectors")
    if len(p) != len(v):
        raise ValueError(f"{len(p)} points but {len(v)} vectors: one vector per point")
    ok = np.isfinite(p).all(1) & np.isfinite(v).all(1)
    p, v = p[ok], v[ok]
    if domain is None:
        domain = square_domain(p, data)
    if arrow_length is None:
        cells = max(math.sqrt(max(len(p), 1)), 2.0)
        arrow_length = 0.8 * (domain[1] - domain[0]) / cells
    norm = np.linalg.norm(v, axis=1)
    unit = np.divide(v, norm[:, None], out=np.zeros_like(v), where=norm[:, None] > 0)
    tip = p + arrow_length * unit
    # Vega's point angle is clockwise from "up"; our y axis points up on screen.
    angle = np.degrees(np.arctan2(unit[:, 0], unit[:, 1]))
    frame = pd.DataFrame({"x": p[:, 0], "y": p[:, 1], "x2": tip[:, 0], "y2": tip[:, 1],
                          "magnitude": np.maximum(norm, 1e-12), "angle": angle})
    x = alt.X("x:Q", scale=square_scales(domain)[0], title=None)
    y = alt.Y("y:Q", scale=square_scales(domain)[1], title=None, axis=SQUARE_Y_AXIS)
    color = alt.Color("magnitude:Q", scale=alt.Scale(type="log", scheme="viridis"),
                      legend=alt.Legend(title=color_title, orient="bottom", format=".2~g", type="gradient"))
    base = alt.Chart(frame)
    # Shafts and heads have separate (identical: same data) colour scales, so that only the
    # shafts' colour bar is shown; a shared scale would merge in the heads' symbol legend.
    head_color = alt.Color("magnitude:Q", scale=alt.Scale(type="log", scheme="viridis"), legend=None)
    shafts = base.mark_rule(strokeWidth=1.4, clip=True).encode(x=x, y=y, x2="x2:Q", y2="y2:Q", color=color)
    heads = base.mark_point(shape="triangle-up", filled=True, size=22, clip=True).encode(
        x=alt.X("x2:Q", scale=square_scales(domain)[0], title=None),
        y=alt.Y("y2:Q", scale=square_scales(domain)[1], title=None, axis=SQUARE_Y_AXIS),
        angle=alt.Angle("angle:Q", scale=None), color=head_color,
        tooltip=[alt.Tooltip("x:Q", format=".2f"), alt.Tooltip("y:Q", format=".2f"),
                 alt.Tooltip("magnitude:Q", format=".3g")])
    layers = [shafts, heads]
    if data is not None:
        d = downsample(finite_rows(as_points(data, "data")), max_points, seed)
        dots = alt.Chart(pd.DataFrame({"x": d[:, 0], "y": d[:, 1]})).mark_circle(
            size=7, color=DATA_COLOR, opacity=0.8, clip=True).encode(x=x, y=y)
        layers.insert(0, dots)
    return alt.layer(*layers).resolve_scale(color="independent").properties(
        title=title, **square_size(size))


# ----------------------------------------------------------------------------- heatmap

@cached_chart
def heatmap(grid_x, grid_y, values, title: str = "", *, color_title: str = "value",
            scheme: str = "viridis", data: Points | None = None, size: int = SIZE,
            domain: tuple[float, float] | None = None, value_range: tuple[float, float] | None = None,
            max_points: int = MAX_POINTS, seed: int = 0) -> alt.Chart | alt.LayerChart:
    """A value per grid cell drawn as rectangles.

    grid_x (nx,), grid_y (ny,) are the cell centres and values has shape (ny, nx)
    (row i is y = grid_y[i]) — or all three are flat arrays of equal length on a
    regular grid (e.g. from `models.lab.metrics.score_grid`). Non-finite cells are
    left blank. value_range fixes the colour scale (values outside get the end colours),
    e.g. to show only the top 12 nats of a log density.
    """
    gx, gy, val = (np.asarray(a.detach().cpu().numpy() if hasattr(a, "detach") else a, dtype=np.float64)
                   for a in (grid_x, grid_y, values))
    if gx.ndim == 1 and gy.ndim == 1 and val.ndim == 2:
        if val.shape != (len(gy), len(gx)):
            raise ValueError(f"values has shape {val.shape}, expected (len(grid_y), len(grid_x)) = "
                             f"({len(gy)}, {len(gx)})")
        X, Y = np.meshgrid(gx, gy)
        xs, ys, vs = X.ravel(), Y.ravel(), val.ravel()
    else:
        xs, ys, vs = gx.ravel(), gy.ravel(), val.ravel()
        if not (len(xs) == len(ys) == len(vs)):
            raise ValueError("flat grid_x, grid_y and values must have the same length")
    ux, uy = np.unique(xs[np.isfinite(xs)]), np.unique(ys[np.isfinite(ys)])
    dx = float(np.min(np.diff(ux))) if len(ux) > 1 else 1.0
    dy = float(np.min(np.diff(uy))) if len(uy) > 1 else 1.0
    ok = np.isfinite(xs) & np.isfinite(ys) & np.isfinite(vs)
    xs, ys, vs = xs[ok], ys[ok], vs[ok]
    hx, hy = 0.51 * dx, 0.51 * dy  # cells overlap a hair: no white seams from anti-aliasing
    frame = pd.DataFrame({"x": xs - hx, "x2": xs + hx, "y": ys - hy, "y2": ys + hy,
                          "cx": xs, "cy": ys, "value": vs})
    if domain is None:
        lo = float(min(frame["x"].min(), frame["y"].min())) if len(frame) else -1.0
        hi = float(max(frame["x2"].max(), frame["y2"].max())) if len(frame) else 1.0
        domain = (lo, hi)
    x = alt.X("x:Q", scale=square_scales(domain)[0], title=None)
    y = alt.Y("y:Q", scale=square_scales(domain)[1], title=None, axis=SQUARE_Y_AXIS)
    rects = alt.Chart(frame).mark_rect(clip=True).encode(
        x=x, x2="x2:Q", y=y, y2="y2:Q",
        color=alt.Color("value:Q", scale=alt.Scale(scheme=scheme, domain=list(value_range), clamp=True)
                        if value_range is not None else alt.Scale(scheme=scheme),
                        legend=alt.Legend(title=color_title, orient="bottom", format=".3~g")),
        tooltip=[alt.Tooltip("cx:Q", title="x", format=".2f"), alt.Tooltip("cy:Q", title="y", format=".2f"),
                 alt.Tooltip("value:Q", format=".3g")])
    if data is None:
        return rects.properties(title=title, **square_size(size))
    d = downsample(finite_rows(as_points(data, "data")), max_points, seed)
    dots = alt.Chart(pd.DataFrame({"x": d[:, 0], "y": d[:, 1]})).mark_circle(
        size=6, color="white", opacity=0.7, clip=True).encode(x=x, y=y)
    return alt.layer(rects, dots).properties(title=title, **square_size(size))


# ----------------------------------------------------------------------------- histogram

@cached_chart
def histogram(values, title: str = "", *, bins: int = 30, x_title: str = "value",
              log_x: bool = False, extent: tuple[float, float] | None = None, rows: bool = False,
              colors: Sequence[str] | None = None, width: int | None = None,
              height: int = 220) -> alt.Chart | alt.FacetChart:
    """Histogram(s), binned here with numpy: one data row per bar (and per group).

    values: a 1-D array, or {label: array} to compare several groups on shared bins.
    rows: one small histogram per group stacked on a shared x axis (each with its own
        y scale) instead of overlaid bars — better when one group piles up in one bin.
    log_x: bins spaced evenly in log10 (for distances spanning orders of magnitude);
        non-positive values are then left out, as are non-finite ones. Values outside
        `extent` are counted in the first/last bar.
    width: plot width in pixels; None (default) fills the column.
    With rows, each group's bars are scaled to its own tallest bar (the tooltip gives the share).
    """
    groups = values if isinstance(values, Mapping) else {"values": values}
    clean: dict[str, np.ndarray] = {}
    for label, v in groups.items():
        arr = np.asarray(v.detach().cpu().numpy() if hasattr(v, "detach") else v, dtype=np.float64).ravel()
        arr = arr[np.isfinite(arr)]
        if log_x:
            arr = arr[arr > 0]
        clean[str(label)] = arr
    pooled = np.concatenate([a for a in clean.values()]) if clean else np.empty(0)
    if extent is None:
        extent = (float(pooled.min()), float(pooled.max())) if len(pooled) else (0.0, 1.0)
    lo, hi = extent
    if log_x:
        lo, hi = max(lo, 1e-12), max(hi, 1e-12)
    if not hi > lo:
        hi = lo * 10 if log_x else lo + 1.0
    edges = np.geomspace(lo, hi, bins + 1) if log_x else np.linspace(lo, hi, bins + 1)
    parts = []
    for label, arr in clean.items():
        counts, _ = np.histogram(np.clip(arr, lo, hi), bins=edges)
        share = counts / max(len(arr), 1)
        parts.append(pd.DataFrame({"start": edges[:-1], "end": edges[1:], "count": counts,
                                   "share": share, "set": label}))
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        {"start": [], "end": [], "count": [], "share": [], "set": []})
    labels = list(clean)
    palette = list(colors or PALETTE)
    if log_x:  # ticks at powers of ten only: Vega's default log ticks crowd the axis
        ticks = [10.0**k for k in range(math.ceil(math.log10(lo) - 1e-9), math.floor(math.log10(hi) + 1e-9) + 1)]
        scale = alt.Scale(type="log", domain=[lo, hi])
        axis = alt.Axis(values=ticks, format="~g", grid=False)
    else:
        scale, axis = alt.Scale(domain=[lo, hi], zero=False), alt.Axis(grid=False)
    color = alt.Color("set:N", scale=alt.Scale(domain=labels, range=palette[:len(labels)]),
                      legend=None if rows or len(labels) < 2 else alt.Legend(title=None, orient="bottom"))
    x = alt.X("start:Q", scale=scale, axis=axis, title=x_title)
    tooltip = ["set:N", alt.Tooltip("start:Q", format=".3g"), alt.Tooltip("end:Q", format=".3g"),
               "count:Q", alt.Tooltip("share:Q", format=".1%")]
    width = width if width is not None else "container"
    size = {"width": width, "height": height, "autosize": FIT_WIDTH if width == "container" else PAD}
    if rows:
        return _histogram_rows(frame, labels, x, color, tooltip, lo).properties(title=title, **size)
    chart = alt.Chart(frame).mark_rect(opacity=0.55 if len(labels) > 1 else 0.85).encode(
        x=x, x2="end:Q",
        y=alt.Y("share:Q", title="share of points", stack=None, axis=alt.Axis(format="%")),
        color=color, tooltip=tooltip)
    return chart.properties(title=title, **size)


def _histogram_rows(frame: pd.DataFrame, labels: list[str], x: alt.X, color: alt.Color, tooltip: list,
                    left: float) -> alt.LayerChart:
    """One band per group, top to bottom, each group's bars scaled to its own tallest bar, its name
    above them. One view, not a facet: Vega-Lite cannot stretch a faceted chart to its column."""
    band = {label: len(labels) - 1 - i for i, label in enumerate(labels)}  # the first group on top
    frame = frame.copy()
    tallest = frame.groupby("set")["share"].transform("max").where(lambda t: t > 0, 1.0)
    frame["y0"] = frame["set"].map(band).astype(float)
    frame["y1"] = frame["y0"] + 0.72 * frame["share"] / tallest
    y = alt.Y("y0:Q", scale=alt.Scale(domain=[0, len(labels)], nice=False, zero=True), axis=None)
    bars = alt.Chart(frame).mark_rect(opacity=0.85).encode(x=x, x2="end:Q", y=y, y2="y1:Q", color=color,
                                                            tooltip=tooltip)
    names = pd.DataFrame({"set": labels, "start": left, "y0": [band[k] + 0.78 for k in labels]})
    text = alt.Chart(names).mark_text(align="left", baseline="bottom", fontWeight="bold", dy=-1).encode(
        x=x, y=y, text="set:N")
    return alt.layer(bars, text)


# ----------------------------------------------------------------------------- bar shares

@cached_chart
def bar_shares(shares: Mapping[str, float], title: str = "", *, reference: Mapping[str, float] | None = None,
               reference_label: str = "true weight", color: str = PALETTE[0], width: int | str = "container",
               height: int = 200, show_values: bool = True) -> alt.Chart | alt.LayerChart:
    """Shares (0..1) as horizontal bars with percentage labels; `reference` adds black ticks.
    width: pixels, or "container" (default) to fill the column."""
    labels = [str(k) for k in shares]
    vals = [float(v) for v in shares.values()]
    if not all(math.isfinite(v) for v in vals):
        raise ValueError("shares must be finite numbers")
    frame = pd.DataFrame({"label": labels, "share": vals})
    y = alt.Y("label:N", sort=labels, title=None)
    x = alt.X("share:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"), title=None)
    bars = alt.Chart(frame).mark_bar(color=color).encode(x=x, y=y, tooltip=["label:N", alt.Tooltip("share:Q", format=".1%")])
    text = alt.Chart(frame).mark_text(align="left", dx=4).encode(x=x, y=y, text=alt.Text("share:Q", format=".1%"))
    layers = [bars, text] if show_values else [bars]
    if reference:
        ref = pd.DataFrame({"label": [str(k) for k in reference], "share": [float(v) for v in reference.values()],
                            "what": reference_label})
        layers.append(alt.Chart(ref).mark_tick(color="black", thickness=3, size=28).encode(
            x=x, y=alt.Y("label:N", sort=labels, title=None),
            tooltip=["what:N", alt.Tooltip("share:Q", format=".1%")]))
    return alt.layer(*layers).properties(title=title, width=width, height=height,
                                         autosize=FIT_WIDTH if width == "container" else PAD)

