"""Worker processes for the job pool (models/core/jobs.py): the app's default executor.

`WorkerProcesses` keeps a few spawned processes, one Task at a time each, one torch thread each. The
app's process sends a pickled Task down a pipe; the worker sends back its progress records (at most
every PROGRESS_GAP_S), then the result or the exception with what the task salvaged. A worker that
dies fails its job in one line and is replaced; so is one past its memory ceiling (resident memory,
checked every WATCH_EVERY_S from the app's side, so a worker stuck in C code is caught too).
`WorkerJob`, `run_task_here` and `worker_threads` are shared with the Ray backend (ray_jobs.py).
"""

from __future__ import annotations

import os
import pickle
import queue
import signal
import threading
import time
import traceback
from typing import Any, Callable

from models.core.jobs import PROGRESS_GAP_S, WATCH_EVERY_S, Executor, Job, JobSide, RemoteFailure, Task, WorkerDied


class WorkerJob(JobSide):
    """The job as a worker process sees it (`JobSide`: the same calls as `Job`); progress goes to `send`
    at most every PROGRESS_GAP_S (and whenever `flush` is called: before the result)."""

    def __init__(self, job_id: int, send: Callable[[Any], None]):
        super().__init__()
        self.id = job_id
        self._send = send
        self._dirty = False
        self._sent_at = 0.0

    def report(self, record: Any = None, /, **fields: Any) -> None:
        super().report(record, **fields)
        with self._lock:
            self._dirty = True
            due = time.monotonic() - self._sent_at >= PROGRESS_GAP_S
        if due:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            if not self._dirty:
                return
            record, self._dirty, self._sent_at = self.progress, False, time.monotonic()
        self._send(record)


def portable(exc: BaseException) -> BaseException:
    """`exc` if it survives pickling, else a RuntimeError saying the same (the page shows its words)."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def run_task_here(job: WorkerJob, payload: bytes) -> tuple[str, Any, Any]:
    """Run a pickled Task in this (worker) process: ("done", result, None) or ("error", exception,
    (has_partial, partial)); progress went out through `job` meanwhile."""
    try:
        fn, args, kwargs = pickle.loads(payload)
        result = fn(job, *args, **kwargs)
        job.flush()
        return "done", result, None
    except BaseException as exc:
        job.flush()
        traceback.print_exc()
        return "error", portable(exc), job.salvaged()


def worker_threads() -> None:
    """One torch thread per worker process (set before torch is imported, then on torch itself)."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = "1"
    os.environ["DC_TORCH_THREADS"] = "1"
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover - torch is a requirement
        pass


# ----------------------------------------------------------------------------- the processes

def _worker_main(conn, preload: tuple[str, ...]) -> None:
    """A worker process: run the Tasks the pool sends, one at a time, until told to exit or the pool is gone."""
    import importlib

    worker_threads()
    for entry in preload:  # "module" is imported, "module:function" then called
        module, _, function = entry.partition(":")
        try:
            loaded = importlib.import_module(module)
            if function:
                getattr(loaded, function)()
        except Exception:  # a missing optional module must not stop the worker
            traceback.print_exc()
    send_lock = threading.Lock()

    def send(message) -> None:
        with send_lock:
            conn.send(message)

    tasks: queue.Queue = queue.Queue()
    current: dict[str, Any] = {"id": None, "job": None}
    stopped: set[int] = set()
    state_lock = threading.Lock()

    def read() -> None:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                os._exit(0)  # the pool's process is gone: so is the reason to be here
            if message[0] == "run":
                tasks.put(message)
            elif message[0] == "stop":
                with state_lock:
                    if current["id"] == message[1]:
                        current["job"].stop_event.set()
                    else:
                        stopped.add(message[1])
            elif message[0] == "exit":
                tasks.put(None)

    threading.Thread(target=read, name="worker-reader", daemon=True).start()
    send(("ready", os.getpid()))
    while True:
        message = tasks.get()
        if message is None:
            return
        _, job_id, payload = message
        job = WorkerJob(job_id, lambda record, i=job_id: send(("progress", i, record)))
        with state_lock:
            current["id"], current["job"] = job_id, job
            if job_id in stopped:
                stopped.discard(job_id)
                job.stop_event.set()
        kind, value, partial = run_task_here(job, payload)
        with state_lock:
            current["id"], current["job"] = None, None
        try:
            send((kind, job_id, value, partial))
        except Exception as exc:  # the result did not pickle: say so instead
            send(("error", job_id, RuntimeError(f"the job's result could not be sent back: {exc}"), (False, None)))


def _rss_bytes(pid: int) -> int | None:
    """Resident memory of a process (Linux /proc), or None where that cannot be read."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _signal_name(exitcode: int | None) -> str:
    if exitcode is None or exitcode >= 0:
        return f"exit code {exitcode}"
    try:
        return signal.Signals(-exitcode).name
    except ValueError:
        return f"signal {-exitcode}"


class _Worker:
    def __init__(self, ctx, preload: tuple[str, ...], name: str):
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_worker_main, args=(child, preload), name=name, daemon=True)
        self.process.start()
        child.close()
        self.pid = self.process.pid
        self._send_lock = threading.Lock()
        self.ready = False
        self.busy = False

    def send(self, message) -> None:
        with self._send_lock:
            self.conn.send(message)

    @property
    def alive(self) -> bool:
        return self.process.is_alive()

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except (ProcessLookupError, OSError):
            pass
        self.process.join(5)
        self.conn.close()

    def retire(self) -> None:
        try:
            self.send(("exit",))
        except (OSError, ValueError):
            pass
        self.process.join(2)
        if self.process.is_alive():
            self.kill()
        else:
            self.conn.close()


class WorkerProcesses(Executor):
    """`workers` spawned processes, one Task at a time each, one torch thread each.

    A worker that dies (SIGKILL, the kernel's out-of-memory killer) fails its job with one line and is
    replaced; one whose resident memory passes `memory_limit_mb` is killed the same way (checked every
    WATCH_EVERY_S), and one left above `retire_above_mb` after a job is replaced by a fresh one.
    `preload`: modules each worker imports when it starts (torch, the lab), not when the first job comes.
    """

    def __init__(self, workers: int, *, memory_limit_mb: int | None = None, retire_above_mb: int | None = None,
                 preload: tuple[str, ...] = (), name: str = "job-worker"):
        import multiprocessing

        self.workers = workers
        self.memory_limit_mb = memory_limit_mb
        self.retire_above_mb = retire_above_mb
        self.preload = tuple(preload)
        self.name = name
        self._ctx = multiprocessing.get_context("spawn")
        self._cond = threading.Condition()
        self._pool: list[_Worker] = []
        self._closed = False
        self.replaced = 0  # workers replaced after dying or passing the ceiling

    def describe(self) -> str:
        limit = f", at most {self.memory_limit_mb:,} MB each" if self.memory_limit_mb else ""
        return f"{self.workers} worker process{'es' if self.workers != 1 else ''}{limit}"

    # --- workers
    def warm(self) -> None:
        with self._cond:
            while not self._closed and len(self._pool) < self.workers:
                self._pool.append(self._spawn())

    def _spawn(self) -> _Worker:
        return _Worker(self._ctx, self.preload, f"{self.name}-{len(self._pool) + 1}")

    def pids(self) -> list[int]:
        with self._cond:
            return [w.pid for w in self._pool]

    def _acquire(self) -> _Worker:
        self.warm()
        with self._cond:
            while True:
                if self._closed:
                    raise RuntimeError("the job pool was closed")
                idle = [w for w in self._pool if not w.busy]
                if idle:
                    worker = idle[0]
                    worker.busy = True
                    return worker
                self._cond.wait(1.0)

    def _release(self, worker: _Worker, *, replace: bool = False) -> None:
        if not replace and self.retire_above_mb:
            rss = _rss_bytes(worker.pid)
            replace = rss is not None and rss > self.retire_above_mb * 2**20
            if replace:
                worker.retire()
        with self._cond:
            if replace:
                if worker in self._pool:
                    self._pool.remove(worker)
                if not self._closed:
                    self._pool.append(self._spawn())
                    self.replaced += 1
            else:
                worker.busy = False
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            workers, self._pool = list(self._pool), []
            self._cond.notify_all()
        for w in workers:
            w.retire()

    # --- one job
    def execute(self, job: Job, task: Task) -> Any:
        payload = task.payload()  # a Task that does not pickle fails here, in one line, before any worker
        worker = self._acquire()
        try:
            if not worker.ready:
                self._wait_ready(worker)
            job._attach(lambda: worker.send(("stop", job.id)), worker.pid)
            worker.send(("run", job.id, payload))
            return self._follow(job, worker)
        except RemoteFailure as failure:
            if isinstance(failure.exception, WorkerDied):
                worker.kill()
                self._release(worker, replace=True)
                worker = None
            raise
        finally:
            if worker is not None:
                self._release(worker)

    def _wait_ready(self, worker: _Worker) -> None:
        while not worker.ready:
            if worker.conn.poll(WATCH_EVERY_S):
                try:
                    message = worker.conn.recv()
                except (EOFError, OSError):
                    raise RemoteFailure(self._died(worker)) from None
                worker.ready = message[0] == "ready"
            elif not worker.alive:
                raise RemoteFailure(self._died(worker))

    def _follow(self, job: Job, worker: _Worker) -> Any:
        while True:
            if worker.conn.poll(WATCH_EVERY_S):
                try:
                    message = worker.conn.recv()
                except (EOFError, OSError):
                    raise RemoteFailure(self._died(worker)) from None
                kind = message[0]
                if kind == "progress":
                    job._publish(message[2])
                elif kind == "done":
                    return message[2]
                elif kind == "error":
                    has_partial, partial = message[3]
                    raise RemoteFailure(message[2], partial, has_partial)
                continue
            if not worker.alive:
                raise RemoteFailure(self._died(worker))
            rss = _rss_bytes(worker.pid) if self.memory_limit_mb else None
            if rss is not None and rss > self.memory_limit_mb * 2**20:
                worker.kill()
                raise RemoteFailure(WorkerDied(
                    f"the job used more memory than a worker may ({rss / 2**20:,.0f} MB > {self.memory_limit_mb:,} MB, "
                    "DC_WORKER_MEMORY_MB) and was stopped: try a smaller setting"))

    def _died(self, worker: _Worker) -> WorkerDied:
        worker.process.join(2)
        how = _signal_name(worker.process.exitcode)
        hint = " (out of memory, or ended by hand)" if how == "SIGKILL" else ""
        return WorkerDied(f"the worker process running this job died ({how}{hint}); it has been replaced: "
                          "start the job again")
