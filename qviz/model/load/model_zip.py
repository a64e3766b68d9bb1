"""A model uploaded as a .zip: one .onnx plus the external data files it names, read in memory.

    >>> import io, tempfile, zipfile
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
    >>> buf = io.BytesIO()
    >>> with zipfile.ZipFile(buf, "w") as z:
    ...     z.write(folder / "net.onnx", "net/net.onnx"); z.write(folder / "net.data", "net/net.data")
    >>> is_zip(buf.getvalue()), len(model_from_zip(buf.getvalue(), max_bytes=2**20)) > 16384   # weights inline
    (True, True)

The worker (qviz.worker.tasks.load_upload) calls this on upload bytes that start like a zip:
nothing is extracted to disk, and the server never opens the zip (it loads the self-contained
bytes the worker returns). Rules, each a ModelError:
  - the zip directory first, before anything is decompressed: at most MAX_MEMBERS members,
    stored or deflated, none encrypted, their total uncompressed size within `max_bytes`;
  - exactly one member ends in .onnx; its folder inside the zip is the model's folder;
  - every external location passes external_data.check_location (relative, no `..`) and names
    a member in that folder that is a plain file (a symlink member is refused); offset + length
    must fit in the member's size; zipfile checks each member's CRC and size as it reads;
  - then external_data's other rules: declared sizes within `max_bytes` before any reading,
    lengths equal to the tensors' sizes.
"""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import PurePosixPath

from qviz.model.load.external_data import check_location, with_external_data
from qviz.model.safety import ModelError

ZIP_MAGIC = b"PK\x03\x04"
MAX_MEMBERS = 4096


def is_zip(data: bytes) -> bool:
    """Do the bytes start like a zip file (a model .onnx never does: protobuf field tags differ)?"""
    return data[:4] == ZIP_MAGIC


def model_from_zip(data: bytes, max_bytes: int) -> bytes:
    """The one .onnx in the zip `data` with its external data inline (module doc)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            members = _checked_directory(z, max_bytes)
            models = [name for name in members if name.lower().endswith(".onnx")]
            if len(models) != 1:
                raise ModelError(f"a model .zip holds exactly one .onnx file; this one holds {len(models)}")
            folder = PurePosixPath(models[0]).parent
            return with_external_data(z.read(members[models[0]]), ZipFiles(z, folder, members), max_bytes)
    except ModelError:
        raise
    except Exception as e:  # noqa: BLE001 - BadZipFile, zlib.error, EOFError, CRC mismatches, ...
        raise ModelError(f"not a readable .zip file ({type(e).__name__})") from None


def _checked_directory(z: zipfile.ZipFile, max_bytes: int) -> dict[str, zipfile.ZipInfo]:
    infos = [i for i in z.infolist() if not i.is_dir()]
    if len(infos) > MAX_MEMBERS:
        raise ModelError(f"the .zip holds {len(infos)} files; at most {MAX_MEMBERS}")
    total = sum(i.file_size for i in infos)
    if total > max_bytes:
        raise ModelError(f"the .zip unpacks to {total / 2**20:.1f} MiB; the limit is {max_bytes / 2**20:.0f} MiB")
    for i in infos:
        if i.flag_bits & 0x1:
            raise ModelError(f"{i.filename[:200]!r} in the .zip is encrypted")
        if i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ModelError(f"{i.filename[:200]!r} in the .zip uses an unsupported compression method")
    return {i.filename: i for i in infos}


class ZipFiles:
    """The members of a zip under `folder`, as external data may name them (module doc)."""

    def __init__(self, z: zipfile.ZipFile, folder: PurePosixPath, members: dict[str, zipfile.ZipInfo]) -> None:
        self.z, self.folder, self.members = z, folder, members
        self._last: tuple[str, bytes] = ("", b"")  # the member read last (tensors usually share one file)

    def read(self, where: str, location: str, offset: int, length: int) -> bytes:
        check_location(where, location)
        said = f"{where} refers to external data {location[:200]!r}"
        name = str(self.folder / PurePosixPath(location))
        info = self.members.get(name)
        if info is None:
            raise ModelError(f"{said}: no such file next to the model in the .zip")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ModelError(f"{said}: a symlink in the .zip")
        if offset + length > info.file_size:
            raise ModelError(f"{said}: bytes {offset}..{offset + length} are past its end ({info.file_size} bytes)")
        if self._last[0] != name:
            self._last = (name, self.z.read(info))
        return self._last[1][offset : offset + length]
