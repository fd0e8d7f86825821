"""Checks of untrusted settings (a JSON config, an uploaded run, a command line): bounds, types, numbers,
short quotes of bad input. Free of torch, so a CLI can check its options before the heavy imports."""

from __future__ import annotations

import math
import typing

from models.core.errors import InputError


# Bounds of every whole-number setting. They keep a network, a ladder or a run laptop-sized,
# and they are checked before anything is allocated (an uploaded run's config is checked too).
LIMITS = {"hidden": 1024, "depth": 8, "levels": 100, "steps": 1_000_000, "batch_size": 8192,
          "log_every": 1_000_000, "num_threads": 256}
SEED_MAX = 2**63 - 1  # torch seeds take 64 bits; headroom for the seed + k offsets some helpers use
MAX_POINTS = 1_000_000  # sample_dataset / text_to_points: beyond this a laptop class demo stalls


def type_problem(value, kind) -> str | None:
    """None when `value` fits `kind` (an int counts as a float, a bool never as a number); else what it must be."""
    allowed = typing.get_args(kind) or (kind,)
    if value is None:
        return None if type(None) in allowed else "given"
    if isinstance(value, bool):
        return None if bool in allowed else describe(allowed)
    if isinstance(value, int) and int in allowed:
        return None
    if isinstance(value, int) and float in allowed:  # 10**400 is an int no float can hold
        return None if abs(value) <= 1e300 else "a finite number"
    if isinstance(value, float) and float in allowed:
        return None if math.isfinite(value) else "a finite number"
    if isinstance(value, str) and str in allowed:
        return None
    return describe(allowed)


def short_repr(value, limit: int = 40) -> str:
    """repr() cut to `limit` characters: an error message quotes bad input, never a megabyte of it."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def describe(allowed) -> str:
    for kind, words in ((str, "text"), (bool, "true or false"), (int, "a whole number"), (float, "a number")):
        if kind in allowed:
            return words
    return "given"


def is_whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def number(value, name: str, bound: float) -> float:
    """A finite JSON number of size at most `bound` (bools and text are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{name} must hold numbers (got {short_repr(value)})")
    if not (abs(value) <= bound):  # also false for NaN; compared before float() so 10**400 cannot overflow
        raise InputError(f"{name} must hold finite numbers no larger than {bound:g} (got {short_repr(value)})")
    return float(value)
