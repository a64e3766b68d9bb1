"""External tensor data of a local .onnx: resolved by qviz itself, confined to the model's folder.

    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np, onnx
    >>> from onnx import TensorProto, helper, numpy_helper
    >>> w = numpy_helper.from_array(np.ones((64, 64), np.float32), "w")
    >>> graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
    ...     [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 64])],
    ...     [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 64])], [w])
    >>> model = helper.make_model(graph, ir_version=10, opset_imports=[helper.make_opsetid("", 21)])
    >>> folder = Path(tempfile.mkdtemp())
    >>> onnx.save_model(model, folder / "net.onnx", save_as_external_data=True, location="net.data")
    >>> data = (folder / "net.onnx").read_bytes()
    >>> len(data) < 1000, len(with_external_data(data, folder, max_bytes=2**20)) > 16384   # weights now inline
    (True, True)

Only for a model loaded from a path (qviz.model.load.loader.read_source): bytes (uploads) keep
refusing every external reference (safety.check_no_external_data), because onnx and
onnxruntime resolve locations against the working directory. Here every `location` is resolved
by qviz, never by onnx, and each failure is a ModelError naming the tensor:
  - the location is relative and stays inside the folder: no absolute path (POSIX or Windows),
    no `..` part, no NUL byte;
  - the file, symlinks followed, is inside the folder (a symlink pointing out is refused), is a
    regular file (no FIFO or device) and has one name (st_nlink == 1: a hardlink may be a second
    name of any file on the same disk, so it is refused: copy the file instead);
  - offset and length are non-negative integers, the length is the tensor's declared size
    (dims x dtype; default that size), and offset + length fits in the file — checked on the
    opened file's fstat before reading;
  - memory: the .onnx plus the DECLARED size of every external tensor must fit `max_bytes` (and
    protobuf's 2 GiB), checked before any data file is opened.
The bytes returned are the model with every tensor inline: what load_model checks and hashes.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath, PureWindowsPath

from onnx import ModelProto, TensorProto

from qviz.model import safety
from qviz.model.safety import ModelError

# NOTE: the wire bytes of an external_data entry {key: "location"} (field 1, length 8): a model
# without them has no location to resolve, so it is returned unparsed (no second parse).
LOCATION_TAG = b"\n\x08location"
PROTOBUF_LIMIT = 2**31 - 1
KEYS = ("location", "offset", "length", "checksum")


def with_external_data(data: bytes, folder, max_bytes: int) -> bytes:
    """`data` with every external tensor read from `folder` (rules in the module doc): a path,
    or any object with `read(where, location, offset, length) -> bytes` (model_zip.ZipFiles)."""
    if LOCATION_TAG not in data:
        return data
    model = safety.parse_model(data)
    safety.check_attribute_types(model)  # a type-confused attribute is refused before any file is read
    refs = [(where, t) for where, t in safety.iter_tensors(model) if _is_external(t)]
    if not refs:
        return data
    _check_budget(refs, len(data), max_bytes)
    files = FolderFiles(folder) if isinstance(folder, (str, Path)) else folder
    for where, t in refs:
        _read_into(where, t, files)
    return _serialized(model)


class FolderFiles:
    """The files under one folder, as external data may name them (module doc)."""

    def __init__(self, folder) -> None:
        self.root = Path(os.path.realpath(folder))

    def read(self, where: str, location: str, offset: int, length: int) -> bytes:
        return _read_range(where, location, _confined(where, location, self.root), offset, length)


def _is_external(t: TensorProto) -> bool:
    return t.data_location == TensorProto.EXTERNAL or len(t.external_data) > 0


def _check_budget(refs: list, model_bytes: int, max_bytes: int) -> None:
    """Declared sizes only: nothing is opened before the total is known to fit."""
    total = model_bytes
    for where, t in refs:
        if any(d < 0 for d in t.dims) or t.data_type in (TensorProto.UNDEFINED, TensorProto.STRING):
            raise ModelError(f"{where}: external data needs non-negative dims and a numeric type")
        total += safety.tensor_nbytes(t)
    limit = min(max_bytes, PROTOBUF_LIMIT)
    if total > limit:
        raise ModelError(
            f"model with its external data is {total / 2**20:.1f} MiB; the limit is {limit / 2**20:.0f} MiB"
            + (" (raise it with --max-model-mb or QVIZ_MAX_MODEL_MB)" if limit < PROTOBUF_LIMIT else "")
        )


def _entries(where: str, t: TensorProto) -> dict[str, str]:
    info = {e.key: e.value for e in t.external_data}
    unknown = sorted(set(info) - set(KEYS))
    if unknown:
        raise ModelError(f"{where}: unknown external data key(s) {unknown}")
    if not info.get("location"):
        raise ModelError(f"{where} refers to external data without a location")
    return info


def _integer(where: str, info: dict, key: str, default: int) -> int:
    text = info.get(key)
    if text is None:
        return default
    if not text.isdigit():
        raise ModelError(f"{where}: external data {key} must be a non-negative integer; got {text[:40]!r}")
    return int(text)


def check_location(where: str, location: str) -> None:
    """A relative location that names no parent: no absolute path (POSIX or Windows), no `..`, no NUL."""
    said = f"{where} refers to external data {location[:200]!r}"
    windows = PureWindowsPath(location)
    if "\0" in location or PurePosixPath(location).is_absolute() or windows.is_absolute() or windows.drive:
        raise ModelError(f"{said}: an absolute path; it must be a file next to the model")
    if ".." in PurePosixPath(location).parts or ".." in windows.parts:
        raise ModelError(f"{said}: '..' leaves the model's folder")


def _confined(where: str, location: str, root: Path) -> Path:
    """The real path of `location` inside `root`, or a ModelError."""
    check_location(where, location)
    said = f"{where} refers to external data {location[:200]!r}"
    real = Path(os.path.realpath(root / location))
    if not real.is_relative_to(root):
        raise ModelError(f"{said}: it resolves outside the model's folder (a symlink pointing out)")
    return real


def _read_into(where: str, t: TensorProto, files) -> None:
    info = _entries(where, t)
    offset = _integer(where, info, "offset", 0)
    length = _integer(where, info, "length", safety.tensor_nbytes(t))
    if length != safety.tensor_nbytes(t):
        raise ModelError(
            f"{where}: external data length {length} but dims {list(t.dims)} need {safety.tensor_nbytes(t)}"
        )
    t.raw_data = files.read(where, info["location"], offset, length)
    t.data_location = TensorProto.DEFAULT
    del t.external_data[:]


def _read_range(where: str, location: str, path: Path, offset: int, length: int) -> bytes:
    said = f"{where} refers to external data {location[:200]!r}"
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise ModelError(f"{said}: cannot open it ({e.strerror or e})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ModelError(f"{said}: not a regular file")
        if st.st_nlink > 1:
            raise ModelError(f"{said}: a file with {st.st_nlink} hard links (copy it to a file of its own)")
        if offset + length > st.st_size:
            raise ModelError(f"{said}: bytes {offset}..{offset + length} are past its end ({st.st_size} bytes)")
        chunks, done = [], 0
        while done < length:
            chunk = os.pread(fd, length - done, offset + done)
            if not chunk:
                raise ModelError(f"{said}: the file ended while reading")
            chunks.append(chunk)
            done += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _serialized(model: ModelProto) -> bytes:
    try:
        return model.SerializeToString()
    except ValueError:  # protobuf refuses messages over 2 GiB
        raise ModelError("the model with its external data is over protobuf's 2 GiB limit") from None
