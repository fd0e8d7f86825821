"""The Score lab's "your drawing" source: a canvas to sketch strokes or click points on.

The sketch becomes points in models/score/drawing.py and is stored like an uploaded CSV
(models/score/uploads.py), so it trains through the one route every CSV takes
(`DatasetSpec.csv` → `read_points_csv`). The canvas is streamlit-drawable-canvas (its
Fabric.js frontend ships inside the wheel: nothing is fetched from the network).
"""

from __future__ import annotations

import hashlib
import json

import streamlit as st
from streamlit_drawable_canvas import st_canvas

from app.ui.sessions import session_id
from app.ui.uploads import live_upload_owners, remember_upload
from models.core.errors import InputError
from models.lab.datasets import DatasetSpec
from models.lab.drawing import DRAWN_POINTS, drawing_csv, drawing_summary
from models.lab.uploads import forget_uploads, save_upload

CANVAS_SIZE = 240  # pixels: the sidebar's width inside its padding (at its default width)
CANVAS_KEY = "sl_canvas"
TOOLBAR_PX = 40  # the height of the toolbar Streamlit shows above the canvas's top edge
PEN_MODES = {"freedraw": "draw strokes", "point": "click points"}
FILE_NAME = "your-drawing.csv"

ss = st.session_state


def _restore_point() -> dict | None:
    """The drawing the canvas starts from. It changes only when the canvas is mounted afresh
    (after a visit to another page, Streamlit forgets a widget's state): then the last sketch
    comes back. While the canvas is on screen it stays the same, so a rerun never redraws
    (and never drops a stroke drawn while the rerun was on its way)."""
    if CANVAS_KEY not in ss:
        ss["sl_drawing_base"] = ss.get("sl_drawing")
    return ss.get("sl_drawing_base")


def drawing_source_ui() -> DatasetSpec:
    """The canvas and its pen; the sketch as a CSV dataset (InputError while the canvas is empty)."""
    mode = st.radio("Pen", list(PEN_MODES), key="sl_pen", persist_state="session", horizontal=True, format_func=PEN_MODES.get,
                    help=f"Strokes and clicked points become {DRAWN_POINTS:,} training points along your ink. "
                         "The bin icon above the canvas clears it; the pencil icon moves or deletes a stroke.")
    st.space(TOOLBAR_PX)  # the canvas's toolbar (upload, undo, redo, edit, clear) sits in this gap, not over the pen
    result = st_canvas(stroke_width=3, stroke_color="#1f77b4", background_color="#ffffff", height=CANVAS_SIZE,
                       width=CANVAS_SIZE, drawing_mode=mode, point_display_radius=3,
                       initial_drawing=_restore_point(), key=CANVAS_KEY)
    drawing = result.json_data if result.json_data is not None else ss.get("sl_drawing")
    ss["sl_drawing"] = drawing
    return _as_dataset(drawing)


def _as_dataset(drawing: dict | None) -> DatasetSpec:
    """Save the sketch's points (once per distinct sketch) and name them as a CSV dataset."""
    objects = (drawing or {}).get("objects") or []
    digest = hashlib.sha1(json.dumps(objects, sort_keys=True).encode()).hexdigest()
    if ss.get("sl_drawing_digest") != digest:
        previous = ss.pop("sl_drawing_path", None)
        if previous:  # one file per session, not one per stroke (a trained run keeps its points in memory)
            forget_uploads([previous])
        ss["sl_drawing_digest"] = digest
        content = drawing_csv(drawing, CANVAS_SIZE)  # InputError for an empty canvas: before anything is saved
        path = save_upload(FILE_NAME, content, owner=session_id(), live_owners=live_upload_owners())
        remember_upload(path)
        ss["sl_drawing_path"], ss["sl_drawing_info"] = str(path), drawing_summary(drawing, CANVAS_SIZE)
    if not ss.get("sl_drawing_path"):
        raise InputError("the canvas is empty: draw a shape or click some points first")
    st.caption(f"{ss.sl_drawing_info} → {DRAWN_POINTS:,} points")
    return DatasetSpec.csv(ss.sl_drawing_path)
