"""Jobs on a Ray cluster: `DC_JOBS=ray://HOST:PORT` (a department's deployment, docs/classroom.md).

Each Streamlit replica keeps its own `JobPool` (the line, one job per session, FIFO, the reaper: what
the pages see does not change); its Tasks run as Ray tasks, and Ray places them: a CPU anywhere in the
cluster for training and sampling, a GPU node for a FLUX render (`gpus_per_job`, DC_FLUX_GPUS=1).
Nothing here schedules: Ray does.

Progress and Stop travel through one small actor per pool, the `Relay`: a task pushes its latest
progress record (pickled: the actor never imports the app) at most every PROGRESS_GAP_S and reads its
stop flag every WATCH_EVERY_S; the pool pulls the record as often. The task's return value is the
worker's result, or the exception it raised with what it salvaged. A task whose worker dies (killed,
out of memory: Ray's memory monitor) fails its job with one line; Ray starts a new worker for the next.

The code must be importable on the cluster's nodes (the same `models` package: install the project
there, or start the cluster with this repository as its working directory). Ray is not needed for
the laptop install: requirements-ray.txt.
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
import time
from typing import Any

import ray

from models.core.jobs import PROGRESS_GAP_S, WATCH_EVERY_S, Executor, Job, RemoteFailure, Task, WorkerDied
from models.core.workers import WorkerJob, run_task_here, worker_threads


@ray.remote(num_cpus=0, max_concurrency=64)
class Relay:
    """Each running job's latest progress (pickled), its worker's pid and its stop flag."""

    def __init__(self) -> None:
        self._records: dict[int, bytes] = {}
        self._pids: dict[int, int] = {}
        self._stops: set[int] = set()

    def hello(self, job_id: int, pid: int) -> bool:
        self._pids[job_id] = pid
        return job_id in self._stops

    def push(self, job_id: int, record: bytes) -> bool:
        self._records[job_id] = record
        return job_id in self._stops

    def stopped(self, job_id: int) -> bool:
        return job_id in self._stops

    def pull(self, job_id: int) -> tuple[bytes | None, int | None]:
        return self._records.get(job_id), self._pids.get(job_id)

    def stop(self, job_id: int) -> None:
        self._stops.add(job_id)

    def forget(self, job_id: int) -> None:
        self._records.pop(job_id, None)
        self._pids.pop(job_id, None)
        self._stops.discard(job_id)


def run_on_cluster(relay, job_id: int, payload: bytes) -> tuple[str, Any, Any]:
    """The Ray task: one torch thread, progress to the relay, a stop flag read from it, the Task run."""
    worker_threads()

    def send(record: Any) -> None:
        if ray.get(relay.push.remote(job_id, pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL))):
            job.stop_event.set()

    job = WorkerJob(job_id, send)
    if ray.get(relay.hello.remote(job_id, os.getpid())):
        job.stop_event.set()
    finished = threading.Event()

    def watch_stop() -> None:
        while not finished.wait(WATCH_EVERY_S):
            try:
                if ray.get(relay.stopped.remote(job_id)):
                    job.stop_event.set()
                    return
            except Exception:  # the relay is gone with its pool: nobody is waiting for this job
                job.stop_event.set()
                return

    threading.Thread(target=watch_stop, name=f"stop-{job_id}", daemon=True).start()
    try:
        return run_task_here(job, payload)
    finally:
        finished.set()


def _local_runtime_env() -> dict:
    """A Ray instance started here runs this process's code: its workers get the same import path."""
    paths = [p for p in sys.path if p and os.path.isdir(p)]
    return {"env_vars": {"PYTHONPATH": os.pathsep.join(paths), "DC_TORCH_THREADS": "1", "OMP_NUM_THREADS": "1"}}


class RayCluster(Executor):
    """Tasks as Ray tasks: `address` "ray://HOST:PORT" (a cluster's client port), "auto" (this node's
    cluster), or None: the Ray instance this process already started (tests), else a new local one."""

    def __init__(self, address: str | None, *, gpus_per_job: float = 0.0, name: str = "jobs",
                 init_options: dict | None = None, connect_timeout_s: float = 60.0):
        if not ray.is_initialized():
            options = dict(init_options or {})
            if address is None:
                options.setdefault("runtime_env", _local_runtime_env())
                options.setdefault("include_dashboard", False)
            else:
                options.setdefault("runtime_env", {"env_vars": {"DC_TORCH_THREADS": "1", "OMP_NUM_THREADS": "1"}})
            _connect(address, options, connect_timeout_s)
        self.address = address
        self.gpus_per_job = gpus_per_job
        self._relay = Relay.options(name=None).remote()
        self._task = ray.remote(run_on_cluster).options(num_cpus=1, num_gpus=gpus_per_job, max_retries=0,
                                                       name=f"{name}-job")

    def describe(self) -> str:
        gpu = f", {self.gpus_per_job:g} GPU per job" if self.gpus_per_job else ""
        return f"the Ray cluster at {self.address or 'this machine'}{gpu}"

    def execute(self, job: Job, task: Task) -> Any:
        payload = task.payload()
        ref = self._task.remote(self._relay, job.id, payload)
        relay = self._relay
        job._attach(lambda: relay.stop.remote(job.id))
        seen: bytes | None = None
        try:
            while True:
                ready, _ = ray.wait([ref], timeout=WATCH_EVERY_S)
                seen = self._pull(job, seen)
                if ready:
                    break
            try:
                kind, value, partial = ray.get(ref)
            except ray.exceptions.RayError as exc:
                raise RemoteFailure(WorkerDied(_death_line(exc))) from None
            self._pull(job, seen)
            if kind == "done":
                return value
            has_partial, salvaged = partial
            raise RemoteFailure(value, salvaged, has_partial)
        finally:
            try:
                relay.forget.remote(job.id)
            except Exception:
                pass

    def _pull(self, job: Job, seen: bytes | None) -> bytes | None:
        try:
            record, pid = ray.get(self._relay.pull.remote(job.id), timeout=max(1.0, 10 * PROGRESS_GAP_S))
        except Exception:  # a slow relay: the next pull catches up
            return seen
        if pid is not None:
            job.worker_pid = pid
        if record is not None and record != seen:
            job._publish(pickle.loads(record))
        return record if record is not None else seen

    def close(self) -> None:
        try:
            ray.kill(self._relay)
        except Exception:
            pass


def _connect(address: str | None, options: dict, timeout_s: float) -> None:
    """ray.init, retried while a cluster that is still starting refuses the connection; then one line."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            ray.init(address=address, log_to_driver=False, **options)
            return
        except ConnectionError as exc:
            if time.monotonic() >= deadline:
                raise ConnectionError(f"no Ray cluster answers at {address} after {timeout_s:.0f} s ({exc}): start "
                                      "it (docs/classroom.md), or leave DC_JOBS unset for worker processes") from None
            time.sleep(2.0)


def _death_line(exc: BaseException) -> str:
    """One line for a task that did not come back (its worker died, was killed or ran out of memory)."""
    what = type(exc).__name__
    if "OutOfMemory" in what:
        why = "Ray stopped it: the node ran out of memory"
    elif "WorkerCrashed" in what or "ActorDied" in what or "NodeDied" in what:
        why = "its Ray worker process died (killed, or out of memory)"
    elif "Cancelled" in what:
        why = "Ray cancelled it"
    else:
        why = f"Ray could not finish it ({what})"
    return f"the job did not finish: {why}; start it again"
