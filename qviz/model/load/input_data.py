"""Validate an uploaded .npz of model inputs (and optional labels) against the model's inputs.

    >>> import io
    >>> from qviz.model import load_model
    >>> from qviz.samples import load_sample
    >>> sample = load_sample("digits_cnn")
    >>> buf = io.BytesIO()
    >>> np.savez(buf, x=sample.test.x[:8], y=sample.test.y[:8])           # what a user uploads
    >>> data = read_inputs_npz(buf.getvalue(), load_model(sample.model_bytes).inputs)   # SpecError if anything is off
    >>> data.x.shape, data.y.tolist()    # x: ndarray (one-input model) or {input name: ndarray}; y or None
    ((8, 1, 8, 8), [2, 2, 3, 0, 8, 8, 7, 8])

Rules (every violation is a SpecError naming the key):
- a zip .npz read with allow_pickle=False; the total uncompressed size is checked from the zip
  directory BEFORE anything is decompressed (a zip bomb is refused unread), cap `max_bytes`;
- the server's own limits, checked from the .npy headers BEFORE any array is decoded
  (`NpzLimits.from_env()`: QVIZ_MAX_NPZ_MB, default 64 MiB of decoded arrays, counted in the
  type the model is fed, e.g. uint8 pixels as float32 take 4x; QVIZ_MAX_ROWS, default 5000 rows,
  the image reader's MAX_IMAGES). A 245 KB file of zeros declares 240 MiB: refused unread.
  More rows are REFUSED, not subsampled: a silent subsample would change what accuracy means
  (which rows?) and the message tells the user how to cut the file;
- every member is stored or deflated (no encryption, no other method) and its .npy header is
  read first: prod(shape) * itemsize must fit in the member's uncompressed size, so a header
  declaring a huge shape is refused before numpy allocates it; any other read failure is a
  SpecError too (never a MemoryError / NotImplementedError / RuntimeError);
- keys: "x" for a one-input model (its input name is accepted too), else one key per model
  input name; "y" optional; no others;
- each input array: numeric, the input's rank, every fixed dim of the model equal, >= 1 row
  along its batch axis (qviz.model.load.batches.batch_axes: the first dim, or the dim named like
  the batch); floats become the input's float type (float32 usually); integers stay integers;
- a 0-d (scalar) input, e.g. a sample rate `sr`: one value (0-d, or any array of one element),
  fed unchanged with every batch;
- y: one integer label per row (1-D, same length as the inputs), or per row and position (2-D,
  for sequence outputs).
"""

from __future__ import annotations

import io
import math
import os
import zipfile
from dataclasses import dataclass

import numpy as np

from qviz.model.load.batches import batch_axes
from qviz.quant.spec import SpecError

MAX_BYTES = 256 * 2**20  # the file's own zip directory: total uncompressed size
MAX_KEYS = 64
MAX_NPZ_ENV, DEFAULT_MAX_NPZ_MB = "QVIZ_MAX_NPZ_MB", 64
MAX_ROWS_ENV, DEFAULT_MAX_ROWS = "QVIZ_MAX_ROWS", 5000


@dataclass(frozen=True)
class NpzLimits:
    """What the server decodes of one .npz at most: bytes of arrays (in the fed dtype) and rows.

    >>> NpzLimits.from_env({"QVIZ_MAX_NPZ_MB": "8", "QVIZ_MAX_ROWS": "100"})
    NpzLimits(decoded_bytes=8388608, rows=100)
    """

    decoded_bytes: int = DEFAULT_MAX_NPZ_MB * 2**20
    rows: int = DEFAULT_MAX_ROWS

    @classmethod
    def from_env(cls, environ=None) -> NpzLimits:
        env = os.environ if environ is None else environ
        return cls(
            _env_int(env, MAX_NPZ_ENV, DEFAULT_MAX_NPZ_MB) * 2**20, _env_int(env, MAX_ROWS_ENV, DEFAULT_MAX_ROWS)
        )


def _env_int(env, name: str, default: int) -> int:
    text = env.get(name)
    if text is None:
        return default
    if not text.strip().isdigit() or int(text) < 1:
        raise SpecError(f"{name} must be a whole number (1 or more); got {text[:40]!r}")
    return int(text)


@dataclass(frozen=True, eq=False)
class InputData:
    x: object  # ndarray for one-input models, else {input name: ndarray}
    y: np.ndarray | None
    rows: int


def read_inputs_npz(
    data: bytes, inputs, max_bytes: int = MAX_BYTES, what: str = "inputs file", limits: NpzLimits | None = None
) -> InputData:
    """Read and validate the .npz (module doc). `inputs`: the model's TensorInfo tuple;
    `what` starts every error message (e.g. the file's path); `limits`: None = from the environment."""
    headers = _check_zip(data, max_bytes, what)
    _check_declared(headers, inputs, limits or NpzLimits.from_env(), what)
    arrays = _read_arrays(data, what)
    names = _input_keys(arrays, inputs)
    unknown = sorted(set(arrays) - set(names) - {"y"})
    missing = [n for n in names if n not in arrays]
    if unknown or missing:
        raise SpecError(
            f"{what}: keys must be {', '.join(names)} (and optional y); "
            f"missing {missing or 'none'}, unexpected {unknown or 'none'}"
        )
    axes = batch_axes(inputs)
    xs = {
        name: _check_input(name, arrays[name], info, what, axes.get(info.name))
        for name, info in zip(names, inputs, strict=True)
    }
    rows = {v.shape[axes.get(info.name, 0)] for v, info in zip(xs.values(), inputs, strict=True) if v.ndim}
    if len(rows) > 1:
        raise SpecError(f"{what}: every input needs the same number of rows; got {sorted(rows)}")
    n = rows.pop() if rows else 1
    y = _check_labels(arrays.get("y"), n, what)
    return InputData(x=xs[names[0]] if len(inputs) == 1 else xs, y=y, rows=n)


def _input_keys(arrays: dict, inputs) -> list[str]:
    """["x"] for a one-input model (or its input name when that is the key given), else the names."""
    if len(inputs) != 1:
        return [t.name for t in inputs]
    name = inputs[0].name
    return [name] if "x" not in arrays and name in arrays and name != "y" else ["x"]


def _check_declared(headers: dict, inputs, limits: NpzLimits, what: str) -> None:
    """The server's limits on the shapes the .npy headers declare (module doc), before decoding.

    Rows: the declared length of an input's batch axis (batch_axes; axis 0 for "x" or a key
    the model does not name). Bytes: prod(shape) * max(stored itemsize, fed itemsize).
    """
    axes = batch_axes(inputs)
    types = {info.name: _input_dtype(info.dtype) for info in inputs}
    if len(inputs) == 1:
        axes.setdefault("x", axes.get(inputs[0].name, 0))
        types["x"] = types[inputs[0].name]
    axes["y"] = 0
    total, rows = 0, 0
    for key, (shape, dtype) in headers.items():
        fed = types.get(key, dtype)
        total += math.prod(shape) * max(dtype.itemsize, fed.itemsize)
        axis = axes.get(key, 0)
        if key in axes and len(shape) > axis:
            rows = max(rows, shape[axis])
    if rows > limits.rows:
        raise SpecError(
            f"{what}: {rows:,} rows; the server takes at most {limits.rows:,} ({MAX_ROWS_ENV}): "
            f"upload the first {limits.rows:,}, e.g. np.savez(f, x=x[:{limits.rows}], y=y[:{limits.rows}])"
        )
    if total > limits.decoded_bytes:
        raise SpecError(
            f"{what}: the arrays take {total / 2**20:,.0f} MiB once decoded; the server takes at most "
            f"{limits.decoded_bytes / 2**20:,.0f} MiB ({MAX_NPZ_ENV}): upload fewer rows"
        )


def _read_arrays(data: bytes, what: str) -> dict[str, np.ndarray]:
    """Every array (after _check_zip and _check_declared passed)."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except Exception as e:  # noqa: BLE001 - whatever numpy/zipfile raise on a hostile file
        raise SpecError(f"{what}: cannot read it as .npz ({type(e).__name__})") from None


def _check_zip(data: bytes, max_bytes: int, what: str) -> dict[str, tuple]:
    """The zip directory and every .npy header checked; {key: (declared shape, dtype)}."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
            if len(infos) > MAX_KEYS:
                raise SpecError(f"{what}: {len(infos)} arrays; at most {MAX_KEYS}")
            total = sum(i.file_size for i in infos)
            if total > max_bytes:
                raise SpecError(
                    f"{what}: {total / 2**20:.0f} MiB uncompressed; the limit is {max_bytes / 2**20:.0f} MiB"
                )
            return {_key(info.filename): _check_member(z, info, what) for info in infos}
    except SpecError:
        raise
    except Exception as e:  # noqa: BLE001 - BadZipFile, EOFError, zlib.error, ...
        raise SpecError(f"{what}: not a readable .npz (zip) file ({type(e).__name__})") from None


def _key(filename: str) -> str:
    """The array's key, as np.load names it (the member name without ".npy")."""
    return filename[: -len(".npy")] if filename.endswith(".npy") else filename


def _check_member(z: zipfile.ZipFile, info: zipfile.ZipInfo, what: str) -> tuple:
    """Method and encryption from the directory, then the .npy header (never the data):
    (declared shape, dtype).

    # NOTE: numpy allocates prod(shape) * itemsize from the header before reading any data,
    # so a 100-byte member declaring shape (10**12, 4) is a MemoryError unless checked here.
    """
    if info.flag_bits & 0x1:
        raise SpecError(f"{what}: {info.filename} is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise SpecError(f"{what}: {info.filename} uses an unsupported compression method ({info.compress_type})")
    with z.open(info) as fp:
        version = np.lib.format.read_magic(fp)
        if version not in ((1, 0), (2, 0)):
            raise SpecError(f"{what}: {info.filename} has .npy format version {version}; 1.0 or 2.0 expected")
        reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = reader(fp)
    need = math.prod(shape) * dtype.itemsize
    if need > info.file_size:
        raise SpecError(
            f"{what}: {info.filename} declares shape {shape} of {dtype} ({need:,} bytes) "
            f"but holds {info.file_size:,} bytes"
        )
    return tuple(shape), dtype


def _check_input(name: str, x: np.ndarray, info, what: str, axis: int | None) -> np.ndarray:
    if x.dtype.kind not in "biuf":
        raise SpecError(f"{what}: {name} must be numeric; got dtype {x.dtype}")
    if info.shape == ():  # a scalar input: one value for every batch
        if x.size != 1:
            raise SpecError(f"{what}: {name} is a scalar input: give one value; got shape {x.shape}")
        x = x.reshape(())
    shape = info.shape or ()
    if info.shape is not None and x.ndim != len(shape):
        raise SpecError(f"{what}: {name} must have {len(shape)} dimensions {tuple(shape)}; got shape {x.shape}")
    for i, (want, got) in enumerate(zip(shape, x.shape, strict=False)):
        if isinstance(want, int) and want > 0 and i != axis and want != got:
            raise SpecError(f"{what}: {name} dimension {i} must be {want}; got shape {x.shape}")
    if x.ndim and x.shape[axis or 0] == 0:
        raise SpecError(f"{what}: {name} needs at least one row; got shape {x.shape}")
    target = _input_dtype(info.dtype)
    if x.dtype.kind == "f" and target.kind != "f":
        raise SpecError(f"{what}: {name} must hold {info.dtype} values; got {x.dtype}")
    return np.array(x, dtype=target, order="C")  # (np.ascontiguousarray would make a 0-d array 1-d)


def _input_dtype(name: str) -> np.dtype:
    """The numpy dtype of a model input's declared type; float32 for types numpy has no name for."""
    try:
        dtype = np.dtype(name)
    except TypeError:  # e.g. bfloat16, string
        return np.dtype(np.float32)
    return dtype if dtype.kind in "biuf" else np.dtype(np.float32)


def _check_labels(y, n: int, what: str):
    if y is None:
        return None
    if y.dtype.kind not in "iub" or y.ndim not in (1, 2) or len(y) != n:
        raise SpecError(
            f"{what}: y must be {n} integer labels (1-D, or 2-D with one per position); got dtype {y.dtype}, shape {y.shape}"
        )
    return y.astype(np.int64)


def class_indices(labels: list[str], classes, what: str, kind: str = "label") -> tuple[np.ndarray, tuple[str, ...]]:
    """Class names per row -> (int64 indices, the class names in index order): `classes` when given (a
    name not in it is a SpecError), else the sorted distinct names (ImageFolder's rule)."""
    names = tuple(classes) if classes else tuple(sorted(set(labels)))
    index = {name: i for i, name in enumerate(names)}
    unknown = sorted(set(labels) - set(index))
    if unknown:
        raise SpecError(f"{what}: {kind}(s) {unknown[:5]} are not in the class list {list(names)[:20]}")
    return np.array([index[x] for x in labels], np.int64), names
