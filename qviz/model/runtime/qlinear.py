"""onnxruntime as the oracle of qviz.lessons.integer_only: one-node QLinearMatMul / QLinearConv models.

    >>> from qviz.lessons.integer_only import integer_gemm
    >>> rng = np.random.default_rng(0)
    >>> x, w, b = rng.normal(size=(4, 16)), 0.1 * rng.normal(size=(8, 16)), 0.1 * rng.normal(size=8)
    >>> r = integer_gemm(x, w, b, x_range=(-3.0, 3.0), y_range=(-2.0, 2.0))
    >>> y = qlinear_conv_1x1(r)    # uint8 (batch, out), with r.b_q: the Gemm as a 1x1 QLinearConv
    >>> y.dtype, y.shape, bool((y == r.y_q).all())      # the walkthrough's codes, bit for bit
    (dtype('uint8'), (4, 8), True)
    >>> qlinear_matmul(r).shape    # uint8 (batch, out), no bias (QLinearMatMul has none)
    (4, 8)

The models feed the *same* codes and scales as the walkthrough, so any difference is in the
integer arithmetic or the requantization, never in the quantization of the inputs.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from qviz.model.runtime.session import make_session


def _scale_inputs(r) -> list:
    per_channel = r.sw.size > 1
    sw = r.sw.astype(np.float32) if per_channel else np.asarray(np.float32(r.sw[0]))
    return [
        numpy_helper.from_array(np.asarray(np.float32(r.sx)), "sx"),
        numpy_helper.from_array(np.asarray(np.uint8(r.zx)), "zx"),
        numpy_helper.from_array(sw, "sw"),
        numpy_helper.from_array(np.zeros(sw.shape, np.int8), "zw"),
        numpy_helper.from_array(np.asarray(np.float32(r.sy)), "sy"),
        numpy_helper.from_array(np.asarray(np.uint8(r.zy)), "zy"),
    ]


def _run_one_node(node, x: np.ndarray, initializers: list) -> np.ndarray:
    graph = helper.make_graph(
        [node],
        "qviz_intonly",
        [helper.make_tensor_value_info("x", TensorProto.UINT8, list(x.shape))],
        [helper.make_tensor_value_info("y", TensorProto.UINT8, None)],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)
    return make_session(model.SerializeToString()).run(None, {"x": x})[0]


def qlinear_matmul(r) -> np.ndarray:
    """onnxruntime QLinearMatMul(x_q, W_q.T) with r's scales and zero points (the bias is ignored)."""
    inits = [*_scale_inputs(r), numpy_helper.from_array(np.ascontiguousarray(r.w_q.T), "w")]
    node = helper.make_node("QLinearMatMul", ["x", "sx", "zx", "w", "sw", "zw", "sy", "zy"], ["y"])
    return _run_one_node(node, r.x_q, inits)


def qlinear_conv_1x1(r) -> np.ndarray:
    """onnxruntime QLinearConv with a 1x1 kernel: the Gemm with its int32 bias r.b_q."""
    (batch, k), out = r.x_q.shape, r.w_q.shape[0]
    b_q = np.zeros(out, np.int32) if r.b_q is None else r.b_q
    inits = [
        *_scale_inputs(r),
        numpy_helper.from_array(r.w_q.reshape(out, k, 1, 1), "w"),
        numpy_helper.from_array(b_q, "b"),
    ]
    node = helper.make_node("QLinearConv", ["x", "sx", "zx", "w", "sw", "zw", "sy", "zy", "b"], ["y"])
    return _run_one_node(node, r.x_q.reshape(batch, k, 1, 1), inits).reshape(batch, out)
