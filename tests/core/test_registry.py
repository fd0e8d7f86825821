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


class Sessions:
    """Which browser sessions are open (stands in for Streamlit's runtime)."""

    def __init__(self):
        self.open = set()

    def __call__(self, owner):
        return owner in self.open


def test_a_class_using_both_pages_never_evicts_a_live_tab_run():
    """33 other sessions made session A's run vanish on reload: a live tab's run stays, whatever the others do."""
    sessions = Sessions()
    reg = RunRegistry(is_alive=sessions)
    sessions.open.add("A")
    a = reg.register("A's run", owner="A")
    for i in range(120):  # a class of 60, each with a Score lab run and a How FLUX samples flow
        sessions.open.add(f"s{i // 2}")
        reg.register(f"run {i}", owner=f"s{i // 2}")
    assert reg.get(a) == "A's run"
    # A reloads: the old session closes, the new one finds the run and owns it from now on.
    sessions.open.discard("A")
    sessions.open.add("A2")
    assert reg.get(a, owner="A2") == "A's run"
    for i in range(2000):  # far more runs than the registry keeps, each from a tab that has closed
        reg.register(f"closed tab's run {i}", owner=f"gone{i}")
    assert reg.get(a) == "A's run" and len(reg) <= reg.max_runs + 61 * reg.per_owner


def test_a_live_tab_keeps_its_run_past_the_age_limit_and_one_session_cannot_fill_the_registry():
    sessions = Sessions()
    sessions.open.add("A")
    reg = RunRegistry(max_age_s=0.2, is_alive=sessions)
    a = reg.register("A's run", owner="A")
    time.sleep(0.25)
    assert reg.get(a) == "A's run"  # its tab is open: kept
    sessions.open.discard("A")
    time.sleep(0.25)
    assert reg.get(a) is None  # closed and old: gone
    sessions.open.add("B")
    ids = [reg.register(i, owner="B") for i in range(50)]
    assert len(reg) <= reg.per_owner and reg.get(ids[-1]) == 49  # one session keeps its newest few

