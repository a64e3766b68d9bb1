"""Bad input: each case is one clear ModelError, raised before anything reads a referenced file."""

from __future__ import annotations

import builtins
import io
import os
import resource
import struct
import zlib

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from qviz.model import ModelError, layer_table, load_model, make_session, weight_stats
from qviz_dev import model_factory as mf
from qviz_dev.hostile_models import proto_field, static_bomb

CANARY = "CANARY-7f3e-secret-do-not-read"
LOCATIONS = [".streamlit/secrets.toml", "/etc/passwd", "../x"]


# ---- external data in every placement --------------------------------------------------------


def _sparse(name: str) -> onnx.SparseTensorProto:
    values = numpy_helper.from_array(np.array([1.0, 2.0], np.float32), name)
    indices = numpy_helper.from_array(np.array([0, 5], np.int64), name + "_idx")
    return helper.make_sparse_tensor(values, indices, [4, 3])


def _mm_graph(name: str, weight_node=None, inits=()) -> onnx.GraphProto:
    nodes = ([weight_node] if weight_node else []) + [helper.make_node("MatMul", ["x", "w"], ["y"])]
    return helper.make_graph(nodes, name, [], [mf.vinfo("y", [1, 3])], list(inits))


def _if_model(then_graph: onnx.GraphProto) -> onnx.ModelProto:
    else_graph = _mm_graph("else", inits=[mf.init("w", mf.rand((4, 3)))])
    node = helper.make_node("If", ["cond"], ["y"], then_branch=then_graph, else_branch=else_graph)
    inputs = [mf.vinfo("cond", [], TensorProto.BOOL), mf.vinfo("x", [1, 4])]
    return mf.make_model([node], inputs, [mf.vinfo("y", [1, 3])])


def place_initializer(loc):
    m = mf.conv_net()
    mf.set_external(m.graph.initializer[0], loc)
    return m


def _sparse_model():
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "sw"], ["y"])],
        "g",
        [mf.vinfo("x", [1, 4])],
        [mf.vinfo("y", [1, 3])],
        sparse_initializer=[_sparse("sw")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)


def place_sparse_values(loc):
    m = _sparse_model()
    mf.set_external(m.graph.sparse_initializer[0].values, loc)
    return m


def place_sparse_indices(loc):
    m = _sparse_model()
    mf.set_external(m.graph.sparse_initializer[0].indices, loc)
    return m


def place_constant_value(loc):
    m = mf.constant_weights()
    mf.set_external(m.graph.node[0].attribute[0].t, loc)
    return m


def place_constant_sparse_value(loc, part="values"):
    node = helper.make_node("Constant", [], ["w"], sparse_value=_sparse("sv"))
    mf.set_external(getattr(node.attribute[0].sparse_tensor, part), loc)
    return mf.make_model(
        [node, helper.make_node("MatMul", ["x", "w"], ["y"])], [mf.vinfo("x", [1, 4])], [mf.vinfo("y", [1, 3])]
    )


def place_constant_of_shape_attr(loc):
    value = numpy_helper.from_array(np.array([1.0], np.float32), "v")
    node = helper.make_node("ConstantOfShape", ["shape"], ["y"], value=mf.set_external(value, loc))
    return mf.make_model([node], [], [mf.vinfo("y", [2])], [mf.init("shape", np.array([2], np.int64))])


def place_tensors_attr(loc):
    m = mf.no_layers()
    t = mf.set_external(numpy_helper.from_array(np.zeros(4, np.float32), "extra_t"), loc)
    m.graph.node[0].attribute.append(helper.make_attribute("extra", [t]))
    return m


def place_if_initializer(loc):
    return _if_model(_mm_graph("then", inits=[mf.set_external(mf.init("w", mf.rand((4, 3))), loc)]))


def place_if_constant(loc):
    node = helper.make_node("Constant", [], ["w"], value=mf.set_external(mf.init("cv", mf.rand((4, 3))), loc))
    return _if_model(_mm_graph("then", weight_node=node))


def place_nested_if(loc):
    inner = _if_model(_mm_graph("inner_then", inits=[mf.set_external(mf.init("w", mf.rand((4, 3))), loc)]))
    inner_graph = helper.make_graph(list(inner.graph.node), "outer_then", [], [mf.vinfo("y", [1, 3])])
    return _if_model(inner_graph)


def place_loop_body(loc):
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Add", ["acc_in", "w"], ["acc_out"]),
        ],
        "body",
        [mf.vinfo("i", [], TensorProto.INT64), mf.vinfo("cond_in", [], TensorProto.BOOL), mf.vinfo("acc_in", [3])],
        [mf.vinfo("cond_out", [], TensorProto.BOOL), mf.vinfo("acc_out", [3])],
        [mf.set_external(mf.init("w", np.ones(3, np.float32)), loc)],
    )
    node = helper.make_node("Loop", ["n", "", "acc0"], ["acc"], body=body)
    inputs = [mf.vinfo("n", [], TensorProto.INT64), mf.vinfo("acc0", [3])]
    return mf.make_model([node], inputs, [mf.vinfo("acc", [3])])


def place_scan_body(loc):
    w = helper.make_node("Constant", [], ["w"], value=mf.set_external(mf.init("cw", np.ones(3, np.float32)), loc))
    body = helper.make_graph(
        [w, helper.make_node("Add", ["s_in", "w"], ["s_out"]), helper.make_node("Identity", ["s_out"], ["e"])],
        "body",
        [mf.vinfo("s_in", [3]), mf.vinfo("x_t", [3])],
        [mf.vinfo("s_out", [3]), mf.vinfo("e", [3])],
    )
    node = helper.make_node("Scan", ["s0", "xs"], ["s", "es"], body=body, num_scan_inputs=1)
    return mf.make_model(
        [node], [mf.vinfo("s0", [3]), mf.vinfo("xs", [2, 3])], [mf.vinfo("s", [3]), mf.vinfo("es", [2, 3])]
    )


def place_function(loc):
    const = helper.make_node("Constant", [], ["w"], value=mf.set_external(mf.init("fw", np.ones(4, np.float32)), loc))
    fn = helper.make_function(
        "local.fn",
        "AddW",
        ["a"],
        ["b"],
        [const, helper.make_node("Add", ["a", "w"], ["b"])],
        [helper.make_opsetid("", 21)],
    )
    node = helper.make_node("AddW", ["x"], ["y"], domain="local.fn")
    return mf.make_model(
        [node], [mf.vinfo("x", [4])], [mf.vinfo("y", [4])], extra_opsets=[("local.fn", 1)], functions=[fn]
    )


def place_training_info(loc):
    m = mf.no_layers()
    info = m.training_info.add()
    info.initialization.CopyFrom(
        helper.make_graph([], "init", [], [], [mf.set_external(mf.init("t", np.ones(4, np.float32)), loc)])
    )
    return m


PLACEMENTS = {
    "initializer": place_initializer,
    "sparse_values": place_sparse_values,
    "sparse_indices": place_sparse_indices,
    "constant_value": place_constant_value,
    "constant_sparse_values": place_constant_sparse_value,
    "constant_sparse_indices": lambda loc: place_constant_sparse_value(loc, "indices"),
    "constant_of_shape_attr": place_constant_of_shape_attr,
    "tensors_attr": place_tensors_attr,
    "if_initializer": place_if_initializer,
    "if_constant": place_if_constant,
    "nested_if": place_nested_if,
    "loop_body": place_loop_body,
    "scan_body": place_scan_body,
    "function": place_function,
    "training_info": place_training_info,
}


@pytest.fixture
def canary_cwd(tmp_path, monkeypatch):
    """cwd = tmp/work, with the canary at .streamlit/secrets.toml and at ../x."""
    work = tmp_path / "work"
    (work / ".streamlit").mkdir(parents=True)
    (work / ".streamlit" / "secrets.toml").write_text(CANARY * 4)
    (tmp_path / "x").write_text(CANARY * 4)
    monkeypatch.chdir(work)
    return work


@pytest.fixture
def no_open(monkeypatch):
    """Record (and refuse) every Python-level file open during the test body."""
    opened = []

    def refuse(path, *args, **kwargs):
        opened.append(path)
        raise AssertionError(f"opened {path!r}")

    monkeypatch.setattr(builtins, "open", refuse)
    monkeypatch.setattr(io, "open", refuse)
    monkeypatch.setattr(os, "open", refuse)
    return opened


@pytest.mark.parametrize("location", LOCATIONS, ids=["secrets", "etc_passwd", "parent_dir"])
@pytest.mark.parametrize("placement", list(PLACEMENTS))
def test_external_data_rejected_before_reading(placement, location, canary_cwd, no_open):
    data = mf.to_bytes(PLACEMENTS[placement](location))
    for load in (load_model, make_session):
        with pytest.raises(ModelError, match="external data") as err:
            load(data)
        message = str(err.value)
        assert location in message and CANARY not in message and "root:" not in message
    assert no_open == []


def test_external_data_check_opens_no_file(canary_cwd, no_open):
    with pytest.raises(ModelError, match=r"initializer 'conv1\.weight'"):
        load_model(mf.to_bytes(place_initializer(".streamlit/secrets.toml")))
    assert no_open == []


def test_canary_is_reachable_by_the_onnx_helpers(canary_cwd):
    """The threat is real: onnx itself reads a relative location from the working directory."""
    t = mf.set_external(mf.init("w", np.zeros(4, np.float32)), ".streamlit/secrets.toml")  # 16 bytes
    leaked = numpy_helper.to_array(t, base_dir=str(canary_cwd))
    assert CANARY.encode()[:16] == leaked.tobytes()


def test_message_names_the_node_in_a_subgraph():
    with pytest.raises(ModelError, match=r"node 'w' \(Constant\) in graph 'then'"):
        load_model(mf.to_bytes(place_if_constant("../x")))


# ---- not an ONNX model ------------------------------------------------------------------------


def _png_bytes() -> bytes:
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0\0\0\0")) + chunk(b"IEND", b"")
    )


NOT_ONNX = {
    "empty": b"",
    "random_1": np.random.default_rng(1).bytes(1000),
    "random_2": np.random.default_rng(2).bytes(64),
    "random_3": np.random.default_rng(3).bytes(5000),
    "truncated": mf.to_bytes(mf.conv_net())[:700],
    "png": _png_bytes(),
    "text": b"hello, this is not a model\n",
}


@pytest.mark.parametrize("name", list(NOT_ONNX))
def test_not_an_onnx_model(name, tmp_path):
    path = tmp_path / "upload.onnx"  # the file name never selects the parser
    path.write_bytes(NOT_ONNX[name])
    for source in (NOT_ONNX[name], path):
        with pytest.raises(ModelError, match="not an ONNX model"):
            load_model(source)


def test_too_deep_nesting_is_a_model_error():
    """If nested 40 deep: encoded by hand, since onnx.helper itself cannot copy it."""
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])], "leaf", [], [mf.vinfo("y", [1])]
    ).SerializeToString()
    for _ in range(40):
        attr = helper.make_attribute("then_branch", onnx.GraphProto())  # g filled in below
        attr.ClearField("g")
        node = helper.make_node("If", ["cond"], ["y"]).SerializeToString()
        node += proto_field(
            onnx.NodeProto, "attribute", attr.SerializeToString() + proto_field(onnx.AttributeProto, "g", graph)
        )
        graph = helper.make_graph([], "d", [], [mf.vinfo("y", [1])]).SerializeToString() + proto_field(
            onnx.GraphProto, "node", node
        )
    shell = mf.make_model([], [mf.vinfo("cond", [], TensorProto.BOOL)], [mf.vinfo("y", [1])])
    shell.ClearField("graph")
    with pytest.raises(ModelError, match="not an ONNX model"):
        load_model(shell.SerializeToString() + proto_field(onnx.ModelProto, "graph", graph))


def test_size_cap_and_missing_file(tmp_path):
    data = mf.to_bytes(mf.conv_net())
    with pytest.raises(ModelError, match="limit"):
        load_model(data, max_bytes=100)
    path = tmp_path / "m.onnx"
    path.write_bytes(data)
    with pytest.raises(ModelError, match="limit"):
        load_model(path, max_bytes=100)
    with pytest.raises(ModelError, match="cannot read"):
        load_model(tmp_path / "missing.onnx")
    with pytest.raises(ModelError, match="bytes or a file path"):
        load_model(12345)


# ---- versions, domains, structure ----------------------------------------------------------


def _with(model: onnx.ModelProto, edit) -> bytes:
    edit(model)
    return mf.to_bytes(model)


def _custom_op(m):
    m.graph.node.append(helper.make_node("Evil", ["y"], ["z"], name="evil_node", domain="com.evil"))
    m.opset_import.append(helper.make_opsetid("com.evil", 1))
    m.graph.output[0].name = "z"


def _unknown_default_op(m):
    m.graph.node[0].op_type = "FooBar"


def _unproduced_output(m):
    m.graph.output.append(mf.vinfo("ghost", [1]))


def _bad_raw_length(m):
    m.graph.initializer[0].raw_data = b"\0" * 10


def _negative_dim(m):
    m.graph.initializer[0].dims[0] = -4


BAD_STRUCTURE = {
    "custom_domain": (_custom_op, r"node 'evil_node' uses op Evil from custom domain 'com.evil'"),
    "unknown_op": (_unknown_default_op, "unknown op FooBar"),
    "opset_99": (lambda m: setattr(m.opset_import[0], "version", 99), "opset 99 of domain 'ai.onnx'"),
    "ml_opset_99": (
        lambda m: m.opset_import.append(helper.make_opsetid("ai.onnx.ml", 99)),
        "opset 99 of domain 'ai.onnx.ml'",
    ),
    "ir_99": (lambda m: setattr(m, "ir_version", 99), "IR version 99"),
    "unproduced_output": (_unproduced_output, "graph output 'ghost' is not produced"),
    "raw_data_length": (_bad_raw_length, r"raw_data has 10 bytes, dims \[4, 3, 3, 3\] need 432"),
    "negative_dim": (_negative_dim, "negative dimension"),
}


@pytest.mark.parametrize("case", list(BAD_STRUCTURE))
def test_bad_structure(case):
    edit, message = BAD_STRUCTURE[case]
    with pytest.raises(ModelError, match=message):
        load_model(_with(mf.conv_net(), edit))


def test_explicit_ai_onnx_domain_is_the_default_domain():
    model = mf.no_layers()
    model.graph.node[0].domain = "ai.onnx"
    assert load_model(mf.to_bytes(model)).op_counts == {"Relu": 1}


def test_model_local_function_domain_is_allowed():
    fn = helper.make_function(
        "local.fn", "Double", ["a"], ["b"], [helper.make_node("Add", ["a", "a"], ["b"])], [helper.make_opsetid("", 21)]
    )
    model = mf.make_model(
        [helper.make_node("Double", ["x"], ["y"], domain="local.fn")],
        [mf.vinfo("x", [4])],
        [mf.vinfo("y", [4])],
        extra_opsets=[("local.fn", 1)],
        functions=[fn],
    )
    loaded = load_model(mf.to_bytes(model))
    out = make_session(loaded.model_bytes).run(None, {"x": np.ones(4, np.float32)})[0]
    np.testing.assert_array_equal(out, np.full(4, 2, np.float32))


def test_com_microsoft_domain_is_allowed():
    node = helper.make_node("FusedMatMul", ["x", "w"], ["y"], domain="com.microsoft", name="fmm")
    model = mf.make_model(
        [node],
        [mf.vinfo("x", [2, 4])],
        [mf.vinfo("y", [2, 3])],
        [mf.init("w", mf.rand((4, 3)))],
        extra_opsets=[("com.microsoft", 1)],
    )
    loaded = load_model(mf.to_bytes(model))
    assert loaded.op_counts == {"com.microsoft::FusedMatMul": 1}
    make_session(loaded.model_bytes).run(None, {"x": np.ones((2, 4), np.float32)})


# ---- memory bombs ------------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["ConstantOfShape", "Expand", "Tile", "Range"])
def test_memory_bomb_fails_fast_with_bounded_memory(op):
    data = mf.to_bytes(static_bomb(op))
    assert len(data) < 500
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for load in (load_model, make_session):
        with pytest.raises(ModelError, match=f"\\({op}\\) would create a .* GiB tensor"):
            load(data)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 200 * 1024


def test_bomb_from_a_constant_node_shape():
    shape = helper.make_node("Constant", [], ["shape"], value=mf.init("s", np.array([50_000, 50_000], np.int64)))
    model = mf.make_model(
        [shape, helper.make_node("ConstantOfShape", ["shape"], ["y"], name="cos")], [], [mf.vinfo("y", None)]
    )
    with pytest.raises(ModelError, match="node 'cos'"):
        load_model(mf.to_bytes(model))


def test_bomb_with_a_shape_built_from_constants():
    nodes = [
        helper.make_node("Unsqueeze", ["a", "zero"], ["a1"]),
        helper.make_node("Concat", ["a1", "b"], ["shape"], axis=0),
        helper.make_node("ConstantOfShape", ["shape"], ["y"], name="hidden"),
    ]
    inits = [
        mf.init("a", np.int64(50_000)),
        mf.init("zero", np.array([0], np.int64)),
        mf.init("b", np.array([50_000], np.int64)),
    ]
    model = mf.make_model(nodes, [], [mf.vinfo("y", None)], inits)
    with pytest.raises(ModelError, match=r"node 'hidden' \(ConstantOfShape\) would create a 9.3 GiB tensor"):
        load_model(mf.to_bytes(model))


# ---- loads, but flagged ------------------------------------------------------------------------


def test_nan_inf_weights_load_and_are_flagged():
    m = mf.conv_net()
    w = numpy_helper.to_array(m.graph.initializer[0]).copy()
    w[0, 0, 0, 0], w[1, 0, 0, 0], w[2, 0, 0, 0] = np.nan, np.inf, -np.inf
    m.graph.initializer[0].CopyFrom(numpy_helper.from_array(w, "conv1.weight"))
    loaded = load_model(mf.to_bytes(m))
    assert loaded.nonfinite_weights == {"conv1.weight": 3}
    assert loaded.warnings == ["weight 'conv1.weight' has 3 NaN/Inf values"]
    row = weight_stats(loaded).set_index("id").loc["conv1"]
    finite = w[np.isfinite(w)]
    assert row["nonfinite"] == 3
    assert (row["min"], row["max"]) == (finite.min(), finite.max())
    assert row["mean"] == pytest.approx(finite.mean(dtype=np.float64))


def test_zero_size_weight_loads_and_is_flagged():
    model = mf.make_model(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm0")],
        [mf.vinfo("x", ["N", 4])],
        [mf.vinfo("y", ["N", 0])],
        [mf.init("w", np.zeros((4, 0), np.float32))],
    )
    loaded = load_model(mf.to_bytes(model))
    assert loaded.empty_weights == ("w",)
    assert "weight 'w' is empty" in loaded.warnings[0]
    (layer,) = layer_table(loaded)
    assert layer.params == 0
    row = weight_stats(loaded).iloc[0]
    assert bool(row["empty"]) and row["size"] == 0 and row.isna()["abs_max"]
    out = make_session(loaded.model_bytes).run(None, {"x": np.ones((2, 4), np.float32)})[0]
    assert out.shape == (2, 0)


def test_no_quantizable_layer_loads_with_empty_table():
    loaded = load_model(mf.to_bytes(mf.no_layers()))
    assert layer_table(loaded) == [] and weight_stats(loaded).empty
