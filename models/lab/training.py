"""What every 2-D lab training run shares: its thread budget."""

from __future__ import annotations

import contextlib
import os

import torch


def default_num_threads() -> int:
    # On 2 cores a second busy thread (the app, another student) makes multi-threaded
    # toy training collapse; one thread is faster there.
    cores = os.cpu_count() or 1
    return 1 if cores <= 2 else min(4, cores)


@contextlib.contextmanager
def limited_threads(n: int | None = None):
    """Run a block with `n` torch threads (default: `default_num_threads()`), then restore.

    2-D point clouds are far too small for intra-op threads: on a busy 2-core laptop one
    thread was 4–5× faster than two fighting for the cores.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(n or default_num_threads())
    try:
        yield
    finally:
        torch.set_num_threads(previous)
