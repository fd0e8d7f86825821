"""A trajectory player: Play / Pause over a sampler's frames, each particle's recent path a fading tail.

No loop in the page script: while playing, a fragment reruns every FRAME_S seconds and moves
the frame slider on by one; at the last frame it stops itself (one full rerun, so the timer
ends and the button reads Play again). Pause, or dragging the slider, works at any time.
The tails come from models/score/animation.py (`trail_segments`), the same frames as the GIF.
"""

from __future__ import annotations

import math
from typing import Sequence

import streamlit as st

from models.score.animation import TRAIL_FRAMES, trail_particles, trail_segments

FRAME_S = 0.25      # seconds per frame while playing: 50 frames in about 12 s
HEAD_POINTS = 1000  # particles drawn as dots (the frames' particles are independent: the first ones are a fair subset)

ss = st.session_state


def _spec(heads: list[dict], tails: list[dict], backdrop: list[dict], domain: tuple[float, float], title: str) -> dict:
    """Vega-Lite: the data faint behind, the tails (newest darkest), the particles on top."""
    scale = {"domain": list(domain), "nice": False}
    x = {"field": "x", "type": "quantitative", "scale": scale, "title": None}
    y = {"field": "y", "type": "quantitative", "scale": scale, "title": None}
    return {
        "title": title, "height": 400, "width": "container", "autosize": {"type": "fit-x", "contains": "padding"},
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
                      key: str) -> None:
    """Play / Pause, a frame slider and the chart. `backdrop`: rows {x, y} of (thinned) training points."""
    n = len(frames)
    frame_key, play_key = f"{key}_frame", f"{key}_playing"
    if ss.get(frame_key) is None or not 0 <= ss[frame_key] < n:
        ss[frame_key] = n - 1
    playing = bool(ss.get(play_key))

    def toggle() -> None:
        if not ss.get(play_key) and ss.get(frame_key, n - 1) >= n - 1:
            ss[frame_key] = 0  # at the end: play again from the first frame
        ss[play_key] = not ss.get(play_key)

    st.button("Pause" if playing else "Play", key=f"{key}_play", on_click=toggle,
              icon=":material/pause:" if playing else ":material/play_arrow:",
              help="Plays the sampler's frames in order; each particle leaves a fading trail of its last "
                   f"{TRAIL_FRAMES} frames.")
    particles = trail_particles(len(frames[0]))

    def view() -> None:
        if ss.get(play_key):
            if ss[frame_key] >= n - 1:
                ss[play_key] = False
                st.rerun()  # the whole page: the timer stops and the button reads Play
            ss[frame_key] += 1
        i = st.select_slider("Frame", options=list(range(n)), key=frame_key, format_func=lambda k: labels[k])
        heads = [{"x": px, "y": py} for px, py in frames[i][:HEAD_POINTS].tolist()
                 if math.isfinite(px) and math.isfinite(py)]  # a run-off particle has no place on the chart
        st.vega_lite_chart(_spec(heads, trail_segments(frames, i, particles), backdrop, domain, labels[i]),
                           width="stretch")

    st.fragment(run_every=FRAME_S if playing else None)(view)()
