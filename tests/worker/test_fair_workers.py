"""Fair, bounded workers (issue 12, item 2), with real worker processes and tiny limits.

Two hung uploads used to hold both of a 2-core pool's slots for the full wall limit, and every
other upload, and a student tuning an accepted upload, got "server is busy". No wall times here:
the assertions are on outcomes, order and states.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from qviz.model import load_model, make_session
from qviz.worker import Limits, WorkerError
from qviz.worker.host import ModelHost
from qviz.worker.memory_budget import MemoryBudget, total_from_env
from qviz_dev import model_factory as mf
from qviz_dev.wait import wait_until
from qviz_dev.workers import make_pool, wait_for_no_workers, wait_for_workers

LIMITS = Limits(memory_bytes=2**30, cpu_seconds=20, wall_seconds=2.0)  # the hang ends at 2 s
HOST_LIMITS = Limits(memory_bytes=2**30, cpu_seconds=30, wall_seconds=30.0)


class Background:
    """pool.call(...) in a thread; its result or error once done."""

    def __init__(self, fn, *args, **kw):
        self.result = self.error = None
        self.thread = threading.Thread(target=self._run, args=(fn, args, kw), daemon=True)
        self.thread.start()

    def _run(self, fn, args, kw):
        try:
            self.result = fn(*args, **kw)
        except BaseException as e:  # noqa: BLE001 - the test reads it
            self.error = e

    def join(self):
        self.thread.join(60)
        return self

    @property
    def done(self) -> bool:
        return not self.thread.is_alive()


def hang_in_turn(pool, owner):
    with pool.turn(owner):
        return pool.call("hang")


def test_hung_preflights_never_block_an_accepted_uploads_host():
    """Both pre-flight slots hang; the accepted upload's host still runs, before either hang ends."""
    with make_pool(limits=LIMITS, max_workers=2, host_workers=1) as pool:
        hangs = [Background(pool.call, "hang") for _ in range(2)]
        wait_until(lambda: pool.calls.running == 2, 20, what="two hung pre-flights")
        model = mf.mlp()
        x = mf.random_inputs(model)
        loaded = load_model(mf.to_bytes(model)).isolated(ModelHost(pool, HOST_LIMITS))
        got = loaded.executor.session(loaded.model_bytes).run(None, x)
        want = make_session(loaded.model_bytes).run(None, x)
        assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(got, want, strict=True))
        assert not any(h.done for h in hangs), "the host call had to wait for a hung pre-flight"
        for h in hangs:
            error = h.join().error
            assert isinstance(error, WorkerError) and error.kind == "wall_time"


def test_hung_work_is_killed_and_gives_back_its_slot_and_memory():
    with make_pool(limits=LIMITS, max_workers=1) as pool:
        with pytest.raises(WorkerError) as err:
            pool.call("hang")
        assert err.value.kind == "wall_time"
        assert pool.calls.running == 0 and pool.memory.reserved == 0
        assert wait_for_no_workers(pool) == []
        assert pool.call("alloc", 10) == {"sum": 10}  # the slot is free for the next upload


def test_a_session_holds_at_most_one_preflight():
    with make_pool(limits=LIMITS, max_workers=2) as pool:
        first = Background(hang_in_turn, pool, "tab-a")
        wait_until(lambda: pool.calls.running == 1, 20, what="the first pre-flight running")
        with pytest.raises(WorkerError) as err:
            hang_in_turn(pool, "tab-a")
        assert err.value.kind == "one_at_a_time"
        assert pool.call("alloc", 3) == {"sum": 3}  # another session is not refused
        assert first.join().error.kind == "wall_time"


def test_a_newer_upload_of_a_session_supersedes_its_waiting_one():
    with make_pool(limits=LIMITS, max_workers=1) as pool:
        busy = Background(hang_in_turn, pool, "other")
        wait_until(lambda: pool.calls.running == 1, 20, what="a pre-flight running")
        older = Background(hang_in_turn, pool, "tab-a")
        wait_until(lambda: pool.calls.waiting == 1, 5, what="the older upload waiting")
        newer = Background(lambda: _alloc_in_turn(pool, "tab-a"))
        older.join()
        assert isinstance(older.error, WorkerError) and older.error.kind == "cancelled"
        assert newer.join().result == {"sum": 5}
        assert busy.join().error.kind == "wall_time"


def _alloc_in_turn(pool, owner):
    with pool.turn(owner):
        return pool.call("alloc", 5)


def test_the_queue_is_first_come_first_served_and_shows_places():
    with make_pool(limits=LIMITS, max_workers=1) as pool:
        busy = Background(hang_in_turn, pool, "x")
        wait_until(lambda: pool.calls.running == 1, 20, what="a pre-flight running")
        order: list[str] = []
        places: dict[str, list[int]] = {"a": [], "b": []}

        def upload(owner):
            with pool.turn(owner, on_position=places[owner].append):
                order.append(owner)

        a = Background(upload, "a")
        wait_until(lambda: pool.calls.waiting == 1, 5, what="a waiting")
        b = Background(upload, "b")
        a.join(), b.join(), busy.join()
        assert order == ["a", "b"]
        assert places["a"] == [1, 0] and places["b"][0] == 2 and places["b"][-1] == 0


def test_a_session_that_leaves_gives_up_its_place():
    with make_pool(limits=LIMITS, max_workers=1) as pool:
        busy = Background(hang_in_turn, pool, "x")
        wait_until(lambda: pool.calls.running == 1, 20, what="a pre-flight running")
        gone = threading.Event()
        waiter = Background(lambda: _alloc_in_turn_cancelled(pool, gone))
        wait_until(lambda: pool.calls.waiting == 1, 5, what="the upload waiting")
        gone.set()
        assert waiter.join().error.kind == "cancelled"
        assert pool.calls.waiting == 0
        busy.join()


def _alloc_in_turn_cancelled(pool, gone):
    with pool.turn("tab", cancelled=gone.is_set):
        return pool.call("alloc", 1)


def test_the_total_memory_of_all_workers_is_capped():
    """Room for one 1 GiB worker: a second call waits for the memory, then is refused as busy;
    never two workers alive."""
    budget = MemoryBudget(int(1.5 * 2**30))
    with make_pool(limits=LIMITS, max_workers=2, memory=budget, queue_timeout=0.5) as pool:
        hung = Background(pool.call, "hang")
        wait_for_workers(pool, 1)
        with pytest.raises(WorkerError, match="memory budget") as err:
            pool.call("alloc", 1)
        assert err.value.kind == "busy" and len(pool.live_workers()) == 1
        hung.join()
        assert budget.reserved == 0


def test_an_idle_host_holds_only_its_resident_size_of_the_budget():
    budget = MemoryBudget(4 * 2**30)
    with make_pool(limits=LIMITS, memory=budget) as pool:
        host = ModelHost(pool, HOST_LIMITS)
        host.session(mf.to_bytes(mf.mlp())).run(None, mf.random_inputs(mf.mlp()))
        assert host.pid is not None and 0 < budget.reserved < HOST_LIMITS.memory_bytes


def test_idle_hosts_are_stopped_to_make_room_in_the_memory_budget():
    budget = MemoryBudget(int(1.1 * 2**30))  # one host's full limit, not two
    with make_pool(limits=LIMITS, memory=budget) as pool:
        data = mf.to_bytes(mf.mlp())
        x = mf.random_inputs(mf.mlp())
        first, second = ModelHost(pool, HOST_LIMITS), ModelHost(pool, HOST_LIMITS)
        first.session(data).run(None, x)
        old_pid = first.pid
        second.session(data).run(None, x)  # no room for its call: the idle first host is stopped
        assert first.pid is None and second.pid is not None and old_pid not in pool.live_workers()
        first.session(data).run(None, x)  # and starts again when it is used (the second, idle, makes room)
        assert first.pid is not None and second.pid is None


def test_the_budget_default_is_a_fraction_of_the_machine_and_configurable():
    assert total_from_env({"QVIZ_WORKERS_MEMORY_MB": "2048"}) == 2 * 2**30
    assert 0 < total_from_env({}) < 2**50
    with pytest.raises(ValueError, match="QVIZ_WORKERS_MEMORY_MB"):
        total_from_env({"QVIZ_WORKERS_MEMORY_MB": "lots"})
