"""One run per browser tab, for a page that trains one model at a time (Score lab, Text to image).

The run is kept in `st.session_state`, registered in the server's run registry and named in the URL
(`?run=ID`), so a reloaded tab finds it again and takes its running job back; its job is the tab's one
job (`OneJobPerSession`). Pictures and numbers computed from it are memoized per tab (`session_cache`).
"""

from __future__ import annotations

from typing import Any, Callable

import streamlit as st

from app.ui.resources import job_pool, run_gone_notice, run_registry
from app.ui.sessions import session_id

URL_PARAM = "run"


def session_cache(name: str, limit: int, key: tuple, compute: Callable[[], Any]) -> Any:
    """A per-tab memo under `st.session_state[name]`, emptied whole when it passes `limit` entries."""
    store = st.session_state.setdefault(name, {})
    if key not in store:
        if len(store) > limit:
            store.clear()
        store[key] = compute()
    return store[key]


class TabRun:
    """This tab's run of one `kind`, under `st.session_state[run_key]` (its registry id under run_key + "_id")."""

    def __init__(self, run_key: str, kind: type, cache_key: str, cache_limit: int):
        self.run_key, self.id_key, self.kind = run_key, run_key + "_id", kind
        self.cache_key, self.cache_limit = cache_key, cache_limit

    def current(self):
        """This tab's run; after a browser reload, the run named in the URL (its job changes owner)."""
        ss = st.session_state
        run = ss.get(self.run_key)
        if run is None and URL_PARAM in st.query_params:
            run = run_registry().get(st.query_params[URL_PARAM], kind=self.kind, owner=session_id())
            if run is None:
                del st.query_params[URL_PARAM]  # expired, or another page's run: start clean, and say why
                run_gone_notice("training run")
                return None
            ss[self.run_key], ss[self.id_key] = run, st.query_params[URL_PARAM]
            if run.job is not None and not run.job.is_finished:
                job_pool().adopt(run.job, session_id())
        if run is not None and st.query_params.get(URL_PARAM) != ss.get(self.id_key):
            st.query_params[URL_PARAM] = ss[self.id_key]  # back on this page: a reload finds it
        return run

    def keep(self, run) -> None:
        """Make `run` this tab's run."""
        run_id = run_registry().register(run, owner=session_id())
        st.session_state[self.run_key], st.session_state[self.id_key] = run, run_id
        st.query_params[URL_PARAM] = run_id

    def check_free(self) -> None:
        """OneJobPerSession when another of this tab's jobs (not its run's own) must finish first; a job a
        page started on its own (Memorization's network) is stopped by the press instead."""
        run = self.current()
        job_pool().check_free(session_id(), mine=run.job if run is not None else None)

    def stop(self) -> None:
        run = self.current()
        if run is not None and run.job is not None:
            run.job.cancel()

    def reset(self) -> None:
        """Stop and forget this tab's run (frees its model, data and cached results)."""
        run = st.session_state.pop(self.run_key, None)
        if run is not None and run.job is not None:
            run.job.cancel()
            run.job.result = None
        run_registry().forget(st.session_state.pop(self.id_key, None))
        if URL_PARAM in st.query_params:
            del st.query_params[URL_PARAM]
        st.session_state.pop(self.cache_key, None)

    def cached(self, key: tuple, compute: Callable[[], Any]) -> Any:
        """Per-tab memo for results of the current run (emptied on reset and on a new run)."""
        return session_cache(self.cache_key, self.cache_limit, key, compute)
