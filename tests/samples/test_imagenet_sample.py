"""The pretrained ImageNet sample: onnxruntime reproduces every fp32 reference of its card exactly.

Its labels are the fp32 model's own top-1 classes (no ImageNet labels ship), so the card also
states top-5 overlap and the accuracy on the photos with an obvious, hand-labelled ImageNet class.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from qviz.samples import SAMPLE_DATA_DIR, load_sample

SAMPLE_ID = "imagenet_efficientnet_lite0"


@pytest.fixture(scope="module")
def sample():
    return load_sample(SAMPLE_ID)


@pytest.fixture(scope="module")
def logits(sample) -> np.ndarray:
    sess = ort.InferenceSession(sample.model_bytes, providers=["CPUExecutionProvider"])
    x = sample.test.x
    return np.concatenate([sess.run(None, {"input": x[i : i + 50]})[0] for i in range(0, len(x), 50)])


def hand_labels(card: dict) -> list[set[int]]:
    """Per photo, the accepted class ids ('281 tabby, tabby cat' -> 281); empty when none fits."""
    return [
        {int(s.split()[0]) for s in p["hand_label"]} if isinstance(p["hand_label"], list) else set()
        for p in card["photos"]
    ]


def photo_of_test_row(card: dict) -> np.ndarray:
    """Photos are stored at several scales, photo-major: stored photo k is photo k // scales."""
    with np.load(SAMPLE_DATA_DIR / SAMPLE_ID / "test.npz") as data:
        crop = data["crop"]
    with np.load(SAMPLE_DATA_DIR / SAMPLE_ID / "photos.npz") as photos:
        scales = len(photos.files) // len(card["photos"])
    return crop[:, 0] // scales


def test_labels_are_the_fp32_top1_so_agreement_is_one(sample, logits):
    assert sample.test.x.shape == (200, 3, 224, 224) and sample.card["test_count"] == 200
    assert (logits.argmax(axis=1) == sample.test.y).sum() == sample.card["test_correct"] == 200
    assert sample.card["fp32_test_accuracy"] == 1.0


def test_hand_labelled_accuracy_reproduces_the_card(sample, logits):
    card = sample.card
    accepted = hand_labels(card)
    rows = [r for r, p in enumerate(photo_of_test_row(card)) if accepted[p]]
    photo = photo_of_test_row(card)
    top5 = np.argsort(-logits, axis=1, kind="stable")[:, :5]
    top1_hits = sum(int(logits[r].argmax() in accepted[photo[r]]) for r in rows)
    top5_hits = sum(int(bool(set(top5[r].tolist()) & accepted[photo[r]])) for r in rows)
    check = card["hand_labelled"]
    assert (len(rows), top1_hits, top5_hits) == (check["test_count"], check["top1_correct"], check["top5_correct"])
    assert check["top1_accuracy"] == round(top1_hits / len(rows), 4) >= 0.7


def test_card_names_the_1000_classes_and_the_counted_macs(sample):
    card = sample.card
    assert len(card["class_names"]) == 1000 and card["class_names"][281].startswith("tabby")
    model = onnx.load_model_from_string(sample.model_bytes)
    ops = {n.op_type for n in model.graph.node}
    assert "BatchNormalization" not in ops and "Pad" not in ops  # folded; "same" padding fused into Conv
    assert 3e8 < card["macs_per_image"] < 5e8 and 4e6 < card["parameter_count"] < 5e6


def test_stored_inputs_are_exact_uint8_levels(sample):
    """(u8 - 127) / 128: every decoded value times 128 plus 127 is an integer in 0..255."""
    u8 = sample.calibration.x[:4] * 128 + 127
    assert np.array_equal(u8, np.rint(u8)) and u8.min() >= 0 and u8.max() <= 255
