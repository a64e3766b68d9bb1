"""Sessions of an upload run in its ModelHost (qviz.worker.host), never in the server.

The oracle is the same model run in this process: outputs, activations and the kernel report
must agree bit for bit. Models whose cost depends on the VALUES they are fed (a pre-flight on
generated inputs cannot see it) exhaust memory, loop for ever or get killed in the host: that
call fails with a clear error, another model's host goes on, and the next call works again.
"""

from __future__ import annotations

import gc
import os
import threading

import numpy as np
import pytest
from onnx import TensorProto, helper

from qviz.config import PRESETS, LayerConfig, ModelConfig
from qviz.evaluate import Runner, as_data, config_latency
from qviz.model import ModelError, load_model
from qviz.model.deploy.kernels import integer_ops_report
from qviz.model.simulate.simulator import Simulator
from qviz.quant import QuantSpec
from qviz.worker import Limits, WorkerError, host
from qviz.worker.host import ModelHost
from qviz_dev import model_factory as mf
from qviz_dev.wait import wait_until
from qviz_dev.workers import make_pool, rss_bytes, wait_for_exactly, wait_for_no_workers

LIMITS = Limits(memory_bytes=2**30, cpu_seconds=30, wall_seconds=30.0)  # benign calls on a busy machine
BOMB_LIMITS = Limits(memory_bytes=2**30, cpu_seconds=5, wall_seconds=2.0)
CONFIGS = {
    "float": ModelConfig(),
    "w8a8": PRESETS["w8a8"],
    "conv1_w4": ModelConfig().with_layer("conv1", LayerConfig(QuantSpec(bits=4), None)),
}


def _value_dependent(body: list, extra_inits=()) -> bytes:
    """x[N, 4] -> y[N, 4] = x + f(n), n = int64(max(x)): cheap on the generated inputs of a
    pre-flight (n ~ 2), a bomb on large values. `body` maps "n" (int64 scalar) to "s" (float)."""
    head = [
        helper.make_node("ReduceMax", ["x"], ["mx"], keepdims=0),
        helper.make_node("Cast", ["mx"], ["n"], to=TensorProto.INT64),
    ]
    tail = [helper.make_node("Add", ["x", "s"], ["y"])]
    graph = helper.make_graph(
        head + body + tail, "value_dependent", [mf.vinfo("x", ["N", 4])], [mf.vinfo("y", ["N", 4])], list(extra_inits)
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10).SerializeToString()


def memory_bomb() -> bytes:
    """s = sum(zeros([n])): n = 1e10 asks for 40 GB."""
    return _value_dependent(
        [
            helper.make_node("Unsqueeze", ["n", "axis0"], ["shape"]),
            helper.make_node("ConstantOfShape", ["shape"], ["zeros"]),
            helper.make_node("ReduceSum", ["zeros"], ["s"], keepdims=0),
        ],
        [mf.init("axis0", np.array([0], np.int64))],
    )


def endless_loop() -> bytes:
    """s = a Loop of n iterations (each adds 1): n = 1e15 never ends."""
    body = helper.make_graph(
        [helper.make_node("Identity", ["c_in"], ["c_out"]), helper.make_node("Add", ["v_in", "one"], ["v_out"])],
        "body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("c_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("v_in", TensorProto.FLOAT, []),
        ],
        [
            helper.make_tensor_value_info("c_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("v_out", TensorProto.FLOAT, []),
        ],
        [mf.init("one", np.array(1.0, np.float32))],
    )
    return _value_dependent(
        [helper.make_node("Loop", ["n", "cond", "zero"], ["s"], body=body)],
        [mf.init("cond", np.array(True)), mf.init("zero", np.array(0.0, np.float32))],
    )


BENIGN = {"x": np.full((2, 4), 0.5, np.float32)}  # n = 0
LARGE = {"x": np.full((2, 4), 1e15, np.float32)}


@pytest.fixture(scope="module")
def pool():
    with make_pool(limits=LIMITS) as p:
        yield p


@pytest.fixture(scope="module")
def conv():
    data = mf.to_bytes(mf.conv_net())
    calib = mf.random_inputs(mf.conv_net(), batch=8, seed=1)["x"]
    test = mf.random_inputs(mf.conv_net(), batch=16, seed=2)["x"]
    return data, calib, test


def _runner(loaded, calib, test) -> Runner:
    return Runner(Simulator(loaded, calib), as_data(loaded, test))


@pytest.mark.parametrize("name", list(CONFIGS))
def test_outputs_and_activations_equal_this_process_bit_for_bit(pool, conv, name):
    data, calib, test = conv
    remote = _runner(load_model(data).isolated(ModelHost(pool)), calib, test)
    local = _runner(load_model(data), calib, test)
    for a, b in zip(remote.outputs(CONFIGS[name]), local.outputs(CONFIGS[name]), strict=True):
        np.testing.assert_array_equal(a, b)
    acts_r, acts_l = remote.sim.activations(), local.sim.activations()
    assert acts_r.keys() == acts_l.keys()
    for key in acts_l:
        np.testing.assert_array_equal(acts_r[key], acts_l[key])


def test_latency_and_kernel_report_are_measured_in_the_host(pool, conv):
    data, calib, test = conv
    model_host = ModelHost(pool)
    sim = Simulator(load_model(data).isolated(model_host), calib)
    lat = config_latency(sim, PRESETS["w8a8"], {"x": test[:1]}, runs=3, warmup=1)
    assert lat.model == "deployed" and lat.median_ms > 0
    local_sim = Simulator(load_model(data), calib)
    from qviz.model.deploy.deployable import deploy

    deployed = deploy(local_sim.loaded, PRESETS["w8a8"], simulator=local_sim)
    assert integer_ops_report(deployed, model_host) == integer_ops_report(deployed)
    assert f"{sum(v == 'integer' for v in integer_ops_report(deployed).values())} of" in lat.note
    assert model_host.pid in pool.live_workers()


def test_a_model_onnxruntime_cannot_load_fails_at_session_creation(pool):
    bad = helper.make_model(
        helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [mf.vinfo("x", [2])], [mf.vinfo("y", [3, 3])]),
        opset_imports=[helper.make_opsetid("", 21)],
        ir_version=10,
    )
    mangled = bad.SerializeToString().replace(b"Relu", b"Rexu")
    with pytest.raises(ModelError, match="cannot load"):
        ModelHost(pool).session(mangled)


@pytest.mark.parametrize(
    "model, kind, message",
    [
        (memory_bomb, "memory", "needed more than 1 GB"),
        (endless_loop, "wall_time", "took longer than 2 s"),
    ],
    ids=["memory_bomb", "endless_loop"],
)
def test_value_dependent_bomb_ends_only_that_call(pool, conv, model, kind, message):
    data = model()
    load_model(data)  # passes every static check: only the values make it a bomb
    bomb_host = ModelHost(pool, BOMB_LIMITS)
    sess = bomb_host.session(data)
    np.testing.assert_array_equal(sess.run(None, BENIGN)[0], BENIGN["x"])
    other = _runner(load_model(conv[0]).isolated(ModelHost(pool)), conv[1], conv[2])
    expected = _runner(load_model(conv[0]), conv[1], conv[2]).outputs(PRESETS["w8a8"])[0]
    results, rss = [], rss_bytes()

    def other_session():
        for _ in range(3):
            results.append(np.array_equal(other.outputs(PRESETS["w8a8"])[0], expected))

    thread = threading.Thread(target=other_session)
    thread.start()
    with pytest.raises(WorkerError, match=message) as err:
        sess.run(None, LARGE)
    thread.join()
    assert err.value.kind == kind
    assert results == [True, True, True]
    assert rss_bytes() - rss < 50 * 2**20  # the bomb's memory was never the server's
    np.testing.assert_array_equal(sess.run(None, BENIGN)[0], BENIGN["x"])  # a new process, re-opened
    # out of memory in a process that had served calls: tried once more in a fresh one
    assert bomb_host.processes_started == (3 if kind == "memory" else 2)


def test_kill_9_of_a_host_mid_call_is_a_clear_error_and_the_next_call_works(pool):
    model_host = ModelHost(pool)
    sess = model_host.session(endless_loop())
    killer = threading.Timer(0.3, lambda: os.kill(model_host.pid, 9))
    killer.start()
    with pytest.raises(WorkerError, match=r"signal 9, SIGKILL") as err:
        sess.run(None, LARGE)
    killer.join()
    assert err.value.kind == "crash"
    np.testing.assert_array_equal(sess.run(None, BENIGN)[0], BENIGN["x"])


def test_a_run_error_keeps_the_host(pool):
    model_host = ModelHost(pool)
    sess = model_host.session(mf.to_bytes(mf.mlp()))
    with pytest.raises(ModelError, match="cannot run the model"):
        sess.run(None, {"x": np.zeros((2, 3), np.float32)})  # wrong width
    assert model_host.processes_started == 1 and model_host.pid in pool.live_workers()


def test_live_hosts_are_capped_and_a_collected_host_stops(monkeypatch, conv):
    monkeypatch.setattr(host, "MAX_HOSTS", 2)
    with make_pool(limits=LIMITS) as own_pool:
        hosts = [ModelHost(own_pool) for _ in range(3)]
        sessions = [h.session(conv[0]) for h in hosts]
        assert hosts[0].pid is None  # the least recently used was stopped
        assert len(wait_for_exactly(own_pool, 2, timeout=10.0)) == 2
        out = sessions[0].run(None, {"x": conv[2]})[0]  # ... and re-opens when used again
        assert out.shape[0] == len(conv[2]) and hosts[1].pid is None
        del hosts, sessions
        gc.collect()
        assert wait_for_no_workers(own_pool) == []


def test_calls_to_one_host_from_many_threads_all_get_their_answer(pool, conv):
    model_host = ModelHost(pool)
    sess = model_host.session(conv[0])
    expected = sess.run(None, {"x": conv[2]})[0]
    outs = []
    threads = [threading.Thread(target=lambda: outs.append(sess.run(None, {"x": conv[2]})[0])) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outs) == 6 and all(np.array_equal(o, expected) for o in outs)
    assert model_host.processes_started == 1


def test_immutable_feeds_are_sent_once_and_dropped_with_their_array(pool, monkeypatch):
    sent = []
    real_send = host.protocol.send_parts
    monkeypatch.setattr(
        host.protocol,
        "send_parts",
        lambda sock, parts, deadline=None: (
            sent.append(sum(memoryview(p).nbytes for p in parts)),
            real_send(sock, parts, deadline),
        )[1],
    )
    model = mf.conv_net()
    model_host = ModelHost(pool)
    sess = model_host.session(mf.to_bytes(model))
    x = mf.random_inputs(model, batch=256, seed=3)["x"]
    frozen = x.copy()
    frozen.setflags(write=False)
    expected = sess.run(None, {"x": x})[0]
    for feed in (x, x, frozen, frozen, frozen):
        np.testing.assert_array_equal(sess.run(None, {"x": feed})[0], expected)
    writable, first, cached = sent[-5:-3], sent[-3], sent[-2:]
    assert min([*writable, first]) > x.nbytes > 20 * max(cached)
    token = model_host._shared.tokens[id(frozen)]
    assert token in model_host._shared.proc.tensors
    del frozen, feed
    gc.collect()
    sess.run(None, {"x": x[:1]})  # carries the drop
    assert token not in model_host._shared.proc.tensors and not model_host._shared.dropped


def test_a_host_killed_while_idle_restarts_without_an_error(pool, conv):
    model_host = ModelHost(pool)
    sess = model_host.session(conv[0])
    expected = sess.run(None, {"x": conv[2]})[0]
    os.kill(model_host.pid, 9)
    wait_until(model_host._shared.proc.ended, what="the zygote reaping the host and writing its status")
    np.testing.assert_array_equal(sess.run(None, {"x": conv[2]})[0], expected)
    assert model_host.processes_started == 2
