"""Small ONNX models built with onnx.helper, for tests across qviz (every one runs in onnxruntime).

    >>> model = conv_net()                      # ModelProto, IR 10, opset 21
    >>> data = to_bytes(model)

Each builder documents the layers it contains, so tests can check the layer table. Weights are
seeded random, small. Dynamic dims use the symbolic name "N" unless `batch` is an int.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

IR_VERSION = 10  # onnx 1.23 writes IR 14 by default, which onnxruntime 1.31 refuses
OPSET = 21


def rand(shape, seed=0, dtype=np.float32, scale=0.5) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


def init(name: str, x: np.ndarray) -> TensorProto:
    return numpy_helper.from_array(np.asarray(x), name)


def vinfo(name: str, shape, elem=TensorProto.FLOAT) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem, shape)


def make_model(
    nodes,
    inputs,
    outputs,
    initializers=(),
    *,
    opset=OPSET,
    ir_version=IR_VERSION,
    extra_opsets=(),
    functions=(),
    name="g",
) -> onnx.ModelProto:
    """A ModelProto with onnxruntime-friendly IR/opset. extra_opsets: [(domain, version)]."""
    graph = helper.make_graph(list(nodes), name, list(inputs), list(outputs), list(initializers))
    opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v) for d, v in extra_opsets]
    return helper.make_model(graph, opset_imports=opsets, ir_version=ir_version, functions=list(functions))


def to_bytes(model: onnx.ModelProto) -> bytes:
    return model.SerializeToString()


def conv_net(batch="N") -> onnx.ModelProto:
    """x[N,3,8,8] -> conv1 (named, bias) -> Relu -> Conv (unnamed, W 'conv2.weight', pad 1)
    -> GlobalAveragePool -> Flatten -> Gemm 'fc' (transB=1) -> y[N,10].
    Layers: conv1 [4,3,3,3], conv2.weight [8,4,3,3], fc [10,8]."""
    nodes = [
        helper.make_node("Conv", ["x", "conv1.weight", "conv1.bias"], ["c1"], name="conv1"),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "conv2.weight"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("GlobalAveragePool", ["c2"], ["p"]),
        helper.make_node("Flatten", ["p"], ["f"]),
        helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["y"], name="fc", transB=1),
    ]
    inits = [
        init("conv1.weight", rand((4, 3, 3, 3), 1)),
        init("conv1.bias", rand((4,), 2)),
        init("conv2.weight", rand((8, 4, 3, 3), 3)),
        init("fc.weight", rand((10, 8), 4)),
        init("fc.bias", rand((10,), 5)),
    ]
    return make_model(nodes, [vinfo("x", [batch, 3, 8, 8])], [vinfo("y", [batch, 10])], inits)


def conv_transpose_net() -> onnx.ModelProto:
    """x[1,4,5,5] -> ConvTranspose 'up' (W [4,2,3,3], stride 2) -> y[1,2,11,11]."""
    nodes = [helper.make_node("ConvTranspose", ["x", "up.weight", "up.bias"], ["y"], name="up", strides=[2, 2])]
    inits = [init("up.weight", rand((4, 2, 3, 3), 6)), init("up.bias", rand((2,), 7))]
    return make_model(nodes, [vinfo("x", [1, 4, 5, 5])], [vinfo("y", [1, 2, 11, 11])], inits)


def mlp(batch="N") -> onnx.ModelProto:
    """x[N,16] -> Gemm 'fc1' (B [16,32], transB=0) -> Relu -> MatMul 'fc2' (B [32,8]) -> y[N,8];
    also t = Transpose(x)[16,N]; MatMul 'proj' (constant A [12,16] @ t) -> z[12,N];
    and MatMul(h, h^T) between two activations (not a layer)."""
    nodes = [
        helper.make_node("Gemm", ["x", "fc1.weight", "fc1.bias"], ["h"], name="fc1"),
        helper.make_node("Relu", ["h"], ["hr"]),
        helper.make_node("MatMul", ["hr", "fc2.weight"], ["y"], name="fc2"),
        helper.make_node("Transpose", ["x"], ["t"], perm=[1, 0]),
        helper.make_node("MatMul", ["proj.weight", "t"], ["z"], name="proj"),
        helper.make_node("Transpose", ["hr"], ["hrt"], perm=[1, 0]),
        helper.make_node("MatMul", ["hr", "hrt"], ["gram"], name="gram"),
    ]
    inits = [
        init("fc1.weight", rand((16, 32), 8)),
        init("fc1.bias", rand((32,), 9)),
        init("fc2.weight", rand((32, 8), 10)),
        init("proj.weight", rand((12, 16), 11)),
    ]
    outputs = [vinfo("y", [batch, 8]), vinfo("z", [12, batch]), vinfo("gram", [batch, batch])]
    return make_model(nodes, [vinfo("x", [batch, 16])], outputs, inits)


def multi_input(batch="N") -> onnx.ModelProto:
    """a[N,8], b[N,8] -> MatMul(a, wa [8,4]) + MatMul(b, wb [8,4]) -> y[N,4]. Unnamed nodes:
    layer ids are the weight names 'wa', 'wb'."""
    nodes = [
        helper.make_node("MatMul", ["a", "wa"], ["ya"]),
        helper.make_node("MatMul", ["b", "wb"], ["yb"]),
        helper.make_node("Add", ["ya", "yb"], ["y"]),
    ]
    inits = [init("wa", rand((8, 4), 12)), init("wb", rand((8, 4), 13))]
    return make_model(nodes, [vinfo("a", [batch, 8]), vinfo("b", [batch, 8])], [vinfo("y", [batch, 4])], inits)


def fp16_weights(batch="N") -> onnx.ModelProto:
    """x[N,16] fp32 -> MatMul 'mm' with Cast(w16 fp16 [16,8] -> fp32) -> Cast to fp16
    -> Gemm 'g16' (fp16 B [8,4], transB=0) -> y[N,4] fp16. Both weights are stored fp16."""
    nodes = [
        helper.make_node("Cast", ["w16"], ["w32"], to=TensorProto.FLOAT),
        helper.make_node("MatMul", ["x", "w32"], ["h"], name="mm"),
        helper.make_node("Cast", ["h"], ["h16"], to=TensorProto.FLOAT16),
        helper.make_node("Gemm", ["h16", "g16.weight"], ["y"], name="g16"),
    ]
    inits = [init("w16", rand((16, 8), 14, np.float16)), init("g16.weight", rand((8, 4), 15, np.float16))]
    return make_model(nodes, [vinfo("x", [batch, 16])], [vinfo("y", [batch, 4], TensorProto.FLOAT16)], inits)


def qdq_conv(batch=1) -> onnx.ModelProto:
    """QDQ: x -> QuantizeLinear/DequantizeLinear (uint8) -> Conv 'qconv' whose weight is
    DequantizeLinear(w_q int8 [4,3,3,3], per-channel scale, axis 0) -> y[1,4,6,6].
    Layer: qconv, weight_name 'w_q', quantized."""
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "x_scale", "x_zp"], ["xq"]),
        helper.make_node("DequantizeLinear", ["xq", "x_scale", "x_zp"], ["xdq"]),
        helper.make_node("DequantizeLinear", ["w_q", "w_scale", "w_zp"], ["w_dq"], axis=0),
        helper.make_node("Conv", ["xdq", "w_dq", "b"], ["y"], name="qconv"),
    ]
    w_q = np.random.default_rng(16).integers(-127, 128, (4, 3, 3, 3)).astype(np.int8)
    inits = [
        init("x_scale", np.float32(0.02)),
        init("x_zp", np.uint8(128)),
        init("w_q", w_q),
        init("w_scale", np.full(4, 0.01, np.float32)),
        init("w_zp", np.zeros(4, np.int8)),
        init("b", rand((4,), 17)),
    ]
    return make_model(nodes, [vinfo("x", [batch, 3, 8, 8])], [vinfo("y", [batch, 4, 6, 6])], inits)


def qoperator(batch=1) -> onnx.ModelProto:
    """QOperator: xq uint8 [1,3,8,8] -> QLinearConv 'qlc' (int8 W [4,3,3,3], int32 bias)
    -> yq uint8 [1,4,6,6]; aq uint8 [2,16] -> QLinearMatMul 'qlm' (int8 B [16,4]) -> zq [2,4];
    aq -> MatMulInteger (unnamed, B 'mi.weight' int8 [16,3]) -> zi int32 [2,3]."""
    rng = np.random.default_rng(18)
    nodes = [
        helper.make_node(
            "QLinearConv", ["xq", "xs", "xzp", "qlc.w", "ws", "wzp", "ys", "yzp", "qlc.b"], ["yq"], name="qlc"
        ),
        helper.make_node("QLinearMatMul", ["aq", "as", "azp", "qlm.w", "bs", "bzp", "zs", "zzp"], ["zq"], name="qlm"),
        helper.make_node("MatMulInteger", ["aq", "mi.weight", "azp"], ["zi"]),
    ]
    inits = [
        init("xs", np.float32(0.02)),
        init("xzp", np.uint8(128)),
        init("qlc.w", rng.integers(-50, 50, (4, 3, 3, 3)).astype(np.int8)),
        init("ws", np.full(4, 0.01, np.float32)),
        init("wzp", np.zeros(4, np.int8)),
        init("ys", np.float32(0.05)),
        init("yzp", np.uint8(128)),
        init("qlc.b", rng.integers(-100, 100, 4).astype(np.int32)),
        init("as", np.float32(0.02)),
        init("azp", np.uint8(128)),
        init("qlm.w", rng.integers(-50, 50, (16, 4)).astype(np.int8)),
        init("bs", np.float32(0.01)),
        init("bzp", np.int8(0)),
        init("zs", np.float32(0.05)),
        init("zzp", np.uint8(128)),
        init("mi.weight", rng.integers(-50, 50, (16, 3)).astype(np.int8)),
    ]
    inputs = [vinfo("xq", [batch, 3, 8, 8], TensorProto.UINT8), vinfo("aq", [2, 16], TensorProto.UINT8)]
    outputs = [
        vinfo("yq", [batch, 4, 6, 6], TensorProto.UINT8),
        vinfo("zq", [2, 4], TensorProto.UINT8),
        vinfo("zi", [2, 3], TensorProto.INT32),
    ]
    return make_model(nodes, inputs, outputs, inits)


def constant_weights(batch="N") -> onnx.ModelProto:
    """Weights from Constant nodes: x[N,16] -> MatMul (unnamed, B = Constant 'cw' [16,8])
    -> Gemm 'cg' (B = Constant 'cgw' [4,8], transB=1, C = Constant 'cgb' [4]) -> y[N,4]."""
    nodes = [
        helper.make_node("Constant", [], ["cw"], value=numpy_helper.from_array(rand((16, 8), 19))),
        helper.make_node("Constant", [], ["cgw"], value=numpy_helper.from_array(rand((4, 8), 20))),
        helper.make_node("Constant", [], ["cgb"], value_floats=[0.1, 0.2, 0.3, 0.4]),
        helper.make_node("MatMul", ["x", "cw"], ["h"]),
        helper.make_node("Gemm", ["h", "cgw", "cgb"], ["y"], name="cg", transB=1),
    ]
    return make_model(nodes, [vinfo("x", [batch, 16])], [vinfo("y", [batch, 4])])


def constant_of_shape_weights(opset=9, ir_version=3, channels=4) -> onnx.ModelProto:
    """ONNX's "light" zoo as shipped: x[1,3,8,8] -> Conv 'conv' whose W [4,3,3,3] and B [4] are
    ConstantOfShape outputs 'conv_W' (0.05) and 'conv_B' (0.1) -> Relu -> y[1,4,6,6]. The shape
    tensors are initializers also listed as graph inputs (IR 3 exporters did this). As given it
    has no layer; normalized (qviz.model.load.normalize) one: 'conv', weight 'conv_W'. `channels` sets
    the 4 output channels (W is channels*108 bytes once folded)."""
    nodes = [
        helper.make_node("ConstantOfShape", ["W_shape"], ["conv_W"], value=numpy_helper.from_array(np.float32([0.05]))),
        helper.make_node("ConstantOfShape", ["B_shape"], ["conv_B"], value=numpy_helper.from_array(np.float32([0.1]))),
        helper.make_node("Conv", ["x", "conv_W", "conv_B"], ["c"], name="conv"),
        helper.make_node("Relu", ["c"], ["y"], name="relu"),
    ]
    shapes = [init("W_shape", np.array([channels, 3, 3, 3], np.int64)), init("B_shape", np.array([channels], np.int64))]
    inputs = [vinfo("x", [1, 3, 8, 8])] + [vinfo(t.name, [t.dims[0]], TensorProto.INT64) for t in shapes]
    return make_model(nodes, inputs, [vinfo("y", [1, channels, 6, 6])], shapes, opset=opset, ir_version=ir_version)


def lstm_net(batch="N", seq=3) -> onnx.ModelProto:
    """X[seq,N,4] -> LSTM 'lstm' (hidden 5: W [1,20,4], R [1,20,5], B [1,40]) -> Y[seq,1,N,5].
    Layers: 'lstm:W' and 'lstm:R'."""
    nodes = [helper.make_node("LSTM", ["X", "W", "R", "B"], ["Y"], name="lstm", hidden_size=5)]
    inits = [init("W", rand((1, 20, 4), 21)), init("R", rand((1, 20, 5), 22)), init("B", rand((1, 40), 23))]
    return make_model(nodes, [vinfo("X", [seq, batch, 4])], [vinfo("Y", [seq, 1, batch, 5])], inits)


def com_microsoft_ops() -> onnx.ModelProto:
    """onnxruntime contrib ops: a[1,32] -> MatMulNBits 'nbits' (4-bit, K=32, N=4, block 32,
    packed B uint8 [4,1,16]) -> y[1,4]; s[1,3,8] -> Attention 'attn' (weights [8,24], bias [24],
    2 heads) -> z[1,3,8]. Layers: 'nbits' (quantized), 'attn'."""
    rng = np.random.default_rng(24)
    nodes = [
        helper.make_node(
            "MatMulNBits",
            ["a", "nb.w", "nb.scales"],
            ["y"],
            name="nbits",
            domain="com.microsoft",
            K=32,
            N=4,
            bits=4,
            block_size=32,
        ),
        helper.make_node(
            "Attention", ["s", "attn.w", "attn.b"], ["z"], name="attn", domain="com.microsoft", num_heads=2
        ),
    ]
    inits = [
        init("nb.w", rng.integers(0, 256, (4, 1, 16)).astype(np.uint8)),
        init("nb.scales", np.full(4, 0.1, np.float32)),
        init("attn.w", rand((8, 24), 25)),
        init("attn.b", rand((24,), 26)),
    ]
    inputs, outputs = [vinfo("a", [1, 32]), vinfo("s", [1, 3, 8])], [vinfo("y", [1, 4]), vinfo("z", [1, 3, 8])]
    return make_model(nodes, inputs, outputs, inits, extra_opsets=[("com.microsoft", 1)])


def no_layers() -> onnx.ModelProto:
    """x[N,4] -> Relu -> y: nothing quantizable."""
    return make_model([helper.make_node("Relu", ["x"], ["y"])], [vinfo("x", ["N", 4])], [vinfo("y", ["N", 4])])


def gemm_stack(n_layers: int, width: int, seed: int = 0) -> onnx.ModelProto:
    """x[N,width] -> n_layers x (Gemm 'fc{i}' with B [width,width], transB=1) -> y. Params = n*w^2 (+ biases)."""
    rng = np.random.default_rng(seed)
    nodes, inits, prev = [], [], "x"
    for i in range(n_layers):
        out = "y" if i == n_layers - 1 else f"h{i}"
        nodes.append(helper.make_node("Gemm", [prev, f"fc{i}.weight", f"fc{i}.bias"], [out], name=f"fc{i}", transB=1))
        w = rng.standard_normal((width, width), dtype=np.float32)
        w *= np.float32(1 / np.sqrt(width))
        inits += [init(f"fc{i}.weight", w), init(f"fc{i}.bias", np.zeros(width, np.float32))]
        prev = out
    return make_model(nodes, [vinfo("x", ["N", width])], [vinfo("y", ["N", width])], inits)


def random_inputs(model: onnx.ModelProto, batch: int = 2, seed: int = 0) -> dict[str, np.ndarray]:
    """Feeds for every graph input (symbolic dims -> `batch`), matching dtypes."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for v in model.graph.input:
        tt = v.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else batch for d in tt.shape.dim]
        dtype = helper.tensor_dtype_to_np_dtype(tt.elem_type)
        if np.issubdtype(dtype, np.integer):
            feeds[v.name] = rng.integers(0, 255, shape).astype(dtype)
        else:
            feeds[v.name] = rng.standard_normal(shape).astype(dtype)
    return feeds


def set_external(t: TensorProto, location: str) -> TensorProto:
    """Turn `t` into an external-data reference to `location` (its inline bytes dropped)."""
    t.ClearField("raw_data")
    for field in ("float_data", "int32_data", "int64_data", "double_data", "uint64_data"):
        t.ClearField(field)
    t.data_location = TensorProto.EXTERNAL
    del t.external_data[:]
    t.external_data.add(key="location", value=location)
    t.external_data.add(key="offset", value="0")
    t.external_data.add(key="length", value="16")
    return t


ALL_GOOD = {
    "conv_net": conv_net,
    "conv_transpose_net": conv_transpose_net,
    "mlp": mlp,
    "multi_input": multi_input,
    "fp16_weights": fp16_weights,
    "qdq_conv": qdq_conv,
    "qoperator": qoperator,
    "constant_weights": constant_weights,
    "lstm_net": lstm_net,
    "com_microsoft_ops": com_microsoft_ops,
    "no_layers": no_layers,
}
