"""Every layer's local output in one pass: the float model plus, beside it, a quantized copy of each
layer fed with the float model's own tensors.

    local output of layer i = layer i quantized as the config says (its weights and the
                              quantization of its input), on the float model's input to layer i
                              (layer_error.only_layer: the tensors a config quantizes around other
                              ops, its activation scope "graph", belong to no single layer)

One graph holds the float model and, appended after it, each layer's simulated nodes (the nodes
`Simulator.build` inserted before the layer, and the layer node with its new weights) with their
outputs renamed: they read the float tensors, so each copy is "only layer i quantized", and a
single session computes the float outputs of every layer and every layer's local output at once.
Cost: about one float pass plus one pass of each layer alone (about two float passes), instead of
one suffix of the model per layer (about L/2 passes, 169 s for a 121-layer DenseNet).

    >>> from qviz.config import PRESETS
    >>> from qviz.evaluate import from_sample, make_runner
    >>> from qviz.samples import load_sample
    >>> sample = load_sample("digits_cnn")
    >>> runner = make_runner(sample.model_bytes, from_sample(sample), calib=sample.calibration.x)
    >>> ref, local, missed = local_outputs(runner, PRESETS["w8a8"], runner.layers)
    >>> len(ref), len(local), missed, runner.sessions_built
    (5, 5, [], 1)

Layers it cannot copy this way come back in `missed` (the caller runs them one at a time): a
layer inside an If/Loop body, a node holding two layers (LSTM W and R: quantizing only one of
them is another node), or simulated nodes that read something the float model does not make.
"""

from __future__ import annotations

import onnx

from qviz.config import ModelConfig

LOCAL_SUFFIX = "::qviz_local"


def local_outputs(runner, config: ModelConfig, layers, names=None) -> tuple[dict, dict, list]:
    """({float tensor name: value}, {layer id: its local output}, [layers not copied]): the float
    model's `names` (default: the layers' outputs) and the local outputs of `layers` (Runner
    layers with outputs, quantized by `config`), on the Runner's data (module doc)."""
    skeleton = runner.skeleton()
    # NOTE: the layers' own quantization only (the default activation scope, as only_layer's configs
    # have): a config's graph-wide tensors (Add, Concat... inputs) are not part of any one layer
    built = runner.sim.build(ModelConfig(default=config.default, layers=config.layers), base=skeleton)
    groups, missed = simulated_groups(skeleton, built, layers)
    names = list(dict.fromkeys(names or [x.outputs[0] for x in layers]))
    combined, local_names = combined_model(skeleton, built, groups, names)
    values = runner.run(runner.session(combined), names + list(local_names.values()))
    got = dict(zip(names + list(local_names), values, strict=True))
    return {n: got[n] for n in names}, {i: got[i] for i in local_names}, missed


def simulated_groups(skeleton: onnx.ModelProto, built: onnx.ModelProto, layers) -> tuple[dict, list]:
    """({layer id: [the nodes inserted right before the layer's node, then that node]}, [missed]).

    `built` keeps the skeleton's nodes (same outputs) in order with new nodes inserted before
    some of them: the nodes since the previous original node belong to the next one."""
    original = {o for n in skeleton.graph.node for o in n.output}
    position_count: dict[int, int] = {}
    for x in layers:
        position_count[x.position] = position_count.get(x.position, 0) + (not x.graph_path)
    by_output = {
        skeleton.graph.node[x.position].output[0]: x
        for x in layers
        if not x.graph_path and position_count[x.position] == 1
    }
    groups: dict[str, list] = {}
    pending: list = []
    for node in built.graph.node:
        if not any(o in original for o in node.output):
            pending.append(node)
            continue
        layer = by_output.get(node.output[0])
        group = [*pending, node]
        if layer is not None and _reads_only(group, original, skeleton, built):
            groups[layer.id] = group
        pending = []
    return groups, [x for x in layers if x.id not in groups]


def _reads_only(nodes: list, original: set, skeleton: onnx.ModelProto, built: onnx.ModelProto) -> bool:
    """True when `nodes` read only what they make, the float model's tensors and initializers."""
    made = {o for n in nodes for o in n.output}
    known = original | {v.name for v in skeleton.graph.input}
    known |= {t.name for t in skeleton.graph.initializer} | {t.name for t in built.graph.initializer}
    return all(x in made or x in known for n in nodes for x in n.input if x) and not _has_subgraph(nodes)


def _has_subgraph(nodes: list) -> bool:
    return any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for n in nodes for a in n.attribute)


def combined_model(
    skeleton: onnx.ModelProto, built: onnx.ModelProto, groups: dict, taps: list
) -> tuple[onnx.ModelProto, dict]:
    """The skeleton with each group appended, its outputs renamed (LOCAL_SUFFIX + index), plus
    the initializers the groups read that the skeleton lacks; `taps` and the local outputs as
    graph outputs; {layer id: its local output name}."""
    m = onnx.ModelProto()
    m.CopyFrom(skeleton)
    have = {t.name for t in skeleton.graph.initializer}
    new_inits = {t.name: t for t in built.graph.initializer if t.name not in have}
    local_names: dict[str, str] = {}
    used: set[str] = set()
    for k, (layer_id, nodes) in enumerate(groups.items()):
        rename = {o: f"{o}{LOCAL_SUFFIX}{k}" for n in nodes for o in n.output if o}
        for n in nodes:
            copy = m.graph.node.add()
            copy.CopyFrom(n)
            copy.name = f"{n.name}{LOCAL_SUFFIX}{k}" if n.name else ""
            copy.input[:] = [rename.get(x, x) for x in n.input]
            copy.output[:] = [rename.get(x, x) for x in n.output]
            used |= {x for x in n.input if x in new_inits}
        local_names[layer_id] = rename[nodes[-1].output[0]]
    m.graph.initializer.extend(new_inits[x] for x in sorted(used))
    have_out = {v.name for v in m.graph.output}
    extra = [n for n in dict.fromkeys([*taps, *local_names.values()]) if n not in have_out]
    m.graph.output.extend(onnx.ValueInfoProto(name=n) for n in extra)
    return m, local_names
