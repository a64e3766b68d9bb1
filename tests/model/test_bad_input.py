"""Bad input: each case is one clear ModelError, raised before anything reads a referenced file."""

from __future__ import annotations

import builtins
import io
import os
import resource

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from qviz.model import ModelError, layer_table, load_model, make_session, weight_stats
from qviz_dev import hostile_models as hm
from qviz_dev import model_factory as mf

CANARY = "CANARY-7f3e-secret-do-not-read"
LOCATIONS = [".streamlit/secrets.toml", "/etc/passwd", "../x"]


# ---- external data in every placement (builders: qviz_dev.hostile_models) --------------------


PLACEMENTS = hm.EXTERNAL


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
        load_model(mf.to_bytes(hm.ext_initializer(".streamlit/secrets.toml")))
    assert no_open == []


def test_canary_is_reachable_by_the_onnx_helpers(canary_cwd):
    """The threat is real: onnx itself reads a relative location from the working directory."""
    t = mf.set_external(mf.init("w", np.zeros(4, np.float32)), ".streamlit/secrets.toml")  # 16 bytes
    leaked = numpy_helper.to_array(t, base_dir=str(canary_cwd))
    assert CANARY.encode()[:16] == leaked.tobytes()


def test_message_names_the_node_in_a_subgraph():
    with pytest.raises(ModelError, match=r"node 'w' \(Constant\) in graph 'then'"):
        load_model(mf.to_bytes(hm.ext_if_constant("../x")))


# ---- not an ONNX model ------------------------------------------------------------------------


NOT_ONNX = {
    "empty": b"",
    "random_1": np.random.default_rng(1).bytes(1000),
    "random_2": np.random.default_rng(2).bytes(64),
    "random_3": np.random.default_rng(3).bytes(5000),
    "truncated": mf.to_bytes(mf.conv_net())[:700],
    "png": hm.png_bytes(),
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
    """If nested 40 deep: encoded by hand (hostile_models.nested_if_bytes), since onnx.helper cannot copy it."""
    with pytest.raises(ModelError, match="not an ONNX model"):
        load_model(hm.nested_if_bytes(40))


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
    data = mf.to_bytes(hm.static_bomb(op))
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
    with pytest.raises(ModelError, match=r"node 'hidden' \(ConstantOfShape\) would create a 9.3 GiB tensor"):
        load_model(mf.to_bytes(hm.concat_hidden_bomb()))


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
