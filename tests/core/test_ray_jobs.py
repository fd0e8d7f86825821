"""The Ray backend (DC_JOBS=ray://HOST:PORT) behind the same job API, on a real local Ray instance.

One Ray instance for the module (127.0.0.1 only, no dashboard, 2 CPUs), shut down at the end with
every process it started. Real jobs go through it: progress, Stop, a Ray worker killed with SIGKILL,
and a seeded Score lab run whose weights equal those of the same run in the local worker pool.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from models.core.job_backends import jobs_backend_from_env
from models.core.jobs import CANCELLED, DONE, FAILED, JobPool, Task, WorkerDied
from models.core.workers import WorkerProcesses
from tests.core.test_job_workers import Count, Refused, count, refuse

ray = pytest.importorskip("ray", reason="Ray is installed by `make test` (requirements-ray.txt)")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    from models.core.ray_jobs import RayCluster

    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False,
             runtime_env=__import__("models.core.ray_jobs", fromlist=["x"])._local_runtime_env())
    pool = JobPool(2, executor=RayCluster(None))
    try:
        yield pool
    finally:
        pool.close()
        ray.shutdown()


def _wait_for(predicate, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_ray_address_is_checked_in_one_line():
    assert jobs_backend_from_env({"DC_JOBS": "ray://10.0.0.5:10001"}) == "ray://10.0.0.5:10001"
    assert jobs_backend_from_env({}) == "processes"
    with pytest.raises(ValueError, match="ray://HOST:PORT"):
        jobs_backend_from_env({"DC_JOBS": "ray://nowhere"})


def test_progress_stop_and_errors_come_back_from_ray(cluster):
    job = cluster.submit(Task(count, (10_000,)), name="long", owner="a")
    _wait_for(lambda: (job.snapshot() or Count()).step >= 3)
    assert isinstance(job.snapshot(), Count) and job.worker_pid not in (None, os.getpid())
    job.cancel()
    assert job.wait(60) and job.state == CANCELLED and 3 <= job.result < 10_000
    failed = cluster.submit(Task(refuse), name="refuse")
    assert failed.wait(90) and failed.state == FAILED and isinstance(failed.exception, Refused)


def test_a_killed_ray_worker_fails_its_job_in_one_line_and_the_next_job_runs(cluster):
    job = cluster.submit(Task(count, (10_000,)), name="victim")
    _wait_for(lambda: (job.snapshot() or Count()).step >= 2 and job.worker_pid is not None)
    os.kill(job.worker_pid, signal.SIGKILL)
    assert job.wait(90) and job.state == FAILED
    assert isinstance(job.exception, WorkerDied) and "\n" not in job.error, job.error
    after = cluster.submit(Task(count, (3,)), name="next")
    assert after.wait(90) and after.state == DONE and after.result == 3


def test_a_seeded_run_on_ray_equals_the_same_run_in_the_local_pool(cluster):
    import torch

    from models.lab.datasets import DatasetSpec, training_data
    from models.score.run import TrainingRun, training_config, training_job

    data = training_data(DatasetSpec.builtin("moons"), 2000, 0)
    local = JobPool(1, executor=WorkerProcesses(1))
    try:
        runs = []
        for pool in (cluster, local):
            run = TrainingRun(data=data, config=training_config(steps=150, seed=5))
            run.job = pool.submit(run.training_task(training_job, previews=False, loss_floors=False))
            assert run.job.wait(180) and run.job.state == DONE, run.job.error
            runs.append(run)
    finally:
        local.close()
    on_ray, in_pool = runs
    assert on_ray.steps_done == in_pool.steps_done == 150
    for a, b in zip(on_ray.trainer.network.state_dict().values(), in_pool.trainer.network.state_dict().values()):
        assert torch.equal(a, b)
