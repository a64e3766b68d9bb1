"""Every layer's local and propagated error in one pass, summed inside onnxruntime: only scalars come out.

One graph holds three models fed by the same inputs:
    the float model                       (the skeleton's own names)
    the whole config, simulated           (every tensor it makes renamed + FULL_SUFFIX)
    each quantized layer alone             (local_error.simulated_groups: its simulated nodes fed
                                           with the float tensors, renamed + LOCAL_SUFFIX + k)
and, for every pair (float output, its other version), nodes that reduce them in float64:

    signal = sum(x^2)   noise = sum((x - y)^2)   dot = sum(x * y)   other = sum(y^2)   n = size(x)

so the pass returns 5 scalars per pair and no layer output is ever held: the memory of one
pass of the three models on CHUNK samples at a time (sums add up over runs), not of every layer
output of the data (a ResNet-50 on 32 images holds 1.3 GB of them per version). The nodes are
placed beside the float node they mirror, so onnxruntime frees each output once reduced.
`metrics` turns the sums into mse, SQNR, cosine (tensor_error's rules).

Measured (ResNet-50 shapes, on top of the evaluation's peak): 16 images in one run +2.8 GB,
in runs of 4 samples +1.5 GB, of which about 0.9 GB is the session (three sets of weights,
pre-packed). With the reductions appended after the whole graph and 32 images in one run, the
Tune benchmark's process peaked at 11.7 GB.

    >>> from qviz.config import PRESETS
    >>> from qviz.evaluate import from_sample, make_runner
    >>> from qviz.samples import load_sample
    >>> sample = load_sample("digits_cnn")
    >>> runner = make_runner(sample.model_bytes, from_sample(sample), calib=sample.calibration.x)
    >>> sums = error_sums(runner, PRESETS["w8a8"], runner.layers)
    >>> sorted(sums.local) == sorted(sums.propagated) == sorted(x.id for x in runner.layers), runner.sessions_built
    (True, 1)

Not possible (None: the caller fetches the tensors instead): a config whose simulated graph has
If/Loop bodies (their reads of outer names are not renamed), padded batches (a fixed batch size
repeats rows: the sums would count them). A layer `simulated_groups` cannot copy has no local
sums (`missed`); a sum that is not finite (an Inf or NaN in the outputs) is left to the caller,
whose metrics have rules for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper

from qviz.config import ModelConfig
from qviz.evaluate.local_error import LOCAL_SUFFIX, simulated_groups
from qviz.evaluate.tensor_error import cosine_from_sums, sqnr_from_sums
from qviz.model.runtime.session import run_session

FULL_SUFFIX = "::qviz_full"
CHUNK = 4  # samples per run: the three models' live tensors (about 140 MB a ResNet-50 image) bound the peak
SUMS = ("signal", "noise", "dot", "other", "n")


@dataclass
class ErrorSums:
    """{layer id: {"signal", "noise", "dot", "other", "n"}} per comparison; `missed`: no local copy."""

    local: dict = field(default_factory=dict)
    propagated: dict = field(default_factory=dict)
    missed: list = field(default_factory=list)


def error_sums(runner, config: ModelConfig, layers) -> ErrorSums | None:
    """The sums of every layer in `layers` (Runner layers with outputs) on the Runner's data; local
    sums for those `config` quantizes (module doc). None when the one-pass graph is not possible."""
    if runner.data.pad:
        return None
    skeleton = runner.skeleton()
    full = runner.sim.build(config, base=skeleton)
    if _has_subgraph(full.graph.node):
        return None
    alone = runner.sim.build(ModelConfig(default=config.default, layers=config.layers), base=skeleton)
    quantized = [x for x in layers if not config.for_layer(x.id).is_float]
    groups, missed = simulated_groups(skeleton, alone, quantized)
    buckets: list[list] = [[n] for n in skeleton.graph.node] + [[]]
    full_names = _add_full(buckets, full, skeleton)
    own = _own_initializers(alone, full, skeleton)  # a name both builds made for different values
    local_names = _add_local(buckets, groups, {x.id: x.position for x in quantized}, own)
    pairs = {("propagated", x.id): (x.position, x.outputs[0], full_names[x.outputs[0]]) for x in layers}
    pairs |= {("local", x.id): (x.position, x.outputs[0], local_names[x.id]) for x in quantized if x.id in groups}
    outputs = _add_reductions(buckets, pairs)
    model = _assemble(skeleton, buckets, [full, _renamed_initializers(alone, own)], list(outputs))
    sess = runner.session(model)
    totals = dict.fromkeys(outputs, 0.0)
    splittable = _dynamic_batch_inputs(skeleton)
    for feed in runner.data.feeds:
        for part in chunks(feed, splittable, CHUNK):
            for name, value in zip(outputs, run_session(sess, list(outputs), part), strict=True):
                totals[name] += float(value)
    runner.passes += 1  # one pass of the data through all three models
    out = ErrorSums(missed=missed)
    for (kind, layer_id), names in outputs_by_pair(outputs).items():
        getattr(out, kind)[layer_id] = {s: totals[n] for s, n in names.items()}
    return out


def chunks(feed: dict, splittable: set, size: int):
    """The feed in parts of `size` samples along axis 0 when every input with a batch axis may
    take any batch size (`splittable`); else the feed as it is. Sums add up over parts.

    >>> import numpy as np
    >>> [p["x"].shape[0] for p in chunks({"x": np.zeros((10, 3))}, {"x"}, 4)]
    [4, 4, 2]
    >>> [p["x"].shape[0] for p in chunks({"x": np.zeros((10, 3))}, set(), 4)]    # a fixed batch
    [10]
    """
    batched = {k: v for k, v in feed.items() if np.ndim(v) > 0}
    rows = {len(v) for v in batched.values()}
    if not batched or len(rows) != 1 or not set(batched) <= splittable:
        yield feed
        return
    n = rows.pop()
    for i in range(0, n, size):
        yield {k: (v[i : i + size] if k in batched else v) for k, v in feed.items()}


def _dynamic_batch_inputs(proto: onnx.ModelProto) -> set:
    """Graph inputs whose first dim is not a fixed number."""
    out = set()
    for v in proto.graph.input:
        dims = v.type.tensor_type.shape.dim
        if dims and not dims[0].HasField("dim_value"):
            out.add(v.name)
    return out


def all_finite(sums: dict) -> bool:
    return all(math.isfinite(v) for v in sums.values())


def _has_subgraph(nodes) -> bool:
    return any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for n in nodes for a in n.attribute)


def _renamed(node: onnx.NodeProto, rename: dict, suffix: str) -> onnx.NodeProto:
    copy = onnx.NodeProto()
    copy.CopyFrom(node)
    copy.name = f"{node.name or node.op_type}{suffix}"
    copy.input[:] = [rename.get(x, x) for x in node.input]
    copy.output[:] = [rename.get(x, x) for x in node.output]
    return copy


def _add_full(buckets: list, full: onnx.ModelProto, skeleton: onnx.ModelProto) -> dict:
    """`full`'s nodes, every tensor they make renamed + FULL_SUFFIX, each in the bucket of the
    original node it is (or is inserted before); {original name: its name in the copy}.

    # NOTE: placed beside the float node they mirror, never after the whole float model: onnxruntime
    # runs nodes in about this order, and a float output waiting for its reduction at the end
    # would keep every layer output alive (measured 11.7 GB for a ResNet-50 on 32 images).
    """
    index = {o: i for i, n in enumerate(skeleton.graph.node) for o in n.output if o}
    rename = {o: o + FULL_SUFFIX for n in full.graph.node for o in n.output if o}
    pending: list = []
    for k, n in enumerate(full.graph.node):
        pending.append(_renamed(n, rename, f"{FULL_SUFFIX}{k}"))
        at = next((index[o] for o in n.output if o in index), None)
        if at is not None:
            buckets[at].extend(pending)
            pending = []
    buckets[-1].extend(pending)
    return rename


def _own_initializers(alone: onnx.ModelProto, full: onnx.ModelProto, skeleton: onnx.ModelProto) -> dict:
    """{name: a new name} for the initializers `alone` added that `full` also has, with other values
    (both builds name what they add after the tensor it serves: a scale shared across a Concat in
    the whole config is not the layer's own); equal ones are shared (one copy of the weights)."""
    base = {t.name for t in skeleton.graph.initializer}
    theirs = {t.name: t for t in full.graph.initializer if t.name not in base}
    return {
        t.name: f"{t.name}{LOCAL_SUFFIX}"
        for t in alone.graph.initializer
        if t.name in theirs and t.SerializeToString() != theirs[t.name].SerializeToString()
    }


def _renamed_initializers(build: onnx.ModelProto, rename: dict) -> onnx.ModelProto:
    """A stand-in for `build` whose initializers carry their new names (only `initializer` is read)."""
    m = onnx.ModelProto()
    for t in build.graph.initializer:
        copy = m.graph.initializer.add()
        copy.CopyFrom(t)
        copy.name = rename.get(t.name, t.name)
    return m


def _add_local(buckets: list, groups: dict, positions: dict, own: dict) -> dict:
    """Each layer's simulated nodes, renamed + LOCAL_SUFFIX + k (the initializers in `own` by it), in
    its node's bucket; {layer id: output}."""
    names = {}
    for k, (layer_id, nodes) in enumerate(groups.items()):
        rename = own | {o: f"{o}{LOCAL_SUFFIX}{k}" for n in nodes for o in n.output if o}
        buckets[positions[layer_id]].extend(_renamed(n, rename, f"{LOCAL_SUFFIX}{k}") for n in nodes)
        names[layer_id] = rename[nodes[-1].output[0]]
    return names


def _assemble(skeleton: onnx.ModelProto, buckets: list, builds: list, outputs: list) -> onnx.ModelProto:
    """The skeleton with the buckets' nodes in order, the initializers they read that it lacks
    (from `builds`), and `outputs` as its graph outputs (besides its own)."""
    m = onnx.ModelProto()
    m.CopyFrom(skeleton)
    del m.graph.node[:]
    m.graph.node.extend(n for bucket in buckets for n in bucket)
    have = {t.name for t in m.graph.initializer}
    reads = {x for n in m.graph.node for x in n.input}
    for b in builds:
        new = [t for t in b.graph.initializer if t.name in reads and t.name not in have]
        m.graph.initializer.extend(new)
        have |= {t.name for t in new}
    m.graph.output.extend(onnx.ValueInfoProto(name=n) for n in outputs)
    return m


def _add_reductions(buckets: list, pairs: dict) -> dict:
    """For each pair (position, x, y), float64 nodes in the bucket of `position` whose outputs are
    the SUMS; {output name: (pair, sum name)}."""
    as64: dict[str, str] = {}
    out: dict[str, tuple] = {}

    def f64(name: str, bucket: list) -> str:
        if name not in as64:
            as64[name] = f"{name}::f64"
            bucket.append(helper.make_node("Cast", [name], [as64[name]], to=TensorProto.DOUBLE))
        return as64[name]

    for k, (pair, (at, x, y)) in enumerate(pairs.items()):
        bucket = buckets[at]
        a, b, p = f64(x, bucket), f64(y, bucket), f"::qviz_sum{k}"
        bucket.extend(
            [
                helper.make_node("Sub", [a, b], [f"d{p}"]),
                helper.make_node("Mul", [a, b], [f"xy{p}"]),
                helper.make_node("ReduceSumSquare", [a], [f"signal{p}"], keepdims=0),
                helper.make_node("ReduceSumSquare", [f"d{p}"], [f"noise{p}"], keepdims=0),
                helper.make_node("ReduceSum", [f"xy{p}"], [f"dot{p}"], keepdims=0),
                helper.make_node("ReduceSumSquare", [b], [f"other{p}"], keepdims=0),
                helper.make_node("Size", [x], [f"n{p}"]),
            ]
        )
        out |= {f"{s}{p}": (pair, s) for s in SUMS}
    return out


def outputs_by_pair(outputs: dict) -> dict:
    """{pair: {sum name: output name}} from {output name: (pair, sum name)}."""
    by: dict = {}
    for name, (pair, s) in outputs.items():
        by.setdefault(pair, {})[s] = name
    return by


def metrics(sums: dict) -> dict[str, float]:
    """{"mse", "sqnr_db", "cosine_similarity"} from the SUMS of one pair (tensor_error's rules).

    >>> metrics({"signal": 2.0, "noise": 0.01, "dot": 1.9, "other": 1.81, "n": 2})["sqnr_db"]
    23.010299956639813
    """
    n = max(sums["n"], 1)
    return {
        "mse": sums["noise"] / n,
        "sqnr_db": sqnr_from_sums(sums["signal"], sums["noise"]),
        "cosine_similarity": cosine_from_sums(sums["signal"], sums["other"], sums["dot"]),
    }
