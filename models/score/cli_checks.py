"""What the score CLI accepts: bounded option types and output paths checked before any work.

Every number has a ceiling a laptop can honour (a million samples, a 2048-pixel GIF, a
million training steps): beyond it the command would run for hours or allocate gigabytes,
so it is refused at once, with the ceiling named. An output path is checked before the
work too: a whole training run must not end in a traceback because --out was a file.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from models.atomic import file_in_the_way

from .datasets import MAX_POINTS
from .errors import InputError
from .trainer import LIMITS, SEED_MAX

MAX_SAMPLER_STEPS = 100_000      # sample --steps (plain Langevin)
MAX_STEPS_PER_LEVEL = 10_000     # sample/animate --steps-per-level
MAX_SAMPLE_LEVELS = 1000         # sample --levels (a re-laddered run, or the denoising sampler's steps)
MAX_GIF_POINTS = 100_000         # animate --n: more is one blob in a GIF, and 50 snapshots of it in memory
MAX_GIF_SIZE = 2048              # animate --size, pixels
MAX_GIF_FRAMES = 500             # animate --frames
MAX_LOGLIK_POINTS = 100_000      # loglik --data: each point follows its own ODE path (4 score calls per step)
MAX_LOGLIK_STEPS = 10_000        # loglik --steps


def whole_number(high: int, why: str = ""):
    """An argparse type: a whole number from 1 to `high` (the error names the ceiling and why)."""
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text[:40]!r}") from None
        if v < 1:
            raise argparse.ArgumentTypeError(f"must be positive, got {v}")
        if v > high:
            raise argparse.ArgumentTypeError(f"must be at most {high:,}{why}, got {text[:40]}")
        return v
    return parse


def seed(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text[:40]!r}") from None
    if not 0 <= v <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to 2**63 − 1, got {text[:40]}")
    return v


def finite_number(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text[:40]!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text[:40]}")
    return v


def positive_number(text: str) -> float:
    v = finite_number(text)
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text[:40]}")
    return v


# For each sampler, the `sample` options it does NOT read and what to use instead.
NOT_READ_BY = {
    "annealed": {
        "steps": "annealed Langevin takes --steps-per-level",
        "solver": "only the probability-flow ODE has a solver",
        "sigma": "annealed Langevin walks the whole ladder: set its ends with --sigma-max/--sigma-min",
    },
    "langevin": {
        "steps_per_level": "plain Langevin takes --steps",
        "levels": "plain Langevin runs at one σ: give it with --sigma",
        "sigma_max": "plain Langevin runs at one σ: give it with --sigma",
        "sigma_min": "plain Langevin runs at one σ: give it with --sigma",
        "solver": "only the probability-flow ODE has a solver",
    },
    "denoise": {
        "steps": "the denoising sampler takes one step per level: set how many with --levels",
        "steps_per_level": "the denoising sampler takes one step per level: set how many with --levels",
        "sigma": "the denoising sampler walks the whole ladder: set its ends with --sigma-max/--sigma-min",
        "eps": "the denoising sampler's step sizes come from the ladder",
        "final_denoise": "the denoising sampler always ends with the Tweedie mean",
        "solver": "only the probability-flow ODE has a solver",
    },
    "pc": {
        "steps": "predictor-corrector takes one predictor step per level: set how many with --levels",
        "steps_per_level": "predictor-corrector takes one Langevin corrector step per level",
        "sigma": "predictor-corrector walks the whole ladder: set its ends with --sigma-max/--sigma-min",
        "eps": "predictor-corrector sets its corrector step from a signal-to-noise ratio",
        "final_denoise": "predictor-corrector always ends with the Tweedie mean",
        "solver": "only the probability-flow ODE has a solver",
    },
    "ode": {
        "steps_per_level": "the ODE takes --steps",
        "levels": "the ODE takes --steps",
        "sigma": "the ODE walks the whole ladder: set its ends with --sigma-max/--sigma-min",
        "eps": "the ODE's step sizes come from the ladder and --steps",
        "final_denoise": "the ODE ends at σ_min without a Tweedie step",
    },
}


POINTS = whole_number(MAX_POINTS)
STEPS = whole_number(LIMITS["steps"], " (a toy 2-D model learns in a few thousand steps)")


def check_output_file(path: Path, flag: str = "--out") -> None:
    """Refuse an output FILE path that is a folder or lies under a file (before the work, not after)."""
    if path.is_dir():
        raise InputError(f"{flag} {path} is a folder: give a file name inside it")
    blocker = file_in_the_way(path)
    if blocker is not None:
        raise InputError(f"{flag} {path}: {blocker} is a file, so nothing can be written under it")
