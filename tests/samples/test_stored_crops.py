"""Photo samples stored as uint8 photos + crop tables decode to exactly the float32 the model saw."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qviz.quant import SpecError
from qviz.samples import load_sample
from qviz.samples.stored_crops import decode_crops

PHOTO = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)


def test_decode_is_crop_flip_then_mean_std_in_nchw():
    x = decode_crops([PHOTO], np.array([[0, 1, 2, 0], [0, 1, 2, 1]]), size=2, mean=127.0, std=128.0)
    patch = PHOTO[1:3, 2:4].astype(np.float32)
    assert x.dtype == np.float32 and x.shape == (2, 3, 2, 2)
    np.testing.assert_array_equal(x[0], (patch.transpose(2, 0, 1) - 127) / 128)
    np.testing.assert_array_equal(x[1], x[0][:, :, ::-1])


@pytest.mark.parametrize(
    "row", [[1, 0, 0, 0], [0, 3, 0, 0], [0, 0, 4, 0], [0, -1, 0, 0]], ids=["photo", "bottom", "right", "negative"]
)
def test_a_crop_outside_the_photos_is_a_spec_error(row):
    with pytest.raises(SpecError, match="crop row 0"):
        decode_crops([PHOTO], np.array([row]), size=2, mean=0.0, std=1.0)


def write_crop_sample(root, encoding="uint8_crops"):
    """A one-sample folder in the photo layout (index.json, card, photos.npz, two crop splits)."""
    (root / "index.json").write_text(json.dumps({"samples": ["photo_toy"]}))
    folder = root / "photo_toy"
    folder.mkdir()
    (folder / "model.onnx").write_bytes(b"")
    card = {
        "id": "photo_toy",
        "title": "toy",
        "stored_input": {"encoding": encoding, "photos": "photos.npz", "size": 2, "mean": 127.0, "std": 128.0},
    }
    (folder / "card.json").write_text(json.dumps(card))
    np.savez(folder / "photos.npz", photo_000=PHOTO)
    for split in ("calibration", "test"):
        np.savez(folder / f"{split}.npz", crop=np.array([[0, 0, 0, 1]], np.int32), y=np.array([7]))


def test_load_sample_decodes_a_crop_sample_read_only(tmp_path):
    write_crop_sample(tmp_path)
    sample = load_sample("photo_toy", root=tmp_path)
    expected = (PHOTO[:2, :2][:, ::-1].transpose(2, 0, 1).astype(np.float32) - 127) / 128
    np.testing.assert_array_equal(sample.test.x[0], expected)
    assert sample.test.y.tolist() == [7] and sample.calibration.x.dtype == np.float32
    with pytest.raises(ValueError):
        sample.test.x[0] += 1


def test_an_unknown_storage_encoding_is_a_spec_error(tmp_path):
    write_crop_sample(tmp_path, encoding="jpeg")
    with pytest.raises(SpecError, match="uint8_crops"):
        load_sample("photo_toy", root=tmp_path)
