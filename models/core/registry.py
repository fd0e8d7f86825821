"""Runs a reloaded browser tab can find again by the id in its URL (`?run=...`).

A browser reload starts a new Streamlit session with empty session state; without this
a student would lose a model that is still training. The registry is shared by the
whole server, so it is bounded: at most `max_runs` entries, none older than `max_age_s`.
Ids are random and unguessable, so one student cannot pick up another's run by chance.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from typing import Any


class RunRegistry:
    def __init__(self, max_runs: int = 32, max_age_s: float = 3 * 3600):
        self.max_runs, self.max_age_s = max_runs, max_age_s
        self._runs: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def register(self, run: Any) -> str:
        """Keep `run` and return its new id (the oldest entries go when the registry is full)."""
        run_id = secrets.token_urlsafe(9)
        with self._lock:
            self._expire()
            self._runs[run_id] = (time.monotonic(), run)
            while len(self._runs) > self.max_runs:
                self._runs.popitem(last=False)
        return run_id

    def get(self, run_id: str | None, kind: type = object) -> Any | None:
        """The run kept under `run_id`, or None: also when it is not a `kind` (one page's id pasted
        into another page's address)."""
        with self._lock:
            self._expire()
            entry = self._runs.get(run_id) if run_id else None
        return entry[1] if entry and isinstance(entry[1], kind) else None

    def forget(self, run_id: str | None) -> None:
        with self._lock:
            self._runs.pop(run_id, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._runs)

    def _expire(self) -> None:
        cutoff = time.monotonic() - self.max_age_s
        while self._runs and next(iter(self._runs.values()))[0] < cutoff:
            self._runs.popitem(last=False)
