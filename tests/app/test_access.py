"""Who may change shared things: loopback means the instructor's own laptop; on a class network
the instructor signs in with the token set at start."""

from __future__ import annotations

import pytest

from models.core.access import is_loopback, token_matches
from tests.helpers import new_session


@pytest.mark.parametrize("address, local", [
    (None, True), ("127.0.0.1", True), ("127.3.4.5", True), ("localhost", True), ("::1", True), ("[::1]", True),
    ("0.0.0.0", False), ("", False), ("192.168.1.20", False), ("::", False), ("my-laptop.local", False),
])
def test_loopback_addresses(address, local):
    assert is_loopback(address) is local


def test_token_matching():
    assert token_matches("s3cret", "s3cret") and token_matches(" s3cret ", "s3cret")
    assert not token_matches("S3cret", "s3cret") and not token_matches("", "s3cret")
    assert not token_matches("anything", None) and not token_matches("", "")


def test_instructor_signs_in_only_with_the_right_token(served_to_the_class):
    at = new_session().run()
    assert not at.exception, at.exception
    at.sidebar.text_input(key="instructor_token").input("owl-41").run()
    assert any("not right" in e.value for e in at.sidebar.error)
    assert not at.session_state["instructor_signed_in"]
    at.sidebar.text_input(key="instructor_token").input("owl-42").run()
    assert at.session_state["instructor_signed_in"]
    assert any("Signed in as the instructor" in c.value for c in at.sidebar.caption)


def test_local_use_needs_no_sign_in():
    at = new_session().run()
    assert not at.exception, at.exception
    assert not [t for t in at.sidebar.text_input if t.key == "instructor_token"]


def test_wrong_tokens_back_off_and_a_new_tab_does_not_reset_it(served_to_the_class, monkeypatch):
    """150 wrong tokens at about one a second met no delay: now the 4th wrong one costs a wait, and
    while it lasts even the right token is not checked, in this tab or a new one from the same address."""
    from app.ui import access
    from models.core.access import SignInLimiter

    clock = [1000.0]
    monkeypatch.setattr(access, "LIMITER", SignInLimiter(clock=lambda: clock[0]))
    at = new_session().run()
    for _ in range(4):
        at.sidebar.text_input(key="instructor_token").input("owl-41").run()
    assert any("Too many wrong tokens: wait 2 s" in e.value for e in at.sidebar.error)
    at.sidebar.text_input(key="instructor_token").input("owl-42").run()
    assert not at.session_state["instructor_signed_in"]  # not even compared while waiting
    other_tab = new_session().run()
    other_tab.sidebar.text_input(key="instructor_token").input("owl-42").run()
    assert not other_tab.session_state["instructor_signed_in"]
    clock[0] += 2.0
    at.sidebar.text_input(key="instructor_token").input("owl-42").run()
    assert at.session_state["instructor_signed_in"]
