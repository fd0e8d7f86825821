"""A trajectory player: Play / Pause over a sampler's frames, each particle's recent path a fading tail.

No loop in the page script: while playing, a fragment reruns every FRAME_S seconds and moves
the frame slider on by one; at the last frame it stops itself (one full rerun, so the timer
ends and the button reads Play again). Pause, or dragging the slider, works at any time.
The tails come from models/score/animation.py (`trail_segments`), the same frames as the GIF;
a tail segment with an end outside the plotted square, or longer than an eighth of it, is left out (at
a large σ those are noise jumps, and they drew a web across the picture); 60 particles have a tail.

Play, the frame slider and the chart are one block PLOT_PX high plus a row: on one screen at
853×533 (1280×800 zoomed to 150 %), so the class sees the button and the picture together.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import streamlit as st

from app.ui.charts import square_scales
from models.score.animation import TRAIL_FRAMES, trail_particles, trail_segments

FRAME_S = 0.25      # seconds per frame while playing: 50 frames in about 12 s
HEAD_POINTS = 1000  # particles drawn as dots (the frames' particles are independent: the first ones are a fair subset)
PLOT_PX = 280       # the plot's height: with the controls above it, on one 853×533 screen (presenting too)
MAX_W = 640         # px, the player's width at most: wider, a square domain only adds empty margins
MAX_JUMP = 0.12     # a tail segment longer than this share of the plotted square is left out
TRAILS = 60         # particles with a tail: at a mid σ 150 noisy tails were a mesh over the cloud

ss = st.session_state


def _spec(heads: list[dict], tails: list[dict], backdrop: list[dict], domain: tuple[float, float], title: str) -> dict:
    """Vega-Lite: the data faint behind, the tails (newest darkest), the particles on top."""
    x_scale, y_scale = (s.to_dict() for s in square_scales(domain))  # one unit length on both axes
    x = {"field": "x", "type": "quantitative", "scale": x_scale, "title": None}
    y = {"field": "y", "type": "quantitative", "scale": y_scale, "title": None}
    return {
        "title": title, "height": PLOT_PX, "width": "container", "autosize": {"type": "fit-x", "contains": "padding"},
        "layer": [
            {"data": {"values": backdrop}, "mark": {"type": "circle", "clip": True, "size": 6, "color": "#cfcfcf", "opacity": 0.6},
             "encoding": {"x": x, "y": y}},
            {"data": {"values": tails}, "mark": {"type": "rule", "clip": True, "color": "#ff7f0e", "strokeWidth": 1.5},
             "encoding": {"x": x, "y": y, "x2": {"field": "x2"}, "y2": {"field": "y2"},
                          "opacity": {"field": "age", "type": "quantitative", "legend": None,
                                      "scale": {"domain": [0, TRAIL_FRAMES - 1], "range": [0.9, 0.08]}}}},
            {"data": {"values": heads}, "mark": {"type": "circle", "clip": True, "size": 10, "color": "#1f77b4", "opacity": 0.8},
             "encoding": {"x": x, "y": y}},
        ],
    }


def trajectory_player(frames: Sequence, labels: Sequence[str], backdrop: list[dict], domain: tuple[float, float],
                      key: str, extra: Callable[[], None] | None = None) -> None:
    """Play / Pause and a frame slider in one row, the chart below. `backdrop`: rows {x, y} of (thinned)
    training points; `extra` draws one more control at the row's end (a download)."""
    n = len(frames)
    frame_key, play_key = f"{key}_frame", f"{key}_playing"
    if ss.get(frame_key) is None or not 0 <= ss[frame_key] < n:
        ss[frame_key] = n - 1
    playing = bool(ss.get(play_key))

    def toggle() -> None:
        if not ss.get(play_key) and ss.get(frame_key, n - 1) >= n - 1:
            ss[frame_key] = 0  # at the end: play again from the first frame
        ss[play_key] = not ss.get(play_key)

    particles = trail_particles(len(frames[0]), TRAILS)
    window = (float(domain[0]), float(domain[1]))
    max_jump = (window[1] - window[0]) * MAX_JUMP  # longer: one step's noise at a large σ, not a path

    def view() -> None:
        if bool(ss.get(play_key)) != playing:
            st.rerun()  # Play or Pause was pressed: the whole page, so the timer starts or stops
        if playing:
            if ss[frame_key] >= n - 1:
                ss[play_key] = False
                st.rerun()  # the whole page: the timer stops and the button reads Play
            ss[frame_key] += 1
        # Pause in large type needs ~110 px: a sixth of the player (106 px presenting at 853×533) broke the word
        controls = st.columns([2, 5, 2] if extra is not None else [2, 7], vertical_alignment="bottom")
        controls[0].button("Pause" if playing else "Play", key=f"{key}_play", on_click=toggle, width="stretch",
                           icon=":material/pause:" if playing else ":material/play_arrow:",
                           help="Plays the sampler's frames in order; each particle leaves a fading trail of its "
                                f"last {TRAIL_FRAMES} frames.")
        with controls[1]:
            i = st.select_slider("Frame", options=list(range(n)), key=frame_key, format_func=lambda k: labels[k])
        if extra is not None:
            with controls[2]:
                extra()
        heads = [{"x": px, "y": py} for px, py in frames[i][:HEAD_POINTS].tolist()
                 if math.isfinite(px) and math.isfinite(py)]  # a run-off particle has no place on the chart
        st.vega_lite_chart(_spec(heads, trail_segments(frames, i, particles, window=window, max_jump=max_jump), backdrop, domain,
                                 labels[i]), width="stretch")

    with st.container(width=MAX_W, key=f"{key}_box"):  # narrower in a narrower column
        st.fragment(run_every=FRAME_S if playing else None)(view)()
