"""Models as people ship them load in one normalized form (qviz.model.load.normalize, issue 17).

Every model here is built in the test. onnxruntime running the model AS GIVEN is the oracle for
every folded weight and every output of the normalized model.
"""

from __future__ import annotations

import re

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from qviz.config import preset
from qviz.evaluate import generated
from qviz.model import ModelError, layer_table, load_model, make_session
from qviz.model.deploy.deployable import deploy
from qviz.model.load import loader
from qviz.model.load import normalize as nz
from qviz.model.runtime.session import session_options
from qviz.model.simulate.simulator import Simulator
from qviz_dev import model_factory as mf


def outputs(model: onnx.ModelProto | bytes, feeds: dict) -> list[np.ndarray]:
    """onnxruntime's outputs (all graph outputs, in order)."""
    return make_session(model, check=False).run(None, feeds)


def assert_same_outputs(given: onnx.ModelProto, loaded, feeds: dict) -> None:
    for want, got in zip(outputs(given, feeds), outputs(loaded.model_bytes, feeds), strict=True):
        np.testing.assert_array_equal(got, want)


def weight_from(model: onnx.ModelProto, name: str) -> np.ndarray:
    """What onnxruntime computes for tensor `name` of the model as given (made a graph output)."""
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    probe.graph.output.append(helper.make_value_info(name, onnx.TypeProto()))
    return outputs(probe, mf.random_inputs(model, batch=1))[-1]


def test_constant_node_weights_become_initializers():
    """Paddle2ONNX/TF style: weights in Constant nodes. As given they are Constant outputs (kind
    "constant") and onnxruntime's quantize_static leaves them float; normalized, initializers."""
    given = mf.constant_weights()
    loaded = load_model(mf.to_bytes(given))
    assert {n: loaded.weights.kind(n) for n in loaded.weights} == dict.fromkeys(["cw", "cgw", "cgb"], "initializer")
    assert "Constant" not in loaded.op_counts
    as_given = load_model(mf.to_bytes(given), normalize=False)
    assert [x.id for x in layer_table(loaded)] == [x.id for x in layer_table(as_given)] == ["cw", "cg"]
    for name in ("cw", "cgw", "cgb"):
        np.testing.assert_array_equal(loaded.weights[name], weight_from(given, name))
    assert loaded.notes == ["3 constant-only nodes (Constant x3) folded by onnxruntime into 3 initializers"]
    assert_same_outputs(given, loaded, mf.random_inputs(given, batch=3))


def test_constant_of_shape_weights_become_layers():
    """ONNX's light zoo (IR 3, opset 9, weights from ConstantOfShape, shape tensors listed as
    inputs): 0 layers as given, the Conv after normalization, values as onnxruntime computes them."""
    given = mf.constant_of_shape_weights()
    assert layer_table(load_model(mf.to_bytes(given), normalize=False)) == []
    loaded = load_model(mf.to_bytes(given))
    [layer] = layer_table(loaded)
    assert (layer.id, layer.weight_name, layer.bias_name) == ("conv", "conv_W", "conv_B")
    np.testing.assert_array_equal(loaded.weights["conv_W"], np.full((4, 3, 3, 3), 0.05, np.float32))
    assert loaded.op_counts == {"Conv": 1, "Relu": 1}
    assert [t.name for t in loaded.model.graph.initializer] == ["conv_W", "conv_B"]  # the shape tensors went too
    assert [t.name for t in loaded.inputs] == ["x"]
    assert (loaded.opset, loaded.ir_version, loaded.normalization.opset) == (21, 10, 9)
    assert loaded.notes == [
        "opset 9 upgraded to 21 with onnx.version_converter (" + nz.WHY_OPSET + ")",
        "IR version 3 raised to 10 (what opset 21 requires)",
        "2 initializer(s) were also listed as graph inputs (older exporters do this): constants now",
        "2 constant-only nodes (ConstantOfShape x2) folded by onnxruntime into 2 initializers",
    ]
    x = mf.rand((1, 3, 8, 8), 3)
    np.testing.assert_array_equal(outputs(loaded.model_bytes, {"x": x})[0], outputs(given, {"x": x})[0])


@pytest.mark.parametrize("opset", [9, 11, 13])
def test_old_opsets_are_upgraded_so_every_preset_simulates_and_deploys(opset):
    """As given: opset 9 cannot fake-quantize activations (no Round), 9 and 11 cannot deploy
    (DequantizeLinear has no axis), none below 21 deploys int4/group-wise weights."""
    given = mf.conv_net()
    given.opset_import[0].version, given.ir_version = opset, 6
    loaded = load_model(mf.to_bytes(given))
    assert (loaded.opset, loaded.normalization.opset) == (21, opset)
    assert loaded.notes[0] == f"opset {opset} upgraded to 21 with onnx.version_converter ({nz.WHY_OPSET})"
    feeds = mf.random_inputs(given, batch=4)
    assert_same_outputs(given, loaded, feeds)
    sim = Simulator(loaded, feeds["x"])
    assert outputs(sim.simulate(preset("w8a8")), feeds)[0].shape == (4, 10)
    for name in ("w8a8", "w4g32"):
        assert outputs(deploy(loaded, preset(name), simulator=sim), feeds)[0].shape == (4, 10)


@pytest.mark.parametrize("dim", [-1, 0], ids=["minus-one", "zero"])
def test_dims_written_as_minus_one_or_zero_become_symbolic(dim):
    """Paddle2ONNX writes the batch as -1 (or 0): generated inputs failed ("negative dimensions
    are not allowed"); now any batch fits."""
    given = mf.multi_input(batch=dim)
    loaded = load_model(mf.to_bytes(given))
    assert [t.shape for t in loaded.inputs] == [("batch", 8), ("batch", 8)]
    assert loaded.outputs[0].shape == ("batch", 4)
    assert loaded.notes == [
        "dims written as -1 or 0 are symbolic names now (data of any size fits): "
        "a ['batch', 8], b ['batch', 8], y ['batch', 4]"
    ]
    batch = generated(loaded, n=5).feeds[0]
    assert batch["a"].shape == (5, 8)
    for rows in (1, 5, 64):
        feeds = {k: mf.rand((rows, 8), i) for i, k in enumerate("ab")}
        np.testing.assert_array_equal(outputs(loaded.model_bytes, feeds)[0], outputs(mf.multi_input(), feeds)[0])


def rewrite_bait() -> onnx.ModelProto:
    """What ORT_ENABLE_BASIC rewrites, around a Constant weight: Identity, an unnamed Conv (id =
    its weight 'w') + BatchNormalization + Dropout + Add of a constant (Conv+BN / Conv+Add fusions),
    two identical Relus (common subexpressions)."""
    w = numpy_helper.from_array(mf.rand((4, 3, 3, 3)), "wv")
    nodes = [
        helper.make_node("Constant", [], ["w"], value=w, name="w_const"),
        helper.make_node("Identity", ["x"], ["xi"], name="ident"),
        helper.make_node("Conv", ["xi", "w"], ["c"]),
        helper.make_node("BatchNormalization", ["c", "s", "bb", "mu", "var"], ["bn"], name="bn"),
        helper.make_node("Dropout", ["bn"], ["d"], name="drop"),
        helper.make_node("Add", ["d", "addc"], ["a"], name="add"),
        helper.make_node("Relu", ["a"], ["r1"], name="relu1"),
        helper.make_node("Relu", ["a"], ["r2"], name="relu2"),
        helper.make_node("Add", ["r1", "r2"], ["y"], name="sum"),
    ]
    inits = [
        mf.init("s", mf.rand((4,), 1) + 1),
        mf.init("bb", mf.rand((4,), 2)),
        mf.init("mu", mf.rand((4,), 3)),
        mf.init("var", np.abs(mf.rand((4,), 4)) + 0.5),
        mf.init("addc", mf.rand((1, 4, 1, 1), 5)),
    ]
    return mf.make_model(nodes, [mf.vinfo("x", ["N", 3, 8, 8])], [mf.vinfo("y", ["N", 4, 6, 6])], inits)


def test_basic_level_rewrites_are_not_taken():
    """Only the Constant goes: nodes, names, order and the layer id stay (module doc)."""
    given = rewrite_bait()
    loaded = load_model(mf.to_bytes(given))
    assert [(n.op_type, n.name) for n in loaded.model.graph.node] == [
        (n.op_type, n.name) for n in given.graph.node if n.op_type != "Constant"
    ]
    assert [x.id for x in layer_table(loaded)] == ["w"]
    np.testing.assert_array_equal(loaded.weights["w"], numpy_helper.to_array(given.graph.node[0].attribute[0].t))
    assert_same_outputs(given, loaded, mf.random_inputs(given, batch=2))


def applied_basic_transformers(capfd, disabled: tuple[str, ...]) -> set[str]:
    """Names of the graph transformers onnxruntime applies at ORT_ENABLE_BASIC (its verbose log)."""
    so = session_options(1, optimization_level=ort.GraphOptimizationLevel.ORT_ENABLE_BASIC)
    so.log_severity_level = 0
    capfd.readouterr()
    make_session(rewrite_bait(), check=False, options=so, disabled_optimizers=disabled)
    return set(re.findall(r"Applying graph transformer (\S+) on step", capfd.readouterr().err))


def test_every_basic_optimizer_but_constant_folding_is_disabled(capfd):
    """A guard for onnxruntime upgrades: a new basic-level transformer must join OTHER_BASIC_OPTIMIZERS."""
    every = applied_basic_transformers(capfd, ())
    assert {"ConstantFolding", "Level1_RuleBasedTransformer", "CommonSubexpressionElimination"} <= every
    assert every - {"ConstantFolding"} <= set(nz.OTHER_BASIC_OPTIMIZERS)
    assert applied_basic_transformers(capfd, nz.OTHER_BASIC_OPTIMIZERS) == {"ConstantFolding"}


def fp16_constant() -> onnx.ModelProto:
    """fp16_weights with its MatMul weight stored in a Constant node (fp16) behind a Cast."""
    model = mf.fp16_weights()
    w16 = model.graph.initializer[0]
    model.graph.node.insert(0, helper.make_node("Constant", [], ["w16"], value=w16))
    del model.graph.initializer[0]
    return model


@pytest.mark.parametrize("name", ["conv_net", "qdq_conv", "fp16_weights", "fp16_constant", "qoperator", "lstm_net"])
def test_models_in_normal_form_load_as_given(name):
    """Nothing to do: the same bytes, no notes. QDQ weights stay behind DequantizeLinear and
    fp16-stored weights behind their Cast (the layer table follows both)."""
    data = mf.to_bytes(fp16_constant() if name == "fp16_constant" else mf.ALL_GOOD[name]())
    loaded = load_model(data)
    assert loaded.model_bytes == data and loaded.notes == []
    assert loaded.normalization == nz.Normalization.of(loaded.model, data)


def test_normalizing_twice_changes_nothing():
    once = load_model(mf.to_bytes(mf.constant_of_shape_weights()))
    twice = load_model(once.model_bytes)
    assert twice.notes == [] and twice.model_bytes == once.model_bytes


def big_constant_of_shape(side: int) -> onnx.ModelProto:
    """x[N,side] @ ConstantOfShape([side, side]) -> y: a small file whose weight is side² floats."""
    nodes = [
        helper.make_node("ConstantOfShape", ["shape"], ["w"], value=numpy_helper.from_array(np.float32([0.5]))),
        helper.make_node("MatMul", ["x", "w"], ["y"], name="mm"),
    ]
    inits = [mf.init("shape", np.array([side, side], np.int64))]
    return mf.make_model(nodes, [mf.vinfo("x", ["N", side])], [mf.vinfo("y", ["N", side])], inits)


def test_folding_past_the_size_limit_is_refused_before_onnxruntime_runs(monkeypatch):
    def no_folding(*args):
        raise AssertionError("onnxruntime folded a model known to be too big")

    monkeypatch.setattr(nz, "_write_folded", no_folding)
    with pytest.raises(ModelError, match=r"folded into weights the model is 4\.0 MiB; the limit is 1 MiB"):
        load_model(mf.to_bytes(big_constant_of_shape(1024)), max_bytes=2**20)


def test_folded_file_past_the_size_limit_is_refused(monkeypatch):
    """When shape inference cannot size a folded value, onnxruntime's output is measured."""
    monkeypatch.setattr(nz, "_estimated_growth", lambda *args: 0)
    with pytest.raises(ModelError, match=r"MiB; the limit is 1 MiB"):
        load_model(mf.to_bytes(big_constant_of_shape(1024)), max_bytes=2**20)


def test_a_workers_record_loads_the_normalized_bytes_without_normalizing(monkeypatch):
    """The server's path (qviz.ui.models.loaded_upload): the worker's bytes and record; no onnxruntime."""
    data = mf.to_bytes(mf.constant_of_shape_weights())
    worker = load_model(data)
    record = nz.Normalization.from_dict(worker.summary()["normalization"])

    def refuse(*args, **kwargs):
        raise AssertionError("normalized again")

    monkeypatch.setattr(loader, "normalize_model", refuse)
    server = load_model(worker.model_bytes, normalized=record)
    assert (server.sha256, server.file_size, server.notes) == (worker.sha256, len(data), worker.notes)
    assert server.model_bytes == worker.model_bytes
    assert [x.id for x in layer_table(server)] == ["conv"]
    assert load_model(worker.model_bytes, normalize=False).notes == []


def test_model_local_functions_survive_the_upgrade_and_are_not_inlined():
    """The converter drops model-local functions and onnxruntime's folded graph inlines them
    (`_inlfunc_` nodes): the normalized model keeps the call and the function, as given."""
    block = helper.make_function(
        "local",
        "Block",
        ["a", "wt"],
        ["o"],
        [helper.make_node("Conv", ["a", "wt"], ["c"], name="conv"), helper.make_node("Relu", ["c"], ["o"])],
        [helper.make_opsetid("", 18)],
    )
    nodes = [
        helper.make_node("Constant", [], ["w"], value=numpy_helper.from_array(mf.rand((4, 3, 1, 1)), "wv")),
        helper.make_node("Block", ["x", "w"], ["y"], name="blk", domain="local"),
    ]
    x, y = mf.vinfo("x", ["N", 3, 8, 8]), mf.vinfo("y", ["N", 4, 8, 8])
    given = mf.make_model(nodes, [x], [y], opset=18, extra_opsets=[("local", 1)], functions=[block])
    loaded = load_model(mf.to_bytes(given))
    assert loaded.opset == 21 and len(loaded.notes) == 2
    assert [(n.op_type, n.name) for n in loaded.model.graph.node] == [("Block", "blk")]
    assert list(loaded.model.functions) == list(given.functions)
    assert_same_outputs(given, loaded, mf.random_inputs(given, batch=2))


def test_an_opset_the_converter_cannot_upgrade_is_kept_with_a_note(monkeypatch):
    def fails(model, target):
        raise RuntimeError("No Adapter From Version $9 for Foo")

    monkeypatch.setattr(onnx.version_converter, "convert_version", fails)
    loaded = load_model(mf.to_bytes(mf.constant_of_shape_weights()))
    assert loaded.opset == 9 and loaded.notes[0] == (
        "opset 9 kept, upgrading it failed (to 21: No Adapter From Version $9 for Foo; "
        f"to 13: No Adapter From Version $9 for Foo): {nz.WHY_OPSET}"
    )
    assert [x.id for x in layer_table(loaded)] == ["conv"]  # still folded


def test_a_model_onnxruntime_cannot_load_keeps_its_constants_with_a_note():
    """A Constant feeding an op onnxruntime has no kernel for: loading (inspect) still works."""
    nodes = [
        helper.make_node("Constant", [], ["w"], value=numpy_helper.from_array(mf.rand((4, 4)), "wv")),
        helper.make_node("MatMul", ["x", "w"], ["h"], name="mm"),
        helper.make_node("Det", ["h"], ["y"], name="det"),
    ]
    given = mf.make_model(nodes, [mf.vinfo("x", [4, 4], TensorProto.INT8)], [mf.vinfo("y", [], TensorProto.INT8)])
    loaded = load_model(mf.to_bytes(given))
    assert loaded.op_counts["Constant"] == 1
    assert len(loaded.notes) == 1 and loaded.notes[0].startswith("constant-only nodes not folded: onnxruntime cannot")


def test_a_sparse_constant_is_not_densified(monkeypatch):
    """Its dims, not its bytes, say how big a dense copy gets: it stays as given, and a model
    with nothing else to fold creates no onnxruntime session on load (which would densify it)."""

    def no_session(*args):
        raise AssertionError("onnxruntime ran to fold a sparse Constant")

    monkeypatch.setattr(nz, "_write_folded", no_session)
    values = helper.make_tensor("v", TensorProto.FLOAT, [2], [1.0, 2.0])
    indices = helper.make_tensor("i", TensorProto.INT64, [2], [0, 5])
    sparse = helper.make_sparse_tensor(values, indices, [4, 3])
    nodes = [
        helper.make_node("Constant", [], ["w"], sparse_value=sparse),
        helper.make_node("MatMul", ["x", "w"], ["y"], name="mm"),
    ]
    given = mf.make_model(nodes, [mf.vinfo("x", ["N", 4])], [mf.vinfo("y", ["N", 3])])
    loaded = load_model(mf.to_bytes(given))
    assert loaded.notes == [] and loaded.op_counts == {"Constant": 1, "MatMul": 1}
