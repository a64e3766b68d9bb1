"""Small models whose outputs have the shapes real models ship (tests of qviz.evaluate.output_kind).

    conv_classifier(c)      x[N,3,8,8] -> Conv -> Relu -> Conv 1x1 -> GlobalAveragePool -> y[N,c,1,1]
                            (SqueezeNet's (N, 1000, 1, 1) logits)
    sigmoid_head()          x[N,16] -> Gemm -> Relu -> Gemm -> Sigmoid -> y[N,1]   (a yes/no probability)
    logit_head()            the same without the Sigmoid: y[N,1] logits
    sequence(t, c, probs)   x[N,t,16] -> MatMul -> Relu -> MatMul [-> Softmax] -> y[N,t,c]  (OCR recognizer)
    detection_head(k)       x[N,k,16] -> MatMul -> Relu -> MatMul -> Transpose -> y[N,84,k]  (YOLOv8's head)
    softmax_classifier(c)   x[N,16] -> Gemm -> Relu -> Gemm -> Softmax -> y[N,c]   (probabilities)
    logit_classifier(c)     x[N,16] -> Gemm -> Relu -> Gemm -> y[N,c]               (c up to thousands)
    argmax_classifier(c)    logit_classifier -> ArgMax -> label[N] int64           (class ids, as sklearn's)

Weights are seeded random and large enough that 2- to 4-bit weights flip some decisions.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper

from qviz_dev.model_factory import init, make_model, rand, vinfo

HIDDEN = 32


def conv_classifier(c: int = 12) -> onnx.ModelProto:
    nodes = [
        helper.make_node("Conv", ["x", "c1.w", "c1.b"], ["h"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("Conv", ["r", "c2.w"], ["z"], name="conv2"),
        helper.make_node("GlobalAveragePool", ["z"], ["y"]),
    ]
    inits = [init("c1.w", rand((16, 3, 3, 3), 1)), init("c1.b", rand((16,), 2)), init("c2.w", rand((c, 16, 1, 1), 3))]
    return make_model(nodes, [vinfo("x", ["N", 3, 8, 8])], [vinfo("y", ["N", c, 1, 1])], inits)


def _mlp_nodes(out: str) -> tuple[list, list]:
    return [
        helper.make_node("Gemm", ["x", "fc1.w", "fc1.b"], ["h"], name="fc1", transB=1),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("Gemm", ["r", "fc2.w", "fc2.b"], [out], name="fc2", transB=1),
    ], [init("fc1.w", rand((HIDDEN, 16), 4)), init("fc1.b", rand((HIDDEN,), 5))]


def sigmoid_head() -> onnx.ModelProto:
    nodes, inits = _mlp_nodes("logit")
    nodes.append(helper.make_node("Sigmoid", ["logit"], ["y"]))
    inits += [init("fc2.w", rand((1, HIDDEN), 6)), init("fc2.b", np.zeros(1, np.float32))]
    return make_model(nodes, [vinfo("x", ["N", 16])], [vinfo("y", ["N", 1])], inits)


def logit_head() -> onnx.ModelProto:
    nodes, inits = _mlp_nodes("y")
    inits += [init("fc2.w", rand((1, HIDDEN), 6)), init("fc2.b", np.zeros(1, np.float32))]
    return make_model(nodes, [vinfo("x", ["N", 16])], [vinfo("y", ["N", 1])], inits)


def softmax_classifier(c: int = 10) -> onnx.ModelProto:
    nodes, inits = _mlp_nodes("logits")
    nodes.append(helper.make_node("Softmax", ["logits"], ["y"], axis=-1))
    inits += [init("fc2.w", rand((c, HIDDEN), 7)), init("fc2.b", rand((c,), 8))]
    return make_model(nodes, [vinfo("x", ["N", 16])], [vinfo("y", ["N", c])], inits)


def logit_classifier(c: int = 10) -> onnx.ModelProto:
    nodes, inits = _mlp_nodes("y")
    inits += [init("fc2.w", rand((c, HIDDEN), 7)), init("fc2.b", rand((c,), 8))]
    return make_model(nodes, [vinfo("x", ["N", 16])], [vinfo("y", ["N", c])], inits)


def _token_mlp(width: int, out: str) -> tuple[list, list]:
    nodes = [
        helper.make_node("MatMul", ["x", "m1.w"], ["h"], name="m1"),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("MatMul", ["r", "m2.w"], [out], name="m2"),
    ]
    return nodes, [init("m1.w", rand((16, HIDDEN), 9)), init("m2.w", rand((HIDDEN, width), 10))]


def sequence(t: int = 6, c: int = 7, probs: bool = True) -> onnx.ModelProto:
    nodes, inits = _token_mlp(c, "logits" if probs else "y")
    if probs:
        nodes.append(helper.make_node("Softmax", ["logits"], ["y"], axis=-1))
    return make_model(nodes, [vinfo("x", ["N", t, 16])], [vinfo("y", ["N", t, c])], inits)


def detection_head(k: int = 30) -> onnx.ModelProto:
    nodes, inits = _token_mlp(84, "rows")
    nodes.append(helper.make_node("Transpose", ["rows"], ["y"], perm=[0, 2, 1]))
    return make_model(nodes, [vinfo("x", ["N", k, 16])], [vinfo("y", ["N", 84, k])], inits)


def argmax_classifier(c: int = 10) -> onnx.ModelProto:
    nodes, inits = _mlp_nodes("logits")
    nodes.append(helper.make_node("ArgMax", ["logits"], ["label"], axis=1, keepdims=0))
    inits += [init("fc2.w", rand((c, HIDDEN), 7)), init("fc2.b", rand((c,), 8))]
    return make_model(nodes, [vinfo("x", ["N", 16])], [vinfo("label", ["N"], onnx.TensorProto.INT64)], inits)
