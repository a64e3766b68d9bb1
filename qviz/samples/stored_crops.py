"""Photo samples stored compactly: uint8 photos once, each input a crop of one of them.

A 224x224 RGB input as float32 is 602 kB; 200 of them would be 120 MB. The photo samples
instead ship `photos.npz` (each photo uint8 [H, W, 3], already resized to a few scales) and, per
split, a table `crop` of int32 rows (photo, top, left, flip). The float32 input is

    x = (photo[top:top+size, left:left+size, :] (mirrored left-right if flip) - mean) / std

in NCHW order. The card's `stored_input` names the file and the constants, e.g.
{"encoding": "uint8_crops", "photos": "photos.npz", "size": 224, "mean": 127.0, "std": 128.0}.

# NOTE: the arithmetic is float32 throughout ((u8 - mean) / std with std = 128 is exact), so
# every machine decodes the same bits and the card's fp32 references reproduce exactly.

    >>> photo = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    >>> x = decode_crops([photo], np.array([[0, 0, 1, 1]]), size=2, mean=0.0, std=1.0)
    >>> x.shape, x[0, 0].tolist()  # channel 0 of the 2x2 crop at column 1, mirrored
    ((1, 3, 2, 2), [[6.0, 3.0], [15.0, 12.0]])
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qviz.quant.spec import SpecError

ENCODING = "uint8_crops"


def decode_crops(photos: Sequence[np.ndarray], crop: np.ndarray, size: int, mean: float, std: float) -> np.ndarray:
    """float32 [N, 3, size, size] inputs from uint8 photos and a (photo, top, left, flip) table."""
    x = np.empty((len(crop), 3, size, size), dtype=np.float32)
    for row, (photo, top, left, flip) in enumerate(np.asarray(crop, dtype=np.int64).tolist()):
        if not 0 <= photo < len(photos):
            raise SpecError(f"crop row {row}: photo {photo} is not one of the {len(photos)} stored photos")
        patch = photos[photo][top : top + size, left : left + size]
        if patch.shape != (size, size, 3) or top < 0 or left < 0:
            raise SpecError(f"crop row {row}: ({top}, {left}) +{size} lies outside photo {photo}")
        if flip:
            patch = patch[:, ::-1]
        x[row] = patch.transpose(2, 0, 1)
    x -= np.float32(mean)
    x /= np.float32(std)
    return x


def load_photos(path: Path) -> list[np.ndarray]:
    """The photos of photos.npz in the order of their keys photo_000, photo_001, ..."""
    with np.load(path, allow_pickle=False) as data:
        return [data[key] for key in sorted(data.files)]
