"""Runs a reloaded browser tab can find again by the id in its URL (`?run=...`).

A browser reload starts a new Streamlit session with empty session state; without this
a student would lose a model that is still training. The registry is shared by the whole
server (every lab page, every student), so it is sized for a class and never evicts the run of
a tab that is still open: each run has an owner (its browser session), and `is_alive(owner)`
says whether that tab is open. A closed tab's runs are kept `max_age_s` for a reload to find,
and go first (oldest first) when more than `max_runs` are kept. One session keeps at most
`per_owner` runs (its newest), so nobody fills the registry alone. Ids are random and
unguessable, so one student cannot pick up another's run by chance.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from typing import Any, Callable


class RunRegistry:
    def __init__(self, max_runs: int = 256, max_age_s: float = 3 * 3600, per_owner: int = 4,
                 is_alive: Callable[[Any], bool] | None = None):
        self.max_runs, self.max_age_s, self.per_owner = max_runs, max_age_s, per_owner
        self.is_alive = is_alive or (lambda owner: False)
        self._runs: OrderedDict[str, list] = OrderedDict()  # id -> [last seen, run, owner]
        self._lock = threading.Lock()

    def register(self, run: Any, owner: Any = None) -> str:
        """Keep `run` for the session `owner` and return its new id."""
        run_id = secrets.token_urlsafe(9)
        with self._lock:
            now = time.monotonic()
            self._expire(now)
            self._runs[run_id] = [now, run, owner]
            if owner is not None:
                mine = [key for key, entry in self._runs.items() if entry[2] == owner]
                for key in mine[:-self.per_owner]:
                    del self._runs[key]
            self._evict()
        return run_id

    def get(self, run_id: str | None, kind: type = object, owner: Any = None) -> Any | None:
        """The run kept under `run_id`, or None: also when it is not a `kind` (one page's id pasted
        into another page's address). `owner`: the session that takes it (a reloaded tab)."""
        with self._lock:
            now = time.monotonic()
            self._expire(now)
            entry = self._runs.get(run_id) if run_id else None
            if entry is None or not isinstance(entry[1], kind):
                return None
            entry[0] = now
            if owner is not None:
                entry[2] = owner
            self._runs.move_to_end(run_id)
            return entry[1]

    def forget(self, run_id: str | None) -> None:
        with self._lock:
            self._runs.pop(run_id, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._runs)

    def _expire(self, now: float) -> None:
        """An open tab's runs are seen now; a closed tab's go once they are older than max_age_s."""
        for key, entry in list(self._runs.items()):
            if entry[2] is not None and self.is_alive(entry[2]):
                entry[0] = now
            elif now - entry[0] > self.max_age_s:
                del self._runs[key]

    def _evict(self) -> None:
        """Over max_runs: closed tabs' runs go, least recently seen first; an open tab's never."""
        if len(self._runs) <= self.max_runs:
            return
        closed = sorted((entry[0], key) for key, entry in self._runs.items()
                        if entry[2] is None or not self.is_alive(entry[2]))
        for _, key in closed[:len(self._runs) - self.max_runs]:
            del self._runs[key]
