"""The Score lab's sidebar: the data, the model, its noise levels and training settings, as one Settings.

Every widget keeps its value across page switches (persist_state="session"). Steps, batch and learning
rate follow the data's measured defaults (models/score/defaults.py) until the student changes them.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from app.score_lab import session
from app.score_lab.drawing_canvas import drawing_source_ui
from app.ui.sessions import session_id
from app.ui.uploads import live_upload_owners, remember_upload
from models.core.devices import available_devices
from models.core.errors import InputError
from models.lab.datasets import DATASET_DESCRIPTIONS, DATASET_NAMES, MAX_CSV_BYTES, DatasetSpec, read_points_csv
from models.lab.uploads import save_upload
from models.score import run as training_run
from models.score.defaults import default_settings
from models.score.noise import default_sigma_max, default_sigma_min
from models.score.trainer import TrainConfig, default_single_sigma

ss = st.session_state
DEFAULTS = TrainConfig()
SOURCES = ("built-in shape", "a word", "your drawing", "your CSV")
OBJECTIVE_LABELS = {"dsm": "denoising score matching (dsm)", "sliced": "sliced score matching",
                    "implicit": "implicit score matching (Hyvärinen)"}
MODEL_LABELS = {"ncsn": "NCSN: one network for every σ", "single-sigma": "denoising score network at one σ"}
SETTINGS = {  # widget key → default; persist_state="session" keeps them across page switches
    "sl_source": SOURCES[0], "sl_dataset": "moons", "sl_text": "DIFFUSION", "sl_model": "ncsn",
    "sl_objective": "dsm", "sl_auto_ladder": True, "sl_sigma_max": None, "sl_sigma_min": None,
    "sl_levels": DEFAULTS.levels, "sl_sigma": None, "sl_steps": DEFAULTS.steps, "sl_batch": DEFAULTS.batch_size,
    "sl_lr": DEFAULTS.lr, "sl_device": "cpu", "sl_seed": DEFAULTS.seed,
}
KEEP = "session"  # widgets' persist_state: the settings survive a visit to another page


@dataclass
class Settings:
    """What the sidebar asks for: a dataset and a config, or the reason there is none."""

    spec: DatasetSpec | None
    config: TrainConfig | None
    data: object | None        # the TrainingData of `spec`, for the preview and the ladder defaults
    error: str | None          # why spec/config is missing (one line), else None
    extra_steps: int           # "Train more" adds this many steps


def _data_source_ui() -> DatasetSpec:
    """Data: a built-in shape, a word, a drawing, or an uploaded CSV (InputError until there is one)."""
    source = st.radio("Data", SOURCES, key="sl_source", persist_state=KEEP, horizontal=True)
    if source == SOURCES[0]:
        name = st.selectbox("Dataset", DATASET_NAMES, key="sl_dataset", persist_state=KEEP)
        st.caption(DATASET_DESCRIPTIONS[name])
        return DatasetSpec.builtin(name)
    if source == SOURCES[1]:
        text = st.text_input("Word to draw as points", key="sl_text", persist_state=KEEP, max_chars=24,
                             help="Up to 24 letters, digits or punctuation, drawn with a built-in font.")
        return DatasetSpec.from_text(text or "")
    if source == "your drawing":
        return drawing_source_ui()
    return _csv_source_ui()


def _csv_source_ui() -> DatasetSpec:
    """An uploaded CSV, checked and saved once per file (InputError until there is a good one)."""
    upload = st.file_uploader("CSV of x,y points", type=["csv", "txt"], key="sl_csv_upload",
                              max_upload_size=MAX_CSV_BYTES // 2**20,
                              help="Two columns of numbers (a header x,y is optional), 10 to 200,000 rows.")
    if upload is not None and ss.get("sl_csv_id") != upload.file_id:
        ss["sl_csv_id"] = upload.file_id
        ss.pop("sl_csv_path", None)
        ss.pop("sl_csv_error", None)
        try:
            points = read_points_csv(upload)
            path = save_upload(upload.name, upload.getvalue(), owner=session_id(), live_owners=live_upload_owners())
            remember_upload(path)
            ss["sl_csv_path"] = str(path)
            ss["sl_csv_info"] = f"{upload.name}: {len(points):,} points"
        except InputError as exc:
            ss["sl_csv_error"] = str(exc)
    if ss.get("sl_csv_error"):
        st.error(ss.sl_csv_error, icon=":material/error:")
    elif ss.get("sl_csv_path"):
        st.caption(ss.get("sl_csv_info", ""))
    if not ss.get("sl_csv_path"):
        raise InputError("upload a CSV file of x,y points first (or pick a built-in shape)")
    return DatasetSpec.csv(ss.sl_csv_path)


def _ladder_ui(model: str, data) -> dict:
    """The noise levels: from the data (shown) or typed in. Returns TrainConfig's σ fields."""
    if data is not None:
        d_max, d_min, d_sigma = session.cached(("ladder", data.spec, int(ss.sl_seed)), lambda: (
            default_sigma_max(data.points), default_sigma_min(data.points), default_single_sigma(data.points)))
    else:
        d_max, d_min, d_sigma = 3.0, 0.01, 0.1
    auto = st.checkbox("Noise levels from the data", key="sl_auto_ladder", persist_state=KEEP,
                       help="σ_max = the largest distance between data points; σ_min = 1% of the data's spread "
                            "(denoising network: σ = 10% of the spread).")
    levels = ss.sl_levels
    if model == "ncsn":
        if auto:
            st.caption(f"σ_max = {d_max:.3g}, σ_min = {d_min:.3g} (from the data)")
            ss.sl_sigma_max, ss.sl_sigma_min = None, None
        else:
            if ss.sl_sigma_max is None:
                ss.sl_sigma_max = float(f"{d_max:.3g}")
            if ss.sl_sigma_min is None:
                ss.sl_sigma_min = float(f"{d_min:.3g}")
            st.number_input("σ_max", key="sl_sigma_max", persist_state=KEEP, min_value=1e-4, format="%.4g")
            st.number_input("σ_min", key="sl_sigma_min", persist_state=KEEP, min_value=1e-5, format="%.4g")
        levels = st.slider("Noise levels L", 2, 30, key="sl_levels", persist_state=KEEP)
        return {"sigma": None, "sigma_max": ss.sl_sigma_max, "sigma_min": ss.sl_sigma_min, "levels": levels}
    if auto:
        st.caption(f"σ = {d_sigma:.3g} (from the data)")
        ss.sl_sigma = None
    else:
        if ss.sl_sigma is None:
            ss.sl_sigma = float(f"{d_sigma:.3g}")
        st.number_input("σ", key="sl_sigma", persist_state=KEEP, min_value=1e-5, format="%.4g")
    return {"sigma": ss.sl_sigma, "sigma_max": None, "sigma_min": None, "levels": levels}


def _follow_source_defaults(spec: DatasetSpec) -> None:
    """Steps, batch and learning rate follow the data's defaults (models/score/defaults.py) when the
    source changes; a value the student changed by hand stays as they set it."""
    new, old = default_settings(spec), ss.get("sl_defaults")
    if new == old:
        return
    for key, name in (("sl_steps", "steps"), ("sl_batch", "batch_size"), ("sl_lr", "lr")):
        if old is None or ss.get(key) == getattr(old, name):
            ss[key] = getattr(new, name)
    ss["sl_defaults"] = new


def training_settings_ui() -> Settings:
    """The sidebar: every training setting, returned as one Settings."""
    for key, default in SETTINGS.items():
        ss.setdefault(key, default)
    st.header("Training settings")
    spec, data, error = None, None, None
    try:
        spec = _data_source_ui()
        _follow_source_defaults(spec)
        data = session.load_data(spec, int(ss.sl_seed))
    except InputError as exc:
        error = str(exc)
    model = st.radio("Model", list(MODEL_LABELS), key="sl_model", persist_state=KEEP, format_func=MODEL_LABELS.get)
    objective = st.selectbox("Objective", list(OBJECTIVE_LABELS), key="sl_objective", persist_state=KEEP,
                             format_func=OBJECTIVE_LABELS.get,
                             help="All three learn the same score. Sliced and implicit score matching need no z "
                                  "or clean-point target, but a Jacobian trace (the divergence of s); their "
                                  "losses are the DSM loss minus 1: negative near the optimum.")
    ladder = _ladder_ui(model, data)
    steps = st.number_input("Training steps", min_value=10, max_value=training_run.MAX_STEPS_PER_JOB, step=500,
                            key="sl_steps", persist_state=KEEP,
                            help=f"At most {training_run.MAX_STEPS_PER_JOB:,} per press, so a shared server stays "
                                 "fair: press Train more to continue the same network.")
    batch = st.select_slider("Batch size", [32, 64, 128, 256, 512, 1024, 2048], key="sl_batch", persist_state=KEEP)
    lr = st.number_input("Learning rate", min_value=1e-6, max_value=100.0, step=1e-3, format="%g", key="sl_lr",
                         persist_state=KEEP, help="Adam, with a cosine decay to 5% over the run. Try 10 to see a run "
                                                  "blow up.")
    devices = available_devices()
    if ss.sl_device not in devices:
        ss.sl_device = "cpu"
    device = st.selectbox("Device", devices, key="sl_device", persist_state=KEEP,
                          format_func={"cpu": "CPU", "cuda": "CUDA GPU", "mps": "Apple GPU (MPS)"}.get)
    seed = st.number_input("Seed", min_value=0, max_value=2**31 - 1, step=1, key="sl_seed", persist_state=KEEP)
    config = None
    try:
        config = training_run.training_config(model=model, objective=objective, steps=steps, batch_size=batch,
                                              lr=lr, device=device, seed=seed,
                                              hidden=default_settings(spec).hidden, **ladder)
    except InputError as exc:
        error = error or str(exc)
    return Settings(spec=spec, config=config, data=data, error=error, extra_steps=int(steps))
