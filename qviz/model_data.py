"""Validate an uploaded .npz of model inputs (and optional labels) against the model's inputs.

    >>> data = read_inputs_npz(npz_bytes, loaded.inputs)      # SpecError if anything is off
    >>> data.x            # ndarray (one-input model) or {input name: ndarray}; data.y or None

Rules (every violation is a SpecError naming the key):
- a zip .npz read with allow_pickle=False; the total uncompressed size is checked from the zip
  directory BEFORE anything is decompressed (a zip bomb is refused unread), cap MAX_BYTES;
- keys: "x" for a one-input model, else one key per model input name; "y" optional; no others;
- each input array: numeric, the input's rank, every fixed dim of the model equal, >= 1 row;
  floats become the input's float type (float32 usually); integer inputs keep integers;
- y: one integer label per row (1-D, same length as the inputs).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

import numpy as np

from .quant.spec import SpecError

MAX_BYTES = 256 * 2**20
MAX_KEYS = 64


@dataclass(frozen=True, eq=False)
class InputData:
    x: object            # ndarray for one-input models, else {input name: ndarray}
    y: np.ndarray | None
    rows: int


def read_inputs_npz(data: bytes, inputs, max_bytes: int = MAX_BYTES) -> InputData:
    """Read and validate the .npz (module doc). `inputs`: the model's TensorInfo tuple."""
    _check_zip(data, max_bytes)
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
        raise SpecError(f"inputs file: cannot read it as .npz ({type(e).__name__})") from None
    names = ["x"] if len(inputs) == 1 else [t.name for t in inputs]
    unknown = sorted(set(arrays) - set(names) - {"y"})
    missing = [n for n in names if n not in arrays]
    if unknown or missing:
        raise SpecError(f"inputs file: keys must be {', '.join(names)} (and optional y); "
                        f"missing {missing or 'none'}, unexpected {unknown or 'none'}")
    xs = {name: _check_input(name, arrays[name], info) for name, info in zip(names, inputs)}
    rows = {len(v) for v in xs.values()}
    if len(rows) != 1:
        raise SpecError(f"inputs file: every input needs the same number of rows; got {sorted(rows)}")
    n = rows.pop()
    y = _check_labels(arrays.get("y"), n)
    return InputData(x=xs["x"] if names == ["x"] else xs, y=y, rows=n)


def _check_zip(data: bytes, max_bytes: int) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise SpecError("inputs file: not a .npz (zip) file") from None
    if len(infos) > MAX_KEYS:
        raise SpecError(f"inputs file: {len(infos)} arrays; at most {MAX_KEYS}")
    total = sum(i.file_size for i in infos)
    if total > max_bytes:
        raise SpecError(f"inputs file: {total / 2**20:.0f} MiB uncompressed; the limit is {max_bytes / 2**20:.0f} MiB")


def _check_input(name: str, x: np.ndarray, info) -> np.ndarray:
    if x.dtype.kind not in "biuf":
        raise SpecError(f"inputs file: {name} must be numeric; got dtype {x.dtype}")
    shape = info.shape or ()
    if info.shape is not None and x.ndim != len(shape):
        raise SpecError(f"inputs file: {name} must have {len(shape)} dimensions {tuple(shape)}; got shape {x.shape}")
    for i, (want, got) in enumerate(zip(shape, x.shape)):
        if isinstance(want, int) and want > 0 and i > 0 and want != got:
            raise SpecError(f"inputs file: {name} dimension {i} must be {want}; got shape {x.shape}")
    if x.ndim == 0 or len(x) == 0:
        raise SpecError(f"inputs file: {name} needs at least one row; got shape {x.shape}")
    target = np.dtype(info.dtype) if info.dtype in ("float32", "float16", "float64", "int64", "int32") else np.float32
    if x.dtype.kind == "f" and target.kind != "f":
        raise SpecError(f"inputs file: {name} must hold {info.dtype} values; got {x.dtype}")
    return np.ascontiguousarray(x.astype(target))


def _check_labels(y, n: int):
    if y is None:
        return None
    if y.dtype.kind not in "iub" or y.ndim != 1 or len(y) != n:
        raise SpecError(f"inputs file: y must be {n} integer labels (1-D); got dtype {y.dtype}, shape {y.shape}")
    return y.astype(np.int64)
