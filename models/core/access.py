"""Who may change what everyone shares (the lesson's prompt file, the gallery's images).

On the instructor's own laptop (the app served on loopback) that is whoever sits at it.
Served to a class network (or with `DC_CLASSROOM_MODE=1`, to rehearse what students
see), every browser is read-only for shared things until the instructor types the
token set at start (`DC_INSTRUCTOR_TOKEN`). Students still train
their own models and generate their own images.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import threading
import time
from typing import Callable

log = logging.getLogger(__name__)

TOKEN_ENV = "DC_INSTRUCTOR_TOKEN"
CLASSROOM_ENV = "DC_CLASSROOM_MODE"  # "1": behave as if served to the class, even on loopback (rehearse, test)


def is_loopback(address: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and "localhost"; None (no server: a test, bare mode) counts as local.
    An empty address makes Streamlit listen on every interface: not loopback."""
    if address is None:
        return True
    host = address.strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def token_matches(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison; no token configured means nobody signs in."""
    if not expected or not given:
        return False
    return hmac.compare_digest(given.strip().encode(), expected.strip().encode())


class SignInLimiter:
    """Back-off for wrong instructor tokens, per key (a browser session, an address), for one server.

    The first `free_tries` wrong tokens of a key cost nothing (a typo); each further one makes that key
    wait `base_delay_s`, then twice as long, up to `max_delay_s`. A try is checked against every key it
    carries, so a new tab from the same address waits as well. While a key waits, no token is compared
    at all. A key is forgotten `forget_after_s` after its last failure; at most `max_keys` are kept (the
    oldest go first). Every failure is logged (never the token). Thread-safe.
    """

    def __init__(self, *, free_tries: int = 3, base_delay_s: float = 2.0, max_delay_s: float = 300.0,
                 forget_after_s: float = 3600.0, max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.free_tries, self.base_delay_s, self.max_delay_s = free_tries, base_delay_s, max_delay_s
        self.forget_after_s, self.max_keys, self.clock = forget_after_s, max_keys, clock
        self._lock = threading.Lock()
        self._failures: dict[str, tuple[int, float, float]] = {}  # key -> (count, last failure, locked until)

    def __len__(self) -> int:
        return len(self._failures)

    def _entry(self, key: str, now: float) -> tuple[int, float, float]:
        entry = self._failures.get(key)
        if entry is not None and now - entry[1] > self.forget_after_s:
            del self._failures[key]
            return (0, now, now)
        return entry or (0, now, now)

    def wait_s(self, *keys: str) -> float:
        """Seconds before a token may be tried with these keys (0: now)."""
        with self._lock:
            now = self.clock()
            return max([0.0] + [self._entry(k, now)[2] - now for k in keys])

    def failed(self, *keys: str) -> float:
        """Record a wrong token; returns the wait it costs (0 while it is within the free tries)."""
        with self._lock:
            now = self.clock()
            wait = 0.0
            for key in keys:
                count = self._entry(key, now)[0] + 1
                delay = 0.0 if count <= self.free_tries else min(
                    self.max_delay_s, self.base_delay_s * 2 ** min(count - self.free_tries - 1, 30))
                self._failures.pop(key, None)  # re-inserted last: the dict stays ordered by last failure
                self._failures[key] = (count, now, now + delay)
                wait = max(wait, delay)
            while len(self._failures) > self.max_keys:
                del self._failures[next(iter(self._failures))]
        log.warning("instructor sign-in failed (%s)%s", ", ".join(keys),
                    f": next try in {wait:.0f} s" if wait else "")
        return wait

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
