"""The run registry that lets a reloaded tab find its run: bounded in count and age, ids unguessable."""

import time

from models.core.registry import RunRegistry


def test_register_get_forget():
    reg = RunRegistry()
    a, b = reg.register("run a"), reg.register("run b")
    assert a != b and len(a) >= 12
    assert reg.get(a) == "run a" and reg.get(b) == "run b"
    assert reg.get("guess") is None and reg.get(None) is None and reg.get("") is None
    reg.forget(a)
    assert reg.get(a) is None and reg.get(b) == "run b"


def test_bounded_in_count_oldest_first():
    reg = RunRegistry(max_runs=3)
    ids = [reg.register(i) for i in range(5)]
    assert len(reg) == 3
    assert [reg.get(i) for i in ids] == [None, None, 2, 3, 4]


def test_bounded_in_age():
    reg = RunRegistry(max_age_s=0.2)
    old = reg.register("old")
    time.sleep(0.25)
    new = reg.register("new")
    assert reg.get(old) is None and reg.get(new) == "new" and len(reg) == 1


def test_a_run_of_another_kind_is_not_found():
    # the Score lab keeps a TrainingRun, How FLUX samples a {slot: FlowRun}: one page's id pasted
    # into the other page's address must start that page clean, not hand it the wrong object
    reg = RunRegistry()
    flows = reg.register({"plain": "a flow run"})
    assert reg.get(flows, kind=dict) == {"plain": "a flow run"}
    assert reg.get(flows, kind=str) is None
    assert reg.get(flows) == {"plain": "a flow run"}  # no kind: whatever was kept
