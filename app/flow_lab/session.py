"""How FLUX samples: session glue. Which flows belong to this tab, and the buttons' actions.

A tab holds up to three flows under fixed slots: "main" (the flow trained on the chosen data),
"reflow" (its reflow) and "guided" (the class-conditional flow of the guidance section). Each
trains in the shared job pool (one job per session at a time, as in the Score lab); the flows
and their workers live in models/flow/run.py.
"""

from __future__ import annotations

import streamlit as st

from app.ui.resources import job_pool, run_gone_notice, run_registry
from app.ui.sessions import session_id
from app.ui.tab_run import session_cache
from models.flow import run as flow
from models.lab.run import training_job

RUNS_KEY = "flux_flow_runs"
RUNS_ID_KEY = "flux_flow_runs_id"
URL_PARAM = "flow"    # ?flow=<id>: a reloaded tab finds its flows again (app.ui.resources.run_registry)
CACHE_KEY = "flux_flow_cache"
SLOTS = ("main", "reflow", "guided")


def runs() -> dict:
    return st.session_state.setdefault(RUNS_KEY, {})


def attach() -> None:
    """After a browser reload: take back the flows named in the URL (their running jobs change owner);
    otherwise keep the URL naming this tab's flows, so a reload finds them."""
    ss = st.session_state
    if RUNS_KEY not in ss and URL_PARAM in st.query_params:
        found = run_registry().get(st.query_params[URL_PARAM], kind=dict, owner=session_id())  # {slot: FlowRun}
        if found is None:
            del st.query_params[URL_PARAM]  # expired or never ours: start clean, and say why
            run_gone_notice("set of flows")
        else:
            ss[RUNS_KEY], ss[RUNS_ID_KEY] = found, st.query_params[URL_PARAM]
            for run in found.values():
                if run.job is not None and not run.job.is_finished:
                    job_pool().adopt(run.job, session_id())
    if ss.get(RUNS_ID_KEY) and st.query_params.get(URL_PARAM) != ss[RUNS_ID_KEY]:
        st.query_params[URL_PARAM] = ss[RUNS_ID_KEY]


def _remember() -> None:
    """Register this tab's flows once, by a random id in the URL."""
    ss = st.session_state
    if not ss.get(RUNS_ID_KEY):
        ss[RUNS_ID_KEY] = run_registry().register(runs(), owner=session_id())
        st.query_params[URL_PARAM] = ss[RUNS_ID_KEY]


def current(slot: str) -> flow.FlowRun | None:
    return runs().get(slot)


def cached(key: tuple, compute):
    """Per-session memo for results of this tab's flows (keys carry the run's id and step count)."""
    return session_cache(CACHE_KEY, 40, key, compute)


def _check_no_other_job() -> None:
    """A job another button started must finish first; one a page started on its own is stopped instead."""
    job_pool().check_free(session_id())


def _submit(slot: str, run: flow.FlowRun, work) -> None:
    _check_no_other_job()
    run.job = job_pool().submit(run.training_task(work), name=f"flow {slot} training", owner=session_id())
    forget(slot)
    runs()[slot] = run
    _remember()


def train(slot: str, run: flow.FlowRun) -> None:
    """Train a fresh flow in `slot` (the old one there is stopped and dropped). A new main flow drops its reflow."""
    _submit(slot, run, training_job)
    if slot == "main":
        forget("reflow")


def train_reflow() -> None:
    parent = current("main")
    if parent is None:
        return
    _submit("reflow", flow.reflow_run(parent), flow.reflow_job)


def stop(slot: str) -> None:
    run = current(slot)
    if run is not None and run.job is not None:
        run.job.cancel()


def forget(slot: str) -> None:
    run = runs().pop(slot, None)
    if run is not None and run.job is not None:
        run.job.cancel()
        run.job.result = None


def running(slot: str) -> bool:
    run = current(slot)
    return run is not None and run.running


def any_running() -> bool:
    return any(running(slot) for slot in SLOTS)


def set_loaded(run: flow.FlowRun) -> str:
    """Make a flow loaded from a zip this tab's flow: a class-conditional one in "guided", else "main"."""
    slot = "guided" if run.config.conditional else "main"
    forget(slot)
    if slot == "main":
        forget("reflow")
    runs()[slot] = run
    _remember()
    return slot
