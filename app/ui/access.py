"""Instructor sign-in for a class network (see models/core/access.py): `can_edit()` guards shared things."""

from __future__ import annotations

import os

import streamlit as st

from models.core.access import CLASSROOM_ENV, TOKEN_ENV, is_loopback, token_matches

SIGNED_IN = "instructor_signed_in"


def served_to_the_network() -> bool:
    return os.environ.get(CLASSROOM_ENV) == "1" or not is_loopback(st.get_option("server.address"))


def can_edit() -> bool:
    """May this browser session change the shared prompt file and images?"""
    return not served_to_the_network() or bool(st.session_state.get(SIGNED_IN))


def _sign_in() -> None:
    st.session_state[SIGNED_IN] = token_matches(st.session_state.pop("instructor_token", ""),
                                                os.environ.get(TOKEN_ENV))
    st.session_state["instructor_tried"] = True


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
                st.error("That token is not right.", icon=":material/error:")
