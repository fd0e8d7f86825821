"""Instructor sign-in for a class network (see models/core/access.py): `can_edit()` guards shared things."""

from __future__ import annotations

import os

import streamlit as st

from app.ui.sessions import session_id
from models.core.access import CLASSROOM_ENV, TOKEN_ENV, SignInLimiter, is_loopback, token_matches

SIGNED_IN = "instructor_signed_in"
LIMITER = SignInLimiter()  # one per server: wrong tokens back off per session and per address


def served_to_the_network() -> bool:
    return os.environ.get(CLASSROOM_ENV) == "1" or not is_loopback(st.get_option("server.address"))


def can_edit() -> bool:
    """May this browser session change the shared prompt file and images?"""
    return not served_to_the_network() or bool(st.session_state.get(SIGNED_IN))


def _limit_keys() -> tuple[str, str]:
    try:
        address = st.context.ip_address
    except Exception:  # no server (a test, bare mode)
        address = None
    return f"session {session_id()}", f"address {address or 'local'}"


def _sign_in() -> None:
    state = st.session_state
    given = state.pop("instructor_token", "")
    state["instructor_tried"] = True
    keys = _limit_keys()
    wait = LIMITER.wait_s(*keys)
    if wait > 0:  # waiting: the token is not even compared
        state[SIGNED_IN], state["instructor_wait"] = False, wait
        return
    state[SIGNED_IN] = token_matches(given, os.environ.get(TOKEN_ENV))
    if state[SIGNED_IN]:
        LIMITER.succeeded(*keys)
        state["instructor_wait"] = 0.0
    else:
        state["instructor_wait"] = LIMITER.failed(*keys)


def instructor_sign_in_ui() -> None:
    """A small sidebar box, shown only when the app is served to the network."""
    if not served_to_the_network():
        return
    with st.sidebar:
        if st.session_state.get(SIGNED_IN):
            st.caption(":material/lock_open: Signed in as the instructor: editing is on.")
            if st.button("Sign out", key="instructor_sign_out"):
                st.session_state[SIGNED_IN] = False
                st.rerun()
            return
        if not os.environ.get(TOKEN_ENV):
            st.caption(":material/lock: Read-only for shared things (no instructor token was set at start).")
            return
        with st.expander("Instructor sign-in", icon=":material/lock:"):
            st.text_input("Instructor token", type="password", key="instructor_token", on_change=_sign_in)
            if st.session_state.get("instructor_tried") and not st.session_state.get(SIGNED_IN):
                wait = st.session_state.get("instructor_wait", 0.0)
                st.error("That token is not right." if not wait else
                         f"Too many wrong tokens: wait {wait:.0f} s before the next try (tries before then "
                         "are not checked).", icon=":material/error:")
