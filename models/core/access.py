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
