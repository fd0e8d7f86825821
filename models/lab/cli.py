"""The lab's command-line plumbing: one exit-code contract, bounded option types, output paths checked first.

Every CLI here (the 2-D lab's and FLUX's) ends the same way: 0 done, 2 bad input (one line on
stderr, no traceback), 130 interrupted, 1 a bug (still one line, with enough to report it).

Every number has a ceiling a laptop can honour (a million samples, a 2048-pixel GIF, a
million training steps): beyond it the command would run for hours or allocate gigabytes,
so it is refused at once, with the ceiling named. An output path is checked before the
work too: a whole training run must not end in a traceback because --out was a file.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from pathlib import Path
from typing import Callable

from models.core.atomic import file_in_the_way, output_clash
from models.core.errors import InputError

from .checks import LIMITS, MAX_POINTS, SEED_MAX

BAD_INPUT = 2
INTERRUPTED = 130
BUG = 1


class Parser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are `InputError`s: one line and exit 2, not the whole usage.

    Options are spelled out: with argparse's abbreviations `--mod flow` met `--model`'s choices and said
    "invalid choice", and a new option could change what an old abbreviation in a handout means.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        raise InputError(message)


def one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return f"{exc.strerror}: {_shown_path(exc.filename)}"
    return " ".join(str(exc).split()) or type(exc).__name__


def _shown_path(name) -> str:
    """The file a user named, for an atomic write's temp file (`.NAME.<random>.tmp` beside it)."""
    path = Path(str(name))
    temp = re.fullmatch(r"\.(.+)\.[A-Za-z0-9_]{8}\.tmp", path.name)
    return str(path.with_name(temp.group(1)) if temp else path)


def run_command(command: Callable[[], int | None], *,
                bad_input: tuple[type[BaseException], ...] = (InputError, OSError),
                interrupted: str = "interrupted") -> int:
    """Run `command` under the contract; its own return value (None = 0) is the status when it finishes.

    An OSError is bad input too (an --out the system will not let us write, a full disk): one line
    naming the file, never a traceback."""
    try:
        return command() or 0
    except bad_input as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return BAD_INPUT
    except KeyboardInterrupt:
        print(interrupted, file=sys.stderr)
        return INTERRUPTED
    except Exception as exc:  # a bug: still one line, with enough to report it
        print(f"internal error: {type(exc).__name__}: {one_line(exc)} (please report it)", file=sys.stderr)
        return BUG


def train_printing_progress(trainer) -> tuple[Exception | None, float]:
    """Run a lab Trainer to its end, one line per log window: (the TrainingDiverged that stopped it early,
    or None; the seconds it took). After a divergence the trainer holds the last finite weights."""
    from .training import TrainingDiverged  # torch: not needed to parse a command line

    def report(p) -> None:
        print(f"step {p.step:>6}/{p.total_steps}  loss {p.loss:9.4f}  {p.steps_per_second:7.0f} steps/s", flush=True)

    start = time.perf_counter()
    try:
        trainer.run(report)
    except TrainingDiverged as exc:
        return exc, time.perf_counter() - start
    return None, time.perf_counter() - start


def training_saved(out: Path, error: Exception | None, seconds: float) -> None:
    """After the run was saved to `out`: exit 2 naming the divergence if there was one, else say where it is."""
    if error is not None:
        raise InputError(f"training stopped: {error} (the last finite weights were saved to {out})")
    print(f"done in {seconds:.1f} s → {out}")


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text[:40]!r}") from None


def whole_number(high: int, why: str = ""):
    """An argparse type: a whole number from 1 to `high` (the error names the ceiling and why)."""
    def parse(text: str) -> int:
        v = _int(text)
        if v < 1:
            raise argparse.ArgumentTypeError(f"must be positive, got {v}")
        if v > high:
            raise argparse.ArgumentTypeError(f"must be at most {high:,}{why}, got {text[:40]}")
        return v
    return parse


def seed(text: str) -> int:
    v = _int(text)
    if not 0 <= v <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to 2**63 − 1, got {text[:40]}")
    return v


def device(text: str) -> str:
    """An argparse type: a torch device this machine has (checked before any work: `sample --device cuda`
    without a GPU ended in torch's AssertionError)."""
    if text.strip() == "cpu":  # the default: no need to import torch to parse it
        return "cpu"
    from models.core.devices import device_problem

    problem = device_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text.strip()


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


POINTS = whole_number(MAX_POINTS)
STEPS = whole_number(LIMITS["steps"], " (a toy 2-D model learns in a few thousand steps)")


def check_output_file(path: Path, flag: str = "--out", *, runs: dict[str, Path | None] | None = None) -> None:
    """Refuse an output FILE path that is a folder or lies under a file (before the work, not after), and
    one inside a run the command reads (`runs`: {"the run --run": path}): `sample --run R --out
    R/config.json` destroyed the run it read."""
    if path.is_dir():
        raise InputError(f"{flag} {path} is a folder: give a file name inside it")
    blocker = file_in_the_way(path)
    if blocker is not None:
        raise InputError(f"{flag} {path}: {blocker} is a file, so nothing can be written under it")
    # only a folder that is a run (a config.json in it): another folder fails as "not a run" on reading
    runs = {what: run for what, run in (runs or {}).items() if run is not None and (Path(run) / "config.json").exists()}
    clash = output_clash({flag: path}, inside=runs)
    if clash:
        raise InputError(clash)
