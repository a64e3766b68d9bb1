"""qviz.model.deploy.speed: per-op profile of int8 vs fp32, and the one-line why when int8 is slower."""

from __future__ import annotations

import numpy as np
from onnx import helper

from qviz.config import PRESETS
from qviz.model.deploy.deployable import deploy
from qviz.model.deploy.speed import (
    cpu_features,
    explain_slowdown,
    hardware_line,
    overhead,
    recommendations,
    speed_report,
    unfused_float,
)
from qviz_dev import model_factory as mf


def tiny_layers_net(n: int = 12, width: int = 4):
    """x[1,4] -> n x (MatMul 4x4 -> Add): layers so small that Q/DQ costs more than they save."""
    nodes, inits, prev = [], [], "x"
    for i in range(n):
        nodes.append(helper.make_node("MatMul", [prev, f"w{i}"], [f"m{i}"], name=f"mm{i}"))
        out = "y" if i == n - 1 else f"a{i}"
        nodes.append(helper.make_node("Add", [f"m{i}", f"b{i}"], [out], name=f"add{i}"))
        inits += [mf.init(f"w{i}", mf.rand((width, width), i)), mf.init(f"b{i}", mf.rand((width,), 100 + i))]
        prev = out
    return mf.make_model(nodes, [mf.vinfo("x", [1, width])], [mf.vinfo("y", [1, width])], inits)


def test_slower_int8_gets_the_q_dq_explanation():
    why = explain_slowdown(
        speedup=0.59,
        overhead_share=0.4,
        vnni=True,
        x86=True,
        nbits_share=0.0,
        overhead_ops="QLinearAdd, QuantizeLinear",
    )
    assert why is not None and "0.59x" in why and "Q/DQ" in why and "40%" in why and "QLinearAdd" in why


def test_faster_int8_needs_no_explanation():
    assert explain_slowdown(speedup=1.8, overhead_share=0.4, vnni=False, x86=True, nbits_share=0.0) is None


def test_other_causes_follow_the_numbers():
    assert "MatMulNBits" in explain_slowdown(speedup=0.9, overhead_share=0.05, vnni=False, x86=True, nbits_share=0.7)
    assert "no VNNI" in explain_slowdown(speedup=0.9, overhead_share=0.05, vnni=False, x86=True, nbits_share=0.0)
    assert "do not pay off" in explain_slowdown(speedup=0.9, overhead_share=0.05, vnni=True, x86=True, nbits_share=0.0)


def test_hardware_line_and_reduce_range_advice():
    avx2 = cpu_features("flags : fpu sse avx2 fma", "x86_64")
    assert avx2["avx2"] and not avx2["avx512_vnni"]
    assert "AVX2" in hardware_line(avx2) and "int16" in hardware_line(avx2)
    assert recommendations(avx2)[0].startswith("reduce_range=True")
    vnni = cpu_features("flags : avx2 avx512f avx512_vnni amx_int8", "x86_64")
    assert "AMX" in hardware_line(vnni) and recommendations(vnni)[0].startswith("reduce_range=False")
    arm = cpu_features("Features : fp asimd asimddp", "aarch64")
    assert arm["arm_dotprod"] and "dot-product" in hardware_line(arm)


def test_speed_report_on_a_small_layer_model():
    model = mf.to_bytes(tiny_layers_net())
    calib = mf.rand((16, 4), 5, scale=1.0)
    int8 = deploy(model, PRESETS["w8a8"], calib, reduce_range=False)
    r = speed_report(int8, model, {"x": calib[:1]}, runs=5, warmup=1)
    assert list(r.by_op.columns) == ["op type", "int8 ms", "int8 nodes", "fp32 ms", "fp32 nodes"]
    assert r.by_op["fp32 nodes"].sum() >= 12 and "QLinearMatMul" in set(r.by_op["op type"])
    assert r.int8_ms > 0 and r.fp32_ms > 0 and np.isfinite(r.speedup)
    assert set(r.kernels) == {f"mm{i}" for i in range(12)}
    assert r.unfused_qdq >= 0 and r.hardware.startswith("CPU:") and r.recommendations
    assert (r.explanation is None) == (r.speedup >= 1.0)  # the why follows the measured ratio
    ms, ops = overhead([{"op_type": "QLinearAdd", "ms": 2.0}, {"op_type": "QLinearMatMul", "ms": 1.0}])
    assert (ms, ops) == (2.0, "QLinearAdd")  # the matmul kernel is the work, not overhead
    assert set(r.to_dict()) >= {"by_op", "speedup", "kernels", "explanation", "hardware"}


def test_float_ops_the_fp32_model_fused_are_named():
    int8 = [{"op_type": "BatchNormalization", "ms": 1.0}] * 3 + [{"op_type": "QLinearConv", "ms": 2.0}] * 3
    fp32 = [{"op_type": "Conv", "ms": 1.5}] * 3  # BatchNormalization folded into the Convs
    ms, ops = unfused_float(int8, fp32)
    assert (ms, ops) == (3.0, "BatchNormalization")
    why = explain_slowdown(
        speedup=0.5,
        overhead_share=0.1,
        vnni=True,
        x86=True,
        nbits_share=0.0,
        unfused_share=ms / 9.0,
        unfused_ops=ops,
    )
    assert "BatchNormalization" in why and "33%" in why and "fold BatchNormalization into Conv" in why
