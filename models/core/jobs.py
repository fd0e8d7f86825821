"""A small background-job pool shared by every session of the app.

Streamlit reruns a page script on every click, which would kill a training loop
or a generation running inside it. So long work runs in worker threads that never
touch `st.*`; a page keeps the `Job` handle in `st.session_state` and redraws its
progress from a fragment. Progress is a small typed record (a frozen dataclass the worker
chooses: the lab's `TrainingProgress`, flux's `GenerationProgress`): the worker publishes the
first one whole, then changes fields by name, and a reader gets the record as it was last
published (None before the worker has said anything). One `JobPool` per process (the app caches it with
`st.cache_resource`) caps how many jobs run at once; extra jobs wait in line and
can see their position.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from collections import deque
from typing import Any, Callable

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
FINISHED = (DONE, FAILED, CANCELLED)

_ids = itertools.count(1)


class Job:
    """A unit of background work: progress goes in through `report`, out through `progress`."""

    def __init__(self, fn: Callable[["Job"], Any], name: str, owner: str | None, pool: "JobPool"):
        self.id = next(_ids)
        self.name = name
        self.owner = owner
        self._fn = fn
        self._pool = pool
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._done = threading.Event()
        self.state = QUEUED
        self.progress: Any = None  # a frozen dataclass, or None until the worker reports
        self.result: Any = None
        self.error: str | None = None
        self.exception: BaseException | None = None
        self.created = time.monotonic()
        self.started: float | None = None
        self.finished: float | None = None

    # --- called from the worker ---------------------------------------------------
    def report(self, record: Any = None, /, **fields: Any) -> None:
        """Publish progress: a new `record` (a frozen dataclass), and/or new values of some of its fields
        (a name the record does not have is a TypeError, not a silently new key)."""
        with self._lock:
            progress = self.progress if record is None else record
            if progress is None:
                raise TypeError("report a progress record first, then change its fields")
            self.progress = dataclasses.replace(progress, **fields) if fields else progress

    def should_stop(self) -> bool:
        return self._stop.is_set()

    @property
    def stop_event(self) -> threading.Event:
        return self._stop

    # --- called from the UI ---------------------------------------------------------
    def snapshot(self) -> Any:
        """The progress record as last published (frozen: it cannot change under the reader), or None."""
        with self._lock:
            return self.progress

    def cancel(self) -> None:
        """Ask the job to stop; a queued job is dropped from the line at once."""
        self._stop.set()
        self._pool._drop_queued(self)

    @property
    def finished_ok(self) -> bool:
        return self.state == DONE

    @property
    def is_finished(self) -> bool:
        return self.state in FINISHED

    @property
    def queue_position(self) -> int:
        """0 while running or finished, k ≥ 1 while k−1 jobs wait ahead of it."""
        return self._pool.position(self)

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def _run(self) -> None:
        self.state, self.started = RUNNING, time.monotonic()
        try:
            self.result = self._fn(self)
            # A job asked to stop is 'cancelled' even when it returns a partial result (kept).
            self.state = CANCELLED if self._stop.is_set() else DONE
        except BaseException as exc:  # the worker must never die silently
            self.exception = exc
            self.error = str(exc) or type(exc).__name__
            self.state = CANCELLED if self._stop.is_set() else FAILED
        finally:
            self.finished = time.monotonic()
            self._done.set()

    def _mark_cancelled(self) -> None:
        self.state, self.finished = CANCELLED, time.monotonic()
        self._done.set()


class OneJobPerSession(RuntimeError):
    """An owner asked for a second job while its first is queued or running."""


class JobPool:
    """At most `max_workers` jobs run at once; the rest wait first come, first served.

    Fair in a classroom: each owner (a browser session) has at most one job queued or
    running, so one student cannot fill the line; a job asked to stop no longer counts.
    """

    def __init__(self, max_workers: int = 2, reap_grace_s: float = 0.0):
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.max_workers = max_workers
        self.reap_grace_s = reap_grace_s  # an owner must stay gone this long before its jobs stop
        self._lock = threading.Lock()
        self._queue: deque[Job] = deque()
        self._running: set[Job] = set()
        self._gone_since: dict[str, float] = {}

    def submit(self, fn: Callable[[Job], Any], *, name: str = "job", owner: str | None = None) -> Job:
        job = Job(fn, name, owner, self)
        with self._lock:
            if owner is not None:
                active = [j for j in list(self._queue) + list(self._running)
                          if j.owner == owner and not j.should_stop()]
                if active:
                    raise OneJobPerSession(f"you already have a job in progress ({active[0].name}): stop it or "
                                           "let it finish first, so everyone gets a turn")
            self._queue.append(job)
        self._start_waiting()
        return job

    def active_job(self, owner: str) -> Job | None:
        """The owner's queued or running job that has not been asked to stop, if any."""
        with self._lock:
            return next((j for j in list(self._running) + list(self._queue)
                         if j.owner == owner and not j.should_stop()), None)

    def adopt(self, job: Job, owner: str) -> None:
        """Hand a job to a new owner (a reloaded tab reattaching to its run)."""
        with self._lock:
            job.owner = owner

    def position(self, job: Job) -> int:
        with self._lock:
            try:
                return self._queue.index(job) + 1
            except ValueError:
                return 0

    @property
    def running(self) -> int:
        with self._lock:
            return len(self._running)

    @property
    def waiting(self) -> int:
        with self._lock:
            return len(self._queue)

    def cancel_owner(self, owner: str) -> int:
        """Stop every job of one owner (e.g. a session that went away); returns how many."""
        with self._lock:
            jobs = [j for j in list(self._queue) + list(self._running) if j.owner == owner]
        for j in jobs:
            j.cancel()
        return len(jobs)

    def reap(self, is_alive: Callable[[str], bool]) -> int:
        """Cancel the jobs whose owner has been gone for `reap_grace_s` (a closed tab); returns how many.

        The grace period lets a reloaded tab reattach to its run (`adopt`) before it is stopped.
        """
        now = time.monotonic()
        with self._lock:
            owners = {j.owner for j in list(self._queue) + list(self._running) if j.owner is not None}
        expired = []
        for owner in owners:
            if is_alive(owner):
                self._gone_since.pop(owner, None)
            elif now - self._gone_since.setdefault(owner, now) >= self.reap_grace_s:
                expired.append(owner)
        for owner in set(self._gone_since) - owners:
            del self._gone_since[owner]
        return sum(self.cancel_owner(o) for o in expired)

    def _drop_queued(self, job: Job) -> None:
        with self._lock:
            if job not in self._queue:
                return
            self._queue.remove(job)
        job._mark_cancelled()

    def _start_waiting(self) -> None:
        with self._lock:
            starting = []
            while self._queue and len(self._running) < self.max_workers:
                job = self._queue.popleft()
                self._running.add(job)
                starting.append(job)
        for job in starting:
            threading.Thread(target=self._work, args=(job,), name=f"job-{job.id}", daemon=True).start()

    def _work(self, job: Job) -> None:
        try:
            job._run()
        finally:
            with self._lock:
                self._running.discard(job)
            self._start_waiting()
