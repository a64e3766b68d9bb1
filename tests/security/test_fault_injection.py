"""A worker that segfaults, is killed, hangs, spins or runs out of memory ends only its own call.

Each fault runs while another worker call is in flight; that call finishes with the right
answer, the pool keeps its zygote, and no worker process is left behind.
"""

from __future__ import annotations

import logging
import os
import signal
import threading

import pytest

from qviz.model import load_model, weight_stats
from qviz.worker import Limits, WorkerError, protocol
from qviz_dev import model_factory as mf
from qviz_dev.wait import wait_until
from qviz_dev.workers import make_pool, process_gone, wait_for_no_workers, wait_for_workers

CONV = mf.to_bytes(mf.conv_net())

FAULTS = {
    "sigsegv": ("segfault", (), "crash", r"crashed the worker \(signal 11, SIGSEGV\)"),
    "kill_9": ("kill9", (), "crash", r"signal 9, SIGKILL"),
    "hang": ("hang", (), "wall_time", "took longer than 2 s"),
    "spin": ("spin", (), "cpu_time", "more than 1 s of CPU time"),
    "out_of_memory": ("alloc", (3 * 2**30,), "memory", "needed more than 1 GB"),
}
FAULT_LIMITS = Limits(memory_bytes=2**30, cpu_seconds=1, wall_seconds=2.0)
# NOTE: on a loaded machine a spinning worker may get less than half a core: 1 s of CPU then
# takes more than 2 s of wall time and the wall limit fired first. A generous wall limit makes
# the CPU limit the one that ends the spin.
LIMITS = {"spin": Limits(memory_bytes=2**30, cpu_seconds=1, wall_seconds=60.0)}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_ends_only_its_own_call(pool, fault):
    task, args, kind, message = FAULTS[fault]
    zygote = pool.zygote_pid
    other = {}
    thread = threading.Thread(target=lambda: other.update(result=pool.call("slow_describe", 0.3, CONV)))
    thread.start()
    with pytest.raises(WorkerError, match=message) as err:
        pool.call(task, *args, limits=LIMITS.get(fault, FAULT_LIMITS))
    thread.join(30)
    assert err.value.kind == kind
    stats = weight_stats(load_model(CONV))
    assert [row["abs_max"] for row in other["result"]["weight_stats"]] == pytest.approx(list(stats["abs_max"]))
    assert pool.zygote_pid == zygote
    assert wait_for_no_workers(pool) == []


def test_zygote_killed_mid_call_is_restarted_and_leaves_no_orphans(tmp_path):
    with make_pool() as pool:
        first = pool.zygote_pid
        done = {}
        thread = threading.Thread(target=lambda: done.update(err=_error(pool, "hang")))
        thread.start()
        (worker,) = wait_for_workers(pool)
        os.kill(first, signal.SIGKILL)
        thread.join(30)
        assert isinstance(done["err"], WorkerError)
        info = pool.call("describe_upload", CONV)  # a new zygote
        assert pool.zygote_pid != first and len(info["layers"]) == 3
        assert process_gone(worker)  # the orphaned worker died with its zygote (PR_SET_PDEATHSIG)


def _error(pool, task, *args):
    try:
        pool.call(task, *args)
    except WorkerError as e:
        return e


def test_close_leaves_no_process():
    pool = make_pool().start()
    zygote = pool.zygote_pid
    thread = threading.Thread(target=lambda: _error(pool, "hang"))
    thread.start()
    (worker,) = wait_for_workers(pool)
    pool.close()
    thread.join(30)
    assert process_gone(zygote) and process_gone(worker)


def test_busy_pool_refuses_with_a_clear_message():
    with make_pool(max_workers=1, max_queue=1, queue_timeout=0.5) as pool:
        thread = threading.Thread(target=lambda: _error(pool, "hang"))
        thread.start()
        wait_for_workers(pool)
        waiting = threading.Thread(target=lambda: results.append(_error(pool, "probe")))
        results = []
        waiting.start()
        wait_until(lambda: pool._waiting == 1, what="the second call waiting for a slot")
        with pytest.raises(WorkerError, match="busy") as err:
            pool.call("probe")  # the queue (1) is full: refused at once
        waiting.join(10)
        thread.join(30)
        assert err.value.kind == "busy" and "waited 0.5 s" in str(results[0])


def test_bug_in_a_task_is_logged_not_shown(pool, caplog):
    caplog.set_level(logging.WARNING, logger="qviz.worker")
    with pytest.raises(WorkerError, match=r"failed while running fail \(KeyError\)") as err:
        pool.call("fail")
    assert "Traceback" not in str(err.value) and "a qviz bug" not in str(err.value)
    assert "a qviz bug" in caplog.text and "Traceback" in caplog.text


def test_control_characters_never_reach_the_server_log(pool, caplog):
    caplog.set_level(logging.WARNING, logger="qviz.worker")
    with pytest.raises(WorkerError):
        pool.call("fail", "\x1b[31m\x1b]0;owned\x07")
    assert "\x1b" not in caplog.text and "\x07" not in caplog.text
    assert "\\x1b[31m" in caplog.text


@pytest.mark.parametrize(
    "task, args", [("big_result", (2**20,)), ("unsendable", ())], ids=["too_big", "not_plain_data"]
)
def test_results_the_server_will_not_read(pool, task, args):
    with pytest.raises(WorkerError) as err:
        pool.call(task, *args, limits=Limits(memory_bytes=2**30, wall_seconds=5, max_result_bytes=2**19))
    assert err.value.kind == "internal"
    assert wait_for_no_workers(pool) == []


def test_arguments_that_are_not_plain_data_are_refused_before_any_worker(pool):
    with pytest.raises(protocol.ProtocolError, match="cannot send a set"):
        pool.call("describe_upload", {1, 2})


def test_unknown_task_is_refused(pool):
    with pytest.raises(WorkerError, match=r"internal|unknown|ValueError"):
        pool.call("os.system", "echo hi")


def test_worker_runs_one_or_two_threads(pool):
    model = mf.conv_net()
    seen = pool.call("threads_running", mf.to_bytes(model), mf.random_inputs(model))
    assert 1 <= seen["threads"] <= 2


class Rerun(BaseException):
    """Stands in for Streamlit stopping a script run while it waits on a worker."""


def test_abandoned_call_kills_its_worker(pool, monkeypatch):
    def abandon(*args, **kwargs):
        raise Rerun

    monkeypatch.setattr(protocol, "recv_frame", abandon)
    with pytest.raises(Rerun):
        pool.call("hang", limits=Limits(memory_bytes=2**30, wall_seconds=60))  # its own timer would not fire in time
    monkeypatch.undo()
    assert wait_for_no_workers(pool) == []
    assert pool.call("probe")["listing"] == []
