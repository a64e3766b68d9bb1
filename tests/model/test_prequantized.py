"""Already-quantized models: their stored quantization is shown, configs never pretend to change
it (the default leaves those layers as they are and says so; an explicit entry is refused), and
a QDQ model dequantizes to the float model its codes stand for, which qviz quantizes again."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from qviz.cli.main import main
from qviz.config import PRESETS, LayerConfig
from qviz.evaluate import evaluate, from_arrays
from qviz.model import ModelError, layer_table, load_model, make_session
from qviz.model.deploy.deployable import deploy, deployable
from qviz.model.load.dequantize import dequantize_model
from qviz.model.load.prequantized import existing_quantization
from qviz.model.simulate.simulator import Simulator
from qviz.quant import QuantSpec, SpecError
from qviz_dev.model_factory import init, make_model, qdq_conv, qoperator, rand, to_bytes, vinfo


def qdq_net():
    """A QDQ int8 model as onnxruntime's quantize_static writes it: x -> Q/DQ (uint8) -> Conv 'conv'
    (W int8 per-channel axis 0, int32 bias) -> Q/DQ -> Relu -> Flatten -> Q/DQ -> Gemm 'fc'
    (W int8 per-tensor, transB) -> y[N,3]."""
    rng = np.random.default_rng(50)
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
        helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
        helper.make_node("DequantizeLinear", ["cw_q", "cw_s", "cw_z"], ["cw"], axis=0),
        helper.make_node("DequantizeLinear", ["cb_q", "cb_s"], ["cb"], axis=0),
        helper.make_node("Conv", ["xd", "cw", "cb"], ["c"], name="conv"),
        helper.make_node("QuantizeLinear", ["c", "cs", "cz"], ["cq"]),
        helper.make_node("DequantizeLinear", ["cq", "cs", "cz"], ["cd"]),
        helper.make_node("Relu", ["cd"], ["r"]),
        helper.make_node("Flatten", ["r"], ["f"]),
        helper.make_node("QuantizeLinear", ["f", "fs", "fz"], ["fq"]),
        helper.make_node("DequantizeLinear", ["fq", "fs", "fz"], ["fd"]),
        helper.make_node("DequantizeLinear", ["gw_q", "gw_s", "gw_z"], ["gw"]),
        helper.make_node("Gemm", ["fd", "gw"], ["y"], name="fc", transB=1),
    ]
    inits = [
        init("xs", np.float32(0.02)),
        init("xz", np.uint8(128)),
        init("cw_q", rng.integers(-127, 128, (4, 2, 3, 3)).astype(np.int8)),
        init("cw_s", np.linspace(0.005, 0.01, 4).astype(np.float32)),
        init("cw_z", np.zeros(4, np.int8)),
        init("cb_q", rng.integers(-500, 500, 4).astype(np.int32)),
        init("cb_s", (0.02 * np.linspace(0.005, 0.01, 4)).astype(np.float32)),
        init("cs", np.float32(0.05)),
        init("cz", np.uint8(128)),
        init("fs", np.float32(0.03)),
        init("fz", np.uint8(0)),
        init("gw_q", rng.integers(-127, 128, (3, 16)).astype(np.int8)),
        init("gw_s", np.float32(0.01)),
        init("gw_z", np.int8(0)),
    ]
    return make_model(nodes, [vinfo("x", ["N", 2, 4, 4])], [vinfo("y", ["N", 3])], inits)


def test_existing_quantization_per_layer():
    loaded = load_model(to_bytes(qdq_net()))
    infos = existing_quantization(loaded, layer_table(loaded))
    assert {k: v.describe() for k, v in infos.items()} == {
        "conv": "QDQ int8 sym per-channel(axis 0); activations uint8 per-tensor",
        "fc": "QDQ int8 sym per-tensor; activations uint8 per-tensor",
    }
    q = load_model(to_bytes(qoperator()))
    assert {k: v.describe() for k, v in existing_quantization(q, layer_table(q)).items()} == {
        "qlc": "QOperator int8 sym per-channel(axis 0); activations uint8 per-tensor",
        "qlm": "QOperator int8 sym per-tensor; activations uint8 per-tensor",
        "mi.weight": "integer op int8 sym per-tensor; activations dynamic",
    }


def test_inspect_shows_existing_quantization(tmp_path, capsys):
    path = tmp_path / "q.onnx"
    path.write_bytes(to_bytes(qdq_net()))
    assert main(["inspect", str(path)]) == 0
    text = capsys.readouterr().out
    assert "2 of 2 layers already quantized in the model" in text
    assert "conv" in text and "QDQ int8 sym per-channel(axis 0); activations uint8 per-tensor" in text
    assert main(["inspect", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["existing_quantization"]["fc"]["granularity"] == "tensor"
    assert doc["existing_quantization"]["conv"]["bits"] == 8


def _data(model, n=16):
    return from_arrays(model, rand((n, 2, 4, 4), 51))


def test_a_preset_leaves_quantized_layers_as_they_are_and_says_so():
    """Before: w4g32 on an int8 model reported 8.00 bits/weight and inf dB without a word."""
    sim = Simulator(to_bytes(qdq_net()), rand((16, 2, 4, 4), 52))
    ev = evaluate(None, PRESETS["w4g32"], _data(sim.loaded), simulator=sim)
    assert ev.size.bits_per_weight == 8.0
    assert any("2 of 2 layers already quantized" in n and "leaves them as they are" in n for n in ev.notes)
    assert not any("already" in n for n in evaluate(None, PRESETS["fp32"], _data(sim.loaded), simulator=sim).notes)


def test_searching_a_quantized_model_points_to_dequantize():
    """Before: "the model has no quantizable layers" on a fully int8 model, with no way out named."""
    from qviz.evaluate import search

    sim = Simulator(to_bytes(qdq_net()), rand((16, 2, 4, 4), 53))
    with pytest.raises(SpecError, match=r"2 are already quantized: `qviz dequantize` writes the float model"):
        search(sim, _data(sim.loaded), {"bpw": 6.0})


def test_an_explicit_config_on_a_quantized_layer_is_refused():
    sim = Simulator(to_bytes(qdq_net()), rand((16, 2, 4, 4), 52))
    config = PRESETS["fp32"].with_layer("conv", LayerConfig(QuantSpec(bits=4, granularity="channel"), None))
    with pytest.raises(SpecError, match=r"already quantized in the model: 'conv' \(QDQ int8 sym per-channel"):
        sim.simulate(config)
    with pytest.raises(SpecError, match="qviz dequantize"):
        evaluate(None, config, _data(sim.loaded), simulator=sim)
    assert deployable(config, sim.layers) == [
        "layer 'conv': already quantized in the model: qviz does not quantize it again"
    ]
    with pytest.raises(SpecError, match="already quantized"):
        deploy(None, config, simulator=sim)


def test_dequantized_weights_are_what_onnxruntime_dequantizes():
    """Each folded weight equals onnxruntime's DequantizeLinear output in the original model."""
    m = qdq_net()
    out, report = dequantize_model(m)
    assert report == {"weights": 3, "activation_pairs": 3}
    assert {n.op_type for n in out.graph.node} == {"Conv", "Relu", "Flatten", "Gemm"}
    probe = onnx.ModelProto()
    probe.CopyFrom(m)
    probe.graph.output.extend(onnx.ValueInfoProto(name=n) for n in ("cw", "cb", "gw"))
    feed = {"x": rand((2, 2, 4, 4), 53)}
    want = make_session(probe.SerializeToString(), check=False).run(["cw", "cb", "gw"], feed)
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in out.graph.initializer}
    for name, w in zip(("cw", "cb", "gw"), want, strict=True):
        np.testing.assert_array_equal(inits[name], w)
    # what is left out is only the activations' rounding
    a = make_session(to_bytes(m)).run(None, feed)[0]
    b = make_session(out.SerializeToString()).run(None, feed)[0]
    assert 0 < np.abs(a - b).max() < 0.05 * np.abs(a).max()


def test_a_dequantized_model_quantizes_again():
    out, _ = dequantize_model(qdq_net())
    sim = Simulator(out.SerializeToString(), rand((16, 2, 4, 4), 52))
    assert not any(x.quantized for x in sim.layers)
    ev = evaluate(None, PRESETS["w4g32"], _data(sim.loaded), simulator=sim)
    assert ev.size.bits_per_weight < 8 and ev.fidelity["sqnr_db"] < 60 and not ev.notes


def test_qoperator_models_are_not_dequantized():
    with pytest.raises(ModelError, match="cannot dequantize node 'qlc' \\(QLinearConv\\)"):
        dequantize_model(qoperator())


def test_cli_dequantize_then_quantize(tmp_path, capsys):
    src, dst = tmp_path / "q.onnx", tmp_path / "float.onnx"
    src.write_bytes(to_bytes(qdq_conv()))
    assert main(["dequantize", str(src), "--out", str(dst)]) == 0
    assert "1 DequantizeLinear weights folded, 1 activation" in capsys.readouterr().err
    assert not any(x.quantized for x in layer_table(load_model(dst)))
    assert main(["dequantize", str(dst), "--out", str(tmp_path / "again.onnx")]) == 2
    assert "no DequantizeLinear weights" in capsys.readouterr().err


def test_cli_quantize_notes_quantized_layers(tmp_path, capsys):
    src = tmp_path / "q.onnx"
    src.write_bytes(to_bytes(qdq_net()))
    assert main(["quantize", str(src), "--preset", "w4g32", "--out", str(tmp_path / "o.onnx")]) == 0
    assert "qviz: note: 2 of 2 layers already quantized" in capsys.readouterr().err


def test_subgraph_and_float_layers_are_not_reported_quantized():
    x = helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")
    m = make_model([x], [vinfo("x", ["N", 4])], [vinfo("y", ["N", 2], TensorProto.FLOAT)], [init("w", rand((4, 2), 1))])
    loaded = load_model(to_bytes(m))
    assert existing_quantization(loaded, layer_table(loaded)) == {}


def test_model_and_layer_pages_show_the_stored_quantization():
    """An uploaded QDQ model: the Model page names the stored quantization and offers the
    dequantized float model; the Layer page says what the layer stores."""
    from qviz.ui import i18n
    from qviz_dev.app_pages import open_page, texts, upload

    at = upload(open_page("qviz/views/model.py"), "model_upload_onnx", "q.onnx", to_bytes(qdq_net()))
    shown = "\n".join(texts(at))
    assert "2 of 2 layers already quantized in the model" in shown
    assert i18n.translate("mp_dequantized_download") in [b.label for b in at.get("download_button")]
    at.switch_page("qviz/views/layer.py")
    at.run()
    assert "Stored in the model: QDQ int8 sym per-channel(axis 0); activations uint8 per-tensor." in "\n".join(
        texts(at)
    )
