"""Jobs in worker processes: the pool the app runs its training, sampling and generation in.

Real spawned processes: progress streams back as typed records, Stop reaches the worker and keeps what
it did, a worker killed with SIGKILL (as the kernel's out-of-memory killer does) fails its job in one
line and is replaced, a job past the memory ceiling fails the same way, and a Score lab run trained in
a worker is bit-identical to one trained in a thread, Stop and Resume included.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass

import numpy as np
import pytest

from models.core.jobs import CANCELLED, DONE, FAILED, JobPool, OneJobPerSession, Task, WorkerDied
from models.core.workers import WorkerProcesses

pytestmark = pytest.mark.slow  # each spawned worker imports torch: seconds on a busy 2-core machine


@dataclass(frozen=True)
class Count:
    step: int = 0
    pid: int = 0


class Refused(ValueError):
    """An exception of the task's own: it arrives as itself."""


def count(job, steps: int, gap_s: float = 0.01):
    job.report(Count(pid=os.getpid()))
    done = 0
    for done in range(1, steps + 1):
        if job.should_stop():
            break
        time.sleep(gap_s)
        job.report(step=done)
    return done


def refuse(job):
    job.report(Count(step=3))
    job.on_failure(lambda: "what was left")
    raise Refused("that setting cannot work")


def hog(job, megabytes: int):
    job.report(Count(pid=os.getpid()))
    block = np.ones(megabytes * 2**20 // 8)  # touched: resident
    time.sleep(30)
    return float(block[0])


@pytest.fixture(scope="module")
def pool():
    pool = JobPool(1, executor=WorkerProcesses(1, memory_limit_mb=1200, name="test-worker"))
    pool.warm()
    yield pool
    pool.close()


def _wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_task_runs_in_a_worker_process_and_streams_typed_progress(pool):
    seen = []
    job = pool.submit(Task(count, (30,), apply=lambda n: seen.append(n) or n * 2), name="count")
    _wait_for(lambda: job.snapshot() is not None)
    assert isinstance(job.snapshot(), Count)
    assert job.wait(60) and job.state == DONE, job.error
    assert job.result == 60 and seen == [30]  # apply ran here, with the worker's result
    assert job.snapshot() == Count(step=30, pid=job.worker_pid) and job.worker_pid != os.getpid()


def test_stop_reaches_the_worker_and_keeps_what_it_did(pool):
    job = pool.submit(Task(count, (10_000,)), name="long")
    _wait_for(lambda: (job.snapshot() or Count()).step >= 5)
    job.cancel()
    assert job.wait(30) and job.state == CANCELLED
    assert 5 <= job.result < 10_000


def test_a_failing_task_keeps_its_exception_and_what_it_salvaged(pool):
    kept = []
    job = pool.submit(Task(refuse, apply=kept.append), name="refuse")
    assert job.wait(60) and job.state == FAILED
    assert isinstance(job.exception, Refused) and job.error == "that setting cannot work"
    assert kept == ["what was left"] and job.snapshot() == Count(step=3)


def test_a_task_that_cannot_travel_fails_in_one_line(pool):
    job = pool.submit(Task(lambda job: 1), name="lambda")
    assert job.wait(30) and job.state == FAILED and "\n" not in job.error


def test_a_killed_worker_fails_its_job_in_one_line_and_is_replaced(pool):
    job = pool.submit(Task(count, (10_000,)), name="victim")
    _wait_for(lambda: (job.snapshot() or Count()).step >= 2)
    victim = job.worker_pid
    os.kill(victim, signal.SIGKILL)
    assert job.wait(30) and job.state == FAILED
    assert isinstance(job.exception, WorkerDied) and "SIGKILL" in job.error and "\n" not in job.error
    after = pool.submit(Task(count, (3,)), name="next")
    assert after.wait(60) and after.state == DONE and after.result == 3
    assert after.worker_pid != victim and victim not in pool.executor.pids()


def test_a_job_past_the_memory_ceiling_fails_cleanly_and_the_next_one_runs(pool):
    job = pool.submit(Task(hog, (2500,)), name="hog")
    assert job.wait(60) and job.state == FAILED
    assert "memory" in job.error and "1,200 MB" in job.error
    after = pool.submit(Task(count, (3,)), name="next")
    assert after.wait(60) and after.state == DONE


def test_a_worker_job_keeps_the_line_fair(pool):
    """One job per session, FIFO, and a page's own background job stopped by a button's job."""
    first = pool.submit(Task(count, (10_000,)), name="first", owner="a")
    second = pool.submit(Task(count, (2,)), name="second", owner="b")
    with pytest.raises(OneJobPerSession) as info:
        pool.submit(Task(count, (2,)), name="again", owner="a")
    assert info.value.job is first
    assert second.queue_position == 1
    first.cancel()
    assert second.wait(60) and second.state == DONE
    background = pool.submit(Task(count, (10_000,)), name="page's own", owner="c", background=True)
    with pytest.raises(OneJobPerSession):  # a page's own job never stops a button's
        pool.submit(Task(count, (2,)), name="another page's own", owner="c", background=True)
    pressed = pool.submit(Task(count, (2,)), name="Train", owner="c")
    assert background.wait(30) and background.state == CANCELLED
    assert pressed.wait(60) and pressed.state == DONE


def test_a_score_run_in_a_worker_equals_one_in_a_thread_stop_and_resume_included(pool):
    import torch

    from models.lab.datasets import DatasetSpec, training_data
    from models.score.run import TrainingRun, training_config, training_job

    data = training_data(DatasetSpec.builtin("moons"), 2000, 0)
    runs = []
    for where in (pool, JobPool(1)):  # a worker process, then a thread of this process
        run = TrainingRun(data=data, config=training_config(steps=200, seed=3))
        run.target_steps = 120
        run.job = where.submit(run.training_task(training_job, previews=False, loss_floors=False))
        assert run.job.wait(120) and run.job.state == DONE, run.job.error
        assert run.steps_done == 120 and run.trainer is not None
        run.target_steps = 200  # Resume: the worker gets the Trainer's state back
        run.job = where.submit(run.training_task(training_job, previews=False, loss_floors=False))
        assert run.job.wait(120) and run.job.state == DONE, run.job.error
        runs.append(run)
    in_worker, in_thread = runs
    assert in_worker.steps_done == in_thread.steps_done == 200
    assert in_worker.history == in_thread.history or [r["loss"] for r in in_worker.history] == \
        [r["loss"] for r in in_thread.history]
    for (name, a), b in zip(in_worker.trainer.network.state_dict().items(),
                            in_thread.trainer.network.state_dict().values()):
        assert torch.equal(a, b), name
