"""Checks of untrusted settings (a JSON config, an uploaded run, a command line): bounds, types, numbers,
short quotes of bad input. Free of torch, so a CLI can check its options before the heavy imports."""

from __future__ import annotations

import math
import typing
from dataclasses import fields
from typing import Iterable

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


def check_field_types(config, field_types: dict) -> None:
    """Every field of a config dataclass holds what `field_types` says (InputError naming the first that does not):
    a config may come from an uploaded run, so nothing is trusted, and types are checked before bounds."""
    for f in fields(config):
        value = getattr(config, f.name)
        problem = type_problem(value, field_types[f.name])
        if problem:
            raise InputError(f"{f.name.replace('_', ' ')} must be {problem} (got {short_repr(value)})")


def check_loop_settings(config, whole_numbers: Iterable[str]) -> None:
    """The bounds of the training loop's settings (models/lab/training.LoopSettings): the whole numbers named
    (each from 1 to its LIMITS), the seed, the learning rate, the EMA decay and the device's name."""
    for name in whole_numbers:
        v, high = getattr(config, name), LIMITS[name]
        if v is not None and not 1 <= v <= high:
            raise InputError(f"{name.replace('_', ' ')} must be a whole number from 1 to {high:,} (got {v:,})")
    if not 0 <= config.seed <= SEED_MAX:
        raise InputError(f"seed must be a whole number from 0 to 2**63 − 1 (got {short_repr(config.seed)})")
    if not (math.isfinite(config.lr) and config.lr > 0):
        raise InputError(f"learning rate must be a positive number (got {config.lr})")
    if not 0 <= config.ema < 1:
        raise InputError("EMA decay must be in [0, 1)")
    if config.device not in ("cpu", "cuda", "mps") and not config.device.startswith("cuda:"):
        raise InputError(f"unknown device {short_repr(config.device)}: use cpu, cuda or mps")
