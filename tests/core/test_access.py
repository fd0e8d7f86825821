"""The instructor sign-in's back-off: wrong tokens slow down per browser session and per address."""

from __future__ import annotations

import logging

from models.core.access import SignInLimiter


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_wrong_tokens_back_off_per_session_and_per_address():
    clock = Clock()
    limiter = SignInLimiter(free_tries=3, base_delay_s=2.0, max_delay_s=60.0, clock=clock)
    keys = ("session:a", "address:10.0.0.5")
    for _ in range(3):  # a typo or two costs nothing
        assert limiter.wait_s(*keys) == 0
        limiter.failed(*keys)
    assert limiter.wait_s(*keys) == 0
    assert limiter.failed(*keys) == 2.0  # the 4th wrong token: wait 2 s, then 4, 8, ...
    assert limiter.wait_s(*keys) == 2.0
    # A new tab (another session) from the same address waits too; another address does not.
    assert limiter.wait_s("session:b", "address:10.0.0.5") == 2.0
    assert limiter.wait_s("session:c", "address:10.0.0.6") == 0
    clock.now += 2.0
    assert limiter.wait_s(*keys) == 0 and limiter.failed(*keys) == 4.0
    waits = []
    for _ in range(10):
        clock.now += limiter.wait_s(*keys)
        waits.append(limiter.failed(*keys))
    assert waits[-1] == 60.0 and waits == sorted(waits)  # doubling, capped
    limiter.succeeded(*keys)
    assert limiter.wait_s(*keys) == 0


def test_150_wrong_tokens_at_one_a_second_get_almost_nowhere():
    """The hostile test sent 150 tokens at about one a second and met no delay."""
    clock = Clock()
    limiter = SignInLimiter(clock=clock)
    checked = 0
    for _ in range(150):
        if limiter.wait_s("session:s", "address:a") == 0:
            checked += 1
            limiter.failed("session:s", "address:a")
        clock.now += 1.0
    assert checked <= 10


def test_failed_attempts_are_logged_without_the_token(caplog):
    limiter = SignInLimiter(clock=Clock())
    with caplog.at_level(logging.WARNING, logger="models.core.access"):
        limiter.failed("session:abc", "address:10.0.0.5")
    assert "instructor sign-in failed" in caplog.text and "10.0.0.5" in caplog.text


def test_the_table_of_failures_stays_small():
    clock = Clock()
    limiter = SignInLimiter(clock=clock, max_keys=100)
    for i in range(1000):
        limiter.failed(f"session:{i}")
    assert len(limiter) <= 100
    clock.now += 10**6  # old entries are forgotten
    assert limiter.wait_s("session:999") == 0
