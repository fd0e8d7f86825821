import threading
import time
from dataclasses import dataclass

import pytest

from models.core.jobs import CANCELLED, DONE, FAILED, JobPool, OneJobPerSession


@dataclass(frozen=True)
class Steps:
    step: int = 0
    phase: str = "starting"


def test_job_runs_reports_and_returns():
    pool = JobPool(1)

    def work(job):
        job.report(Steps(phase="counting"))
        for i in range(5):
            job.report(step=i)
        return "ok"

    job = pool.submit(work, name="w")
    assert job.wait(5)
    assert job.state == DONE and job.result == "ok" and job.snapshot() == Steps(step=4, phase="counting")


def test_progress_is_a_typed_record():
    pool = JobPool(1)
    seen = {}

    def work(job):
        seen["before"] = job.snapshot()
        with pytest.raises(TypeError):
            job.report(step=1)          # no record yet
        job.report(Steps())
        with pytest.raises(TypeError):
            job.report(stpe=2)          # a misspelt field is an error, not a new key
        first = job.snapshot()
        job.report(step=3)
        seen["first"], seen["last"] = first, job.snapshot()

    assert pool.submit(work, name="w").wait(5)
    assert seen["before"] is None and seen["first"] == Steps() and seen["last"] == Steps(step=3)


def test_pool_caps_concurrency_and_reports_queue_position():
    pool = JobPool(1)
    gate = threading.Event()
    first = pool.submit(lambda job: gate.wait(5), name="first")
    second = pool.submit(lambda job: "second", name="second")
    third = pool.submit(lambda job: "third", name="third")
    assert pool.running == 1
    assert (first.queue_position, second.queue_position, third.queue_position) == (0, 1, 2)
    gate.set()
    assert third.wait(5) and second.state == DONE and third.result == "third"


def test_cancel_stops_running_job_and_drops_queued_job():
    pool = JobPool(1)

    def spin(job):
        while not job.should_stop():
            job.stop_event.wait(0.01)

    running = pool.submit(spin, name="spin")
    queued = pool.submit(lambda job: "never", name="queued")
    queued.cancel()
    assert queued.state == CANCELLED and queued.result is None
    running.cancel()
    assert running.wait(5) and running.state == CANCELLED


def test_failure_is_captured_with_message():
    pool = JobPool(1)

    def boom(job):
        raise RuntimeError("loss became NaN at step 7")

    job = pool.submit(boom)
    assert job.wait(5)
    assert job.state == FAILED and "step 7" in job.error


def test_cancel_owner_only_touches_that_owner():
    pool = JobPool(2)
    a = pool.submit(lambda job: job.stop_event.wait(5), owner="a")
    b = pool.submit(lambda job: job.stop_event.wait(0.2) or "b", owner="b")
    assert pool.cancel_owner("a") == 1
    assert a.wait(5) and b.wait(5)
    assert a.state == CANCELLED and b.state == DONE


def test_invalid_pool_size():
    with pytest.raises(ValueError):
        JobPool(0)


def test_reap_cancels_jobs_of_sessions_that_went_away():
    pool = JobPool(2)
    gone = pool.submit(lambda job: job.stop_event.wait(5), owner="closed-tab")
    alive = pool.submit(lambda job: job.stop_event.wait(0.3) or "kept", owner="open-tab")
    assert pool.reap(lambda owner: owner == "open-tab") == 1
    assert gone.wait(5) and gone.state == CANCELLED
    assert alive.wait(5) and alive.state == DONE


def test_one_job_per_owner_at_a_time():
    pool = JobPool(1)
    gate = threading.Event()
    first = pool.submit(lambda job: gate.wait(5), owner="tab-a", name="Score lab training")
    with pytest.raises(OneJobPerSession, match="Score lab training"):
        pool.submit(lambda job: "second", owner="tab-a")
    other = pool.submit(lambda job: "b", owner="tab-b")  # another student still gets in line
    assert pool.active_job("tab-a") is first and other.queue_position == 1
    first.cancel()  # asked to stop: no longer counts, even before its thread returns
    replacement = pool.submit(lambda job: "again", owner="tab-a")
    gate.set()
    assert replacement.wait(5) and replacement.result == "again" and other.result == "b"
    assert pool.active_job("tab-a") is None


def test_reap_waits_out_the_grace_period_and_a_reattached_job_survives():
    pool = JobPool(2, reap_grace_s=0.3)
    gone = pool.submit(lambda job: job.stop_event.wait(5), owner="closed-tab")
    reloaded = pool.submit(lambda job: job.stop_event.wait(5), owner="old-tab")
    alive = {"new-tab"}
    assert pool.reap(lambda o: o in alive) == 0  # just noticed: within the grace period
    pool.adopt(reloaded, "new-tab")             # the reloaded tab reattached to its run
    time.sleep(0.35)
    assert pool.reap(lambda o: o in alive) == 1
    assert gone.wait(5) and gone.state == CANCELLED
    assert reloaded.state == "running"
    reloaded.cancel()


def test_a_pages_own_job_gives_way_to_a_button_and_never_pushes_one_aside():
    pool = JobPool(2)
    on_sight = pool.submit(lambda job: job.stop_event.wait(5), owner="tab", name="memorization", background=True)
    with pytest.raises(OneJobPerSession) as blocked:  # a second page's own job waits for the first
        pool.submit(lambda job: "other page", owner="tab", background=True)
    assert blocked.value.job is on_sight
    pool.check_free("tab")  # a button may start: the page's own job does not block it
    pressed = pool.submit(lambda job: job.stop_event.wait(5) or "trained", owner="tab", name="Train")
    assert on_sight.wait(5) and on_sight.state == CANCELLED
    with pytest.raises(OneJobPerSession) as blocked:  # a button's job does block, and names itself
        pool.check_free("tab")
    assert blocked.value.job is pressed and "(Train)" in str(blocked.value)
    pressed.cancel()


def test_the_job_backend_and_memory_ceiling_settings_are_checked_in_one_line():
    from models.core.job_backends import jobs_backend_from_env, worker_memory_mb_from_env
    from models.core.server_settings import check_settings

    assert jobs_backend_from_env({}) == "processes"
    assert jobs_backend_from_env({"DC_JOBS": "threads"}) == "threads"
    assert jobs_backend_from_env({"DC_JOBS": "ray://head.example:10001"}) == "ray://head.example:10001"
    for bad in ("ray://nowhere", "celery", "ray://:10001"):
        with pytest.raises(ValueError, match="DC_JOBS"):
            jobs_backend_from_env({"DC_JOBS": bad})
    assert worker_memory_mb_from_env({"DC_WORKER_MEMORY_MB": "2048"}) == 2048
    assert worker_memory_mb_from_env({}, default=7) == 7
    with pytest.raises(ValueError, match="DC_WORKER_MEMORY_MB"):
        worker_memory_mb_from_env({"DC_WORKER_MEMORY_MB": "12"})
    problems = check_settings({"DC_JOBS": "celery", "DC_WORKER_MEMORY_MB": "lots"})
    assert any(p.startswith("DC_JOBS=") for p in problems) and any("DC_WORKER_MEMORY_MB" in p for p in problems)

