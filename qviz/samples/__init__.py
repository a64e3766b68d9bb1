"""The sample models and their evaluation data, shipped in this folder (numpy + json only).

Each sample is a folder `qviz/samples/<id>/` holding `model.onnx`, `card.json` (the model card)
and two splits, `calibration.npz` and `test.npz`, whose `x` is float32 exactly as the model
consumes it and whose `y` is the int64 class label. A photo sample whose card has
`stored_input` (qviz.samples.stored_crops) stores uint8 photos once and each split as a table of
crops instead of `x`; the loader decodes them, so callers always get float32 `x`. `qviz/samples/index.json` lists the ids in
display order. `scripts/make_samples.py` rebuilds everything (see docs/samples.md).

    >>> sample = load_sample(DEFAULT_SAMPLE)
    >>> sample.test.x.shape, sample.card["fp32_test_accuracy"]
    ((360, 1, 32, 32), 0.9889)

# NOTE: no scikit-learn or torch here: the app must start without them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qviz.quant.spec import SpecError
from qviz.samples.stored_crops import ENCODING, decode_crops, load_photos

SAMPLE_DATA_DIR = Path(__file__).resolve().parent
# The MobileNet shows the headline lesson (per-tensor int8 fails, per-channel saves it), is
# big enough to time, and still loads in a few milliseconds.
DEFAULT_SAMPLE = "digits_mobilenet"


@dataclass(frozen=True)
class SampleInfo:
    """One entry of the sample list: stable id, display title and the full model card."""

    id: str
    title: str
    card: dict


@dataclass(frozen=True)
class Split:
    """Labeled data: x float32 as the model consumes it, y int64 class ids (read-only arrays)."""

    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class Sample:
    """A loaded sample: ONNX bytes (for onnx.load_model_from_string / InferenceSession), card, splits."""

    id: str
    model_bytes: bytes
    card: dict
    calibration: Split
    test: Split


def sample_ids(root: Path = SAMPLE_DATA_DIR) -> list[str]:
    """Sample ids in display order, from index.json."""
    index = json.loads((root / "index.json").read_text(encoding="utf-8"))
    return list(index["samples"])


def _folder(sample_id: str, root: Path) -> Path:
    valid = sample_ids(root)
    if sample_id not in valid:
        raise SpecError(f"sample_id must be one of {', '.join(valid)}; got {sample_id!r}")
    return root / sample_id


def load_card(sample_id: str, root: Path = SAMPLE_DATA_DIR) -> dict:
    """The model card (a fresh dict on every call, so callers may modify it)."""
    return json.loads((_folder(sample_id, root) / "card.json").read_text(encoding="utf-8"))


def list_samples(root: Path = SAMPLE_DATA_DIR) -> list[SampleInfo]:
    """Every shipped sample with its card, in display order."""
    cards = [load_card(sample_id, root) for sample_id in sample_ids(root)]
    return [SampleInfo(card["id"], card["title"], card) for card in cards]


def load_split(path: Path) -> Split:
    """Read one .npz split; the arrays are made read-only.

    # NOTE: loaded samples end up in caches shared by every app user: an in-place edit
    # (x /= 2) by one page must fail loudly instead of corrupting the data for everybody.
    """
    with np.load(path, allow_pickle=False) as data:
        x, y = data["x"], data["y"]
    x.flags.writeable = False
    y.flags.writeable = False
    return Split(x=x, y=y)


def load_crop_split(path: Path, photos: list[np.ndarray], stored: dict) -> Split:
    """Read one split stored as crops of uint8 photos (`crop`, `y`) and decode its float32 x."""
    if stored.get("encoding") != ENCODING:
        raise SpecError(f"stored_input encoding must be {ENCODING!r}; got {stored.get('encoding')!r}")
    with np.load(path, allow_pickle=False) as data:
        crop, y = data["crop"], data["y"]
    x = decode_crops(photos, crop, int(stored["size"]), float(stored["mean"]), float(stored["std"]))
    x.flags.writeable = False
    y.flags.writeable = False
    return Split(x=x, y=y)


def load_sample(sample_id: str, root: Path = SAMPLE_DATA_DIR) -> Sample:
    """Model bytes, card and both splits of one sample; SpecError names the valid ids."""
    folder = _folder(sample_id, root)
    card = load_card(sample_id, root)
    stored = card.get("stored_input")
    if stored is None:
        calibration, test = load_split(folder / "calibration.npz"), load_split(folder / "test.npz")
    else:
        photos = load_photos(folder / stored["photos"])
        calibration = load_crop_split(folder / "calibration.npz", photos, stored)
        test = load_crop_split(folder / "test.npz", photos, stored)
    return Sample(
        id=sample_id,
        model_bytes=(folder / "model.onnx").read_bytes(),
        card=card,
        calibration=calibration,
        test=test,
    )
