"""The background jobs shared by every session of the app: a fair line, and workers that run them.

Streamlit reruns a page script on every click, which would kill a training loop or a generation
running inside it; and work in the Streamlit process competes with every page load for its one GIL.
So long work runs elsewhere: a page submits it to the process's `JobPool` (the app caches one with
`st.cache_resource`), keeps the `Job` handle in `st.session_state` and redraws its progress from a
fragment.

* **The line.** At most `max_workers` jobs run at once; the rest wait first come, first served and
  can see their position. Each owner (a browser session) has one job queued or running at a time,
  so one student cannot fill the line. A job a page started on its own (`background=True`: the
  Memorization page's network, trained on sight) never blocks a button press: the press stops it.
* **The work** is a `Task`: a module-level function `fn(job, *args, **kwargs)` with picklable
  arguments, so that it can run in another process; `apply(result)` then runs here, in the app's
  process, and updates the page's objects (a run takes back its trained weights). Where it runs is the
  pool's executor: `WorkerProcesses` (models/core/workers.py, the app's default: spawned processes, one
  torch thread each, replaced when one dies, each under a memory ceiling), `RayCluster`
  (models/core/ray_jobs.py: `DC_JOBS=ray://HOST:PORT`) or, for tests and the command line, a thread of
  this process (`InThisProcess`); models/core/job_backends.py picks one from the DC_* settings. A plain
  callable `fn(job)` always runs in a thread of this process.
* **Progress** is a small typed record (a frozen dataclass the worker chooses: the lab's
  `TrainingProgress`, flux's `GenerationProgress`): the worker publishes the first one whole, then
  changes fields by name, and a reader gets the record as it was last published (None before the
  worker has said anything). From a worker process it streams back at most every PROGRESS_GAP_S.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import pickle
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
FINISHED = (DONE, FAILED, CANCELLED)

PROGRESS_GAP_S = 0.1   # a worker sends progress at most this often (the pages redraw every 0.5-1 s)
WATCH_EVERY_S = 0.25   # how often a running worker process is checked: alive, and under its memory ceiling

_ids = itertools.count(1)


# ----------------------------------------------------------------------------- what a job is

@dataclass(frozen=True)
class Task:
    """Work a worker process can run: `fn(job, *args, **kwargs)`, where `fn` is a module-level function
    and the arguments pickle (plain values, tensors, dataclasses of them).

    `apply(result)` runs in the app's process when the worker is done (with the partial result a failed
    job left, see `Job.on_failure`): it updates the page's objects, and what it returns is `job.result`.
    """

    fn: Callable[..., Any]
    args: tuple = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    apply: Callable[[Any], Any] | None = None

    def payload(self) -> bytes:
        """What travels to the worker (never `apply`: that stays here)."""
        return pickle.dumps((self.fn, tuple(self.args), dict(self.kwargs)), protocol=pickle.HIGHEST_PROTOCOL)


class WorkerDied(RuntimeError):
    """The process running a job died (killed, out of memory) or went past its memory ceiling."""


class RemoteFailure(Exception):
    """A task failed where it ran: the exception to show, and what the task salvaged (`has_partial`)."""

    def __init__(self, exception: BaseException, partial: Any = None, has_partial: bool = False):
        super().__init__(str(exception))
        self.exception, self.partial, self.has_partial = exception, partial, has_partial


class JobSide:
    """The job as its work sees it, wherever the work runs (a `Job` in this process, a `WorkerJob` in a
    worker process): `report` progress, `should_stop` / `stop_event`, `on_failure`, `snapshot`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._salvage: Callable[[], Any] | None = None
        self.progress: Any = None  # a frozen dataclass, or None until the worker reports

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

    def on_failure(self, salvage: Callable[[], Any]) -> None:
        """If the work raises, `salvage()` is what it leaves behind (e.g. a run's last finite weights),
        handed to the task's `apply` before the job is marked failed."""
        self._salvage = salvage

    def salvaged(self) -> tuple[bool, Any]:
        """(whether the work left something, what it left); a salvage that fails leaves nothing."""
        if self._salvage is None:
            return False, None
        try:
            return True, self._salvage()
        except BaseException:
            return False, None

    def snapshot(self) -> Any:
        """The progress record as last published (frozen: it cannot change under the reader), or None."""
        with self._lock:
            return self.progress


class Job(JobSide):
    """A unit of background work: progress goes in through `report`, out through `snapshot`."""

    def __init__(self, fn: Callable[["Job"], Any] | Task, name: str, owner: str | None, pool: "JobPool",
                 background: bool = False):
        super().__init__()
        self.id = next(_ids)
        self.name = name
        self.owner = owner
        self.background = background  # started by a page on its own: a button press supersedes it
        self._fn = fn
        self._pool = pool
        self._done = threading.Event()
        self._remote_stop: Callable[[], None] | None = None
        self.state = QUEUED
        self.result: Any = None
        self.error: str | None = None
        self.exception: BaseException | None = None
        self.worker_pid: int | None = None  # the process running it (a worker process, or this one)
        self.created = time.monotonic()
        self.started: float | None = None
        self.finished: float | None = None

    # --- called from the UI (the worker's side is JobSide's) -----------------------------------
    def cancel(self) -> None:
        """Ask the job to stop; a queued job is dropped from the line at once."""
        self._stop.set()
        stop = self._remote_stop
        if stop is not None:
            try:
                stop()
            except Exception:  # the worker is gone already: its watcher fails the job
                pass
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

    # --- the pool's --------------------------------------------------------------------
    def _attach(self, remote_stop: Callable[[], None], pid: int | None = None) -> None:
        """The job now runs elsewhere: `remote_stop()` asks that worker to stop it."""
        self._remote_stop, self.worker_pid = remote_stop, pid
        if self._stop.is_set():
            remote_stop()

    def _publish(self, record: Any) -> None:
        with self._lock:
            self.progress = record

    def _run(self) -> None:
        self.state, self.started = RUNNING, time.monotonic()
        try:
            if isinstance(self._fn, Task):
                self.result = self._run_task(self._fn)
            else:
                self.worker_pid = os.getpid()
                self.result = self._fn(self)
            # A job asked to stop is 'cancelled' even when it returns a partial result (kept).
            self.state = CANCELLED if self._stop.is_set() else DONE
        except BaseException as exc:  # the worker must never die silently
            self.exception = exc
            self.error = str(exc) or type(exc).__name__
            self.state = CANCELLED if self._stop.is_set() and not isinstance(exc, WorkerDied) else FAILED
        finally:
            self.finished = time.monotonic()
            self._remote_stop = None
            self._done.set()

    def _run_task(self, task: Task) -> Any:
        apply = task.apply or (lambda value: value)
        try:
            value = self._pool.executor.execute(self, task)
        except RemoteFailure as failure:
            if failure.has_partial:
                apply(failure.partial)
            raise failure.exception from None
        return apply(value)

    def _mark_cancelled(self) -> None:
        self.state, self.finished = CANCELLED, time.monotonic()
        self._done.set()


class OneJobPerSession(RuntimeError):
    """An owner asked for a second job while its first is queued or running (`job`: that one)."""

    def __init__(self, message: str, job: Job | None = None):
        super().__init__(message)
        self.job = job


def busy_message(job: Job) -> str:
    return (f"you already have a job in progress ({job.name}): stop it or let it finish first, so everyone "
            "gets a turn")


# ----------------------------------------------------------------------------- the line

class JobPool:
    """At most `max_workers` jobs run at once; the rest wait first come, first served.

    Fair in a classroom: each owner (a browser session) has at most one job queued or running, so one
    student cannot fill the line; a job asked to stop no longer counts, and a `background` job (one a
    page started on its own) is stopped by its owner's next job instead of blocking it.
    `executor` runs the Tasks (default: a thread of this process each).
    """

    def __init__(self, max_workers: int = 2, reap_grace_s: float = 0.0, executor: "Executor | None" = None):
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.max_workers = max_workers
        self.reap_grace_s = reap_grace_s  # an owner must stay gone this long before its jobs stop
        self.executor = executor if executor is not None else InThisProcess()
        self._lock = threading.Lock()
        self._queue: deque[Job] = deque()
        self._running: set[Job] = set()
        self._gone_since: dict[str, float] = {}

    def submit(self, fn: Callable[[Job], Any] | Task, *, name: str = "job", owner: str | None = None,
               background: bool = False) -> Job:
        """Queue `fn` (a Task: on the executor; a callable: in a thread here) as `owner`'s job.

        OneJobPerSession when the owner has a job in progress, unless that one is a background job:
        then it is stopped and this one queued. A background job never stops another job."""
        job = Job(fn, name, owner, self, background=background)
        superseded = []
        with self._lock:
            if owner is not None:
                active = self._active(owner)
                blocking = [j for j in active if background or not j.background]
                if blocking:
                    raise OneJobPerSession(busy_message(blocking[0]), blocking[0])
                superseded = active
            self._queue.append(job)
        for old in superseded:
            old.cancel()
        self._start_waiting()
        return job

    def _active(self, owner: str) -> list[Job]:
        return [j for j in list(self._running) + list(self._queue) if j.owner == owner and not j.should_stop()]

    def active_job(self, owner: str, *, include_background: bool = True) -> Job | None:
        """The owner's queued or running job that has not been asked to stop, if any (a page's own
        background job only with `include_background`)."""
        with self._lock:
            return next((j for j in self._active(owner) if include_background or not j.background), None)

    def check_free(self, owner: str, mine: Job | None = None) -> None:
        """OneJobPerSession (with the blocking job) when `owner` could not start a job now; `mine` (the job
        of the run about to start again) does not block."""
        job = self.active_job(owner, include_background=False)
        if job is not None and job is not mine:
            raise OneJobPerSession(busy_message(job), job)

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

    def warm(self) -> None:
        """Start the executor's workers now (a lab page is open: the first Train should not wait for them)."""
        self.executor.warm()

    def close(self) -> None:
        """Stop every job and the workers (tests; a server shutting down)."""
        with self._lock:
            jobs = list(self._queue) + list(self._running)
        for j in jobs:
            j.cancel()
        self.executor.close()

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


# ----------------------------------------------------------------------------- where Tasks run

class Executor:
    """Runs a Task for a Job and returns its result (raising RemoteFailure when it failed there)."""

    def execute(self, job: Job, task: Task) -> Any:
        raise NotImplementedError

    def warm(self) -> None:
        pass

    def close(self) -> None:
        pass

    def describe(self) -> str:
        return type(self).__name__


class InThisProcess(Executor):
    """A thread of this process (tests, the command line): the Task's function gets the Job itself."""

    def execute(self, job: Job, task: Task) -> Any:
        job.worker_pid = os.getpid()
        try:
            return task.fn(job, *task.args, **task.kwargs)
        except BaseException as exc:
            has_partial, partial = job.salvaged()
            raise RemoteFailure(exc, partial, has_partial) from exc

    def describe(self) -> str:
        return "threads of the server process"
