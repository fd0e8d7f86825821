"""The Ray backend (DC_JOBS=ray://HOST:PORT) behind the same job API, on a real local Ray instance.

One Ray instance for the module (no dashboard, 2 CPUs), shut down at the end with every process it
started. Real jobs go through it: progress, Stop, a Ray worker killed with SIGKILL, and a seeded Score
lab run whose weights equal those of the same run in the local worker pool. One more test starts a
head with `ray start --block` and drives it through a ray:// address (Ray Client, token auth), as the
app's DC_JOBS does. Ray speaks to 127.0.0.1 only (RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0: no cluster
address on the network interface) and writes nothing under the home folder (no token file).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
os.environ.update(LOOPBACK)  # read when ray is imported: before the import below
os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # the in-process instance: loopback only, no token file

from models.core.jobs import CANCELLED, DONE, FAILED, JobPool, Task, WorkerDied
from models.core.workers import WorkerProcesses
from tests.core.test_job_workers import Count, Refused, count, refuse

ray = pytest.importorskip("ray", reason="Ray is installed by `make test` (requirements-ray.txt)")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    from models.core.ray_jobs import RayCluster

    short = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # Ray's socket paths must stay under 107 characters
    pool = JobPool(2, executor=RayCluster(None, init_options={"num_cpus": 2, "_temp_dir": short}))
    assert ray.get_runtime_context().gcs_address.startswith("127.0.0.1:")
    try:
        yield pool
    finally:
        pool.close()
        ray.shutdown()
        shutil.rmtree(short, ignore_errors=True)


def _wait_for(predicate, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CLIENT_DRIVER = """
import sys, time
from models.core.job_backends import jobs_backend_from_env, make_executor
from models.core.jobs import JobPool, Task
from tests.core.test_job_workers import count
pool = JobPool(1, executor=make_executor(jobs_backend_from_env(), 1))
job = pool.submit(Task(count, (20,)), name="through ray://")
assert job.wait(120), "no answer"
print("DONE", job.state, job.result, job.snapshot().step, job.error)
job = pool.submit(Task(count, (100000,)), name="stopped")
deadline = time.monotonic() + 60
while (job.snapshot() is None or job.snapshot().step < 3) and time.monotonic() < deadline:
    time.sleep(0.1)
job.cancel()
job.wait(60)
print("STOPPED", job.state, job.result)
pool.close()
"""


def test_dc_jobs_names_a_ray_cluster_by_its_client_address(tmp_path):
    """A head started with `ray start --block` (token auth, as a department runs it), and a driver that
    reads DC_JOBS=ray://127.0.0.1:PORT like the app: a job's progress and result, then Stop."""
    repo = str(Path(__file__).resolve().parents[2])
    gcs, client = _free_port(), _free_port()
    short = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # Ray's socket paths must stay under 107 characters
    env = {**os.environ, **LOOPBACK, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16),
           "PYTHONPATH": repo, "HOME": str(tmp_path)}
    head = subprocess.Popen([sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--port", str(gcs),
                             "--ray-client-server-port", str(client), "--num-cpus", "1", "--include-dashboard",
                             "false", "--temp-dir", str(short), "--block", "--disable-usage-stats"],
                            env=env, cwd=repo, start_new_session=True, stdout=open(tmp_path / "head.log", "w"),
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:  # the head's client server is up once it accepts a connection
            try:
                socket.create_connection(("127.0.0.1", client), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and head.poll() is None, (tmp_path / "head.log").read_text()[-3000:]
                time.sleep(0.5)
        driver = subprocess.run([sys.executable, "-c", CLIENT_DRIVER], env={**env, "DC_JOBS": f"ray://127.0.0.1:{client}"},
                                cwd=repo, capture_output=True, text=True, timeout=240)
        assert "DONE done 20 20 None" in driver.stdout, driver.stdout + driver.stderr[-2000:]
        stopped = driver.stdout.split("STOPPED ")[1].split()
        assert stopped[0] == "cancelled" and 3 <= int(stopped[1]) < 100000, driver.stdout
    finally:
        if head.poll() is None:
            os.killpg(head.pid, signal.SIGTERM)  # the head and every process it started, nothing else
        try:
            head.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait(10)
        shutil.rmtree(short, ignore_errors=True)

