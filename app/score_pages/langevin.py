"""The Langevin page's pieces: each sampler's result column, and the network section (an NCSN trained
on samples of the paper's toy in the shared pool, then both samplers run with it)."""

from __future__ import annotations

import streamlit as st

from app.ui import charts, presentation
from app.ui.job_status import background_progress, submit_page_job
from models.lab.run import TrainingProgress
from models.score.experiments import NCSN_TOY, ToySampling, ncsn_toy_run, ncsn_toy_run_samples, ncsn_toy_sampling
from models.score.run import train_then_sample_task

MODE_LABELS = ["(−5, −5)", "(5, 5)"]
TRUE_SHARES = dict(zip(MODE_LABELS, NCSN_TOY.weights))
DOMAIN = (-9.0, 9.0)
N_PATHS = 10
PATH_SIGMA_MAX = 4.0  # annealed paths are drawn from the levels with σ at most this
NET_STEPS = 2000     # a rough NCSN of this mixture: a few seconds on a laptop CPU
NET_SAMPLES = 1000


@st.cache_data(show_spinner=False, max_entries=16)
def run_sampler(kind: str, n: int, seed: int, eps: float, steps: int, sigma_max: float = 20.0,
                sigma_min: float = 1.0, levels: int = 10, final_denoise: bool = False) -> ToySampling:
    """Samples, a few trajectories (frames × particles × 2), the mode shares and the heavy mode's std."""
    return ncsn_toy_sampling(kind, n=n, seed=seed, eps=eps, steps=steps, sigma_max=sigma_max, sigma_min=sigma_min,
                             levels=levels, final_denoise=final_denoise, n_paths=N_PATHS,
                             path_sigma_max=PATH_SIGMA_MAX)


def sampler_column(name: str, result: ToySampling, settings: str, data) -> None:
    """One sampler's samples with a few particle paths, its mode shares against the truth, its spread."""
    samples, paths, shares, heavy_std = result.samples, result.paths, result.shares, result.heavy_std
    short = name.split()[0]
    st.subheader(name)
    st.caption(settings)
    paths_note = "every 1% of the run" if short == "Plain" else f"end of each level with σ ≤ {PATH_SIGMA_MAX:g}"
    presentation.chart(charts.scatter(samples, data, f"{N_PATHS} particle paths ({paths_note})",
                                      DOMAIN, paths=paths, size=330))
    m1, m2 = st.columns(2)
    m1.metric(f"{short} · share at (5, 5)", f"{shares[1]:.1%}", f"{shares[1] - 0.8:+.1%} vs true 80%",
              delta_color="off")
    m2.metric(f"{short} · share at (−5, −5)", f"{shares[0]:.1%}", f"{shares[0] - 0.2:+.1%} vs true 20%",
              delta_color="off")
    presentation.chart(charts.bar_shares(dict(zip(MODE_LABELS, shares)), reference=TRUE_SHARES,
                                         height=70, show_values=False))
    st.caption(f"Spread of the (5, 5) mode: std {heavy_std:.2f} per axis (truth 1.00).")


def network_section(seed: int, data) -> None:
    """Train (again), its progress, then each sampler's samples and heavy-mode share with the network."""
    net_job = st.session_state.get("lv_net_job")
    if st.button("Train the network" if net_job is None else "Train again", key="lv_train"):
        net_job = submit_page_job("lv_net_job", train_then_sample_task(ncsn_toy_run(NET_STEPS, seed), ncsn_toy_run_samples,
                                                                      n=NET_SAMPLES, seed=seed),
                                  name="Langevin page: NCSN on ncsn-mixture")
    if net_job is not None and not net_job.is_finished:
        background_progress(net_job, network_progress, stop_key="lv_stop")
    elif net_job is not None and net_job.finished_ok and net_job.result:
        ncols = st.columns(2)
        for col, kind, name in zip(ncols, ("langevin", "annealed"), ("Plain Langevin (network at σ = 1)",
                                                                      "Annealed Langevin (network)")):
            samples, shares = net_job.result[kind]
            with col:
                presentation.chart(charts.scatter(samples, data, name, DOMAIN, size=260))
                st.metric(f"Network, {name.split()[0].lower()} · share at (5, 5)", f"{shares[1]:.1%}",
                          f"{shares[1] - 0.8:+.1%} vs true 80%", delta_color="off")
    elif net_job is not None:
        st.warning(f"Training failed: {net_job.error}" if net_job.error else "Training was stopped.")


def network_progress(snap: TrainingProgress) -> None:
    if snap.phase != "sampling":
        done, total = snap.step or 0, NET_STEPS if snap.total is None else snap.total
        st.progress(min(done / max(total, 1), 1.0), f"Training: step {done}/{total}")
    else:
        st.progress(1.0, f"Trained; {snap.phase}…")
