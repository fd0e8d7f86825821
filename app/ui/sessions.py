"""Which browser session is asking, and whether another one is still open."""

from __future__ import annotations

from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx


def session_id() -> str:
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "no-session"


def session_alive(owner: str) -> bool:
    try:
        return Runtime.instance().is_active_session(owner)
    except Exception:  # no runtime (AppTest, bare mode): nobody to reap
        return True
