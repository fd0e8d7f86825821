"""Memorization vs generalization: the optimal score of a finite training set copies it.

Left: annealed Langevin with the EXACT score of the training points smoothed by
N(0, σ²I) (the "empirical optimal" score: the exact minimizer of the training loss on these
points, which a network with unlimited capacity and training would approach). Right: the
same sampler with a small NCSN trained on the same points in a background job.
The yardstick is the distance from each sample to its nearest training point.
"""

import numpy as np
import streamlit as st

from app.ui import charts, presentation
from app.score_pages.memorization import NetworkSettings, network_job
from app.ui.job_status import background_progress
from models.lab.datasets import DATASET_DESCRIPTIONS, DATASET_NAMES, sample_dataset
from models.lab.metrics import nearest_distances
from models.lab.run import TrainingProgress
from models.score.experiments import empirical_optimal_samples, training_points

DIST_FLOOR = 1e-4  # log-scale histogram: distances below this (exact copies) go in the first bar
DIST_HELP = "Distance from each sample to its nearest training point; the median over all samples."
COLORS = {"empirical optimal score": charts.PALETTE[0], "trained network": charts.PALETTE[1],
          "fresh data (yardstick)": "#888888"}


@st.cache_data(show_spinner=False, max_entries=16)
def empirical_samples(name: str, n_train: int, n_samples: int, seed: int) -> np.ndarray:
    """Annealed Langevin + final Tweedie step with the exact score of the smoothed training set."""
    return empirical_optimal_samples(name, n_train, n_samples, seed)


def training_progress(snap: TrainingProgress) -> None:
    if snap.phase == "sampling":
        st.progress(1.0, "Trained. Sampling with the network…")
    else:
        done, total = snap.step or 0, steps if snap.total is None else snap.total
        loss = float("nan") if snap.loss is None else snap.loss
        loss_text = f" · loss {loss:.3g}" if np.isfinite(loss) else ""
        st.progress(min(done / max(total, 1), 1.0), f"Training in the background: step {done}/{total}{loss_text}")


st.title("Memorization vs generalization")
st.markdown(
    "Do diffusion models **copy** their training images or **combine** what they learned? With a finite "
    "training set $\\{x_i\\}_{i=1}^N$ the answer for the *optimal* model is stark. The best possible score "
    "for the training set — the exact score of the points smoothed by $\\mathcal N(0,\\sigma^2 I)$ — is"
)
st.latex(r"\nabla_x \log \hat p_\sigma(x) = \frac{\sum_i r_i(x)\, x_i - x}{\sigma^2},\qquad "
         r"r_i(x) = \operatorname{softmax}_i\!\left(-\frac{\lVert x - x_i\rVert^2}{2\sigma^2}\right)")
st.markdown(
    "As $\\sigma \\to 0$ the weights $r_i$ pick the single nearest training point, so following this score "
    "can only lead **back to a training point**. A network trained on the same points is not that optimal "
    "function: let's see where its samples land."
)

c1, c2, c3, c4, c5 = st.columns(5)
name = c1.selectbox("dataset", DATASET_NAMES, index=DATASET_NAMES.index("moons"), key="mem_dataset")
n_train = c2.slider("training points", 20, 200, 50, step=10, key="mem_n_train")
n_samples = c3.select_slider("samples", [250, 500, 1000, 2000], 1000, key="mem_n_samples")
steps = c4.select_slider("network training steps", [300, 1000, 1500, 3000], 1500, key="mem_steps")
seed = int(c5.number_input("seed", 0, 10_000, 0, key="mem_seed"))
st.caption(DATASET_DESCRIPTIONS[name])

train = training_points(name, n_train, seed)
spread = float(train.std(0).mean())
domain = charts.square_domain(sample_dataset(name, 2000, seed=seed + 1))
fresh = sample_dataset(name, n_samples, seed=seed + 1000).numpy()
d_fresh = nearest_distances(fresh, train)

with st.spinner("Sampling with the empirical optimal score…"):
    emp = empirical_samples(name, n_train, n_samples, seed)
d_emp = nearest_distances(emp, train)

job = network_job(NetworkSettings(name, n_train, n_samples, seed, steps))
net = job.result if job is not None and job.finished_ok else None
d_net = nearest_distances(net["samples"], train) if net is not None else None


def sample_chart(samples, label: str, title: str):
    return charts.scatter({label: samples}, None, title, domain, rings=train, colors=[COLORS[label]],
                          point_size=10, size=320)


left, right = st.columns(2)
with left:
    st.subheader("Empirical optimal score")
    presentation.chart(sample_chart(emp, "empirical optimal score", f"{n_samples} samples, {n_train} training points"))
    st.metric("Empirical score: median distance", f"{np.nanmedian(d_emp):.3g}", help=DIST_HELP)

with right:
    st.subheader(f"Trained network (NCSN, {steps} steps)")
    if net is not None:
        presentation.chart(sample_chart(net["samples"], "trained network",
                                        f"{n_samples} samples, trained {net['steps']} steps in {net['seconds']:.0f} s"))
        st.metric("Network: median distance", f"{np.nanmedian(d_net):.3g}", help=DIST_HELP)
    elif job is None:
        st.info(f"The network waits: {st.session_state.get('mem_busy', '')}.", icon=":material/hourglass_top:")
        st.button("Try again", key="mem_try_again")
    elif not job.is_finished:
        background_progress(job, training_progress, stop_key="mem_stop", stop_label="Stop training")
    else:
        if job.error:
            st.error(f"Training failed: {job.error}")
        else:
            st.warning("Training was stopped.")
        st.button("Train again", key="mem_retry_button", on_click=lambda: st.session_state.update(mem_retry=True))

st.subheader("How far is each sample from the training set?")
groups = {"empirical optimal score": d_emp}
if d_net is not None:
    groups["trained network"] = d_net
groups["fresh data (yardstick)"] = d_fresh
clipped = {k: np.maximum(v[np.isfinite(v)], DIST_FLOOR) for k, v in groups.items()}
top = max(float(v.max()) for v in clipped.values() if len(v))
h1, h2 = st.columns([3, 1])
with h1:
    presentation.chart(charts.histogram(clipped, "", bins=40, log_x=True, rows=True,
                                        extent=(DIST_FLOOR, max(top, 10 * DIST_FLOOR)),
                                        x_title=f"distance to the nearest training point (log scale; "
                                                f"≤ {DIST_FLOOR:g} counted in the first bar)",
                                        colors=[COLORS[k] for k in clipped], height=270))
with h2:
    st.metric("Fresh data: median distance", f"{np.nanmedian(d_fresh):.3g}",
              help="New points drawn from the same distribution as the training set: how far from the "
                   "training set a genuinely new point typically is. " + DIST_HELP)
    st.metric("Data spread", f"{spread:.3g}", help="Mean per-axis standard deviation of the training points.")
    copies = float(np.mean(d_emp < 0.01 * spread))
    st.metric("Empirical samples that are copies", f"{copies:.0%}",
              help="Share of samples closer than 1% of the data spread to a training point.")
    if d_net is not None:
        st.metric("Network samples that are copies", f"{float(np.mean(d_net < 0.01 * spread)):.0%}",
                  help="Share of the network's samples closer than 1% of the data spread to a training point.")

st.info(
    "**What to notice**\n\n"
    "- With the empirical optimal score essentially every sample **is** a training point (distance ≈ 0): the "
    "optimal denoiser of a finite dataset memorizes it.\n"
    "- When the network generalizes, its samples sit about as far from the training set as **fresh data** does "
    "(compare the two medians): they are new points on the shape the training points suggest. The network does "
    "not reach the training set's optimal score — its smoothness "
    "(inductive bias) and limited capacity and training make it *interpolate* between training points.\n"
    "- Try 20 training points and 3000 steps, or more training points: memorization grows with capacity and "
    "training time relative to the data size.\n"
    "- Back to the gallery: an image model that produced only near-copies of its training images would be this "
    "left panel. Novel combinations are evidence of the right panel's behaviour — and exact copies of heavily "
    "duplicated training images are the left panel showing through."
)
