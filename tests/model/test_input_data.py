"""read_inputs_npz against hostile .npz files: every one is a short SpecError, never a crash."""

import io
import struct
import zipfile

import numpy as np
import pytest

from qviz.model import TensorInfo
from qviz.model.load.input_data import read_inputs_npz
from qviz.quant import SpecError

INPUTS = (TensorInfo("x", "float32", ("N", 4)),)


def npy_header(shape) -> bytes:
    """A valid .npy 1.0 header for float32 `shape` (no data)."""
    header = repr({"descr": "<f4", "fortran_order": False, "shape": tuple(shape)}).encode("latin1")
    header += b" " * (-(len(header) + 11) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


def zip_bytes(name: str, payload: bytes, method: int = zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        z.writestr(name, payload)
    return buf.getvalue()


def huge_shape() -> bytes:
    return zip_bytes("x.npy", npy_header((10**12, 4)) + bytes(64))


def unsupported_method() -> bytes:
    """A valid stored member, then its method patched to 99 in both headers."""
    data = bytearray(zip_bytes("x.npy", npy_header((2, 4)) + bytes(32)))
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):
        at = data.find(sig)
        offset = 8 if sig == b"PK\x03\x04" else 10
        data[at + offset : at + offset + 2] = struct.pack("<H", 99)
    return bytes(data)


def encrypted_flag() -> bytes:
    """A valid stored member with the 'encrypted' bit set in both headers."""
    data = bytearray(zip_bytes("x.npy", npy_header((2, 4)) + bytes(32)))
    for sig, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(sig)
        flags = struct.unpack("<H", data[at + offset : at + offset + 2])[0] | 0x1
        data[at + offset : at + offset + 2] = struct.pack("<H", flags)
    return bytes(data)


def not_npy() -> bytes:
    return zip_bytes("x.npy", b"just some text, no magic")


@pytest.mark.parametrize(
    "make, message",
    [
        (huge_shape, "declares shape"),
        (unsupported_method, "compression method"),
        (encrypted_flag, "encrypted"),
        (not_npy, "not a readable"),
    ],
    ids=["header-shape-1e12", "compression-99", "encrypted-flag", "no-npy-magic"],
)
def test_hostile_npz_is_a_spec_error(make, message):
    with pytest.raises(SpecError, match=message):
        read_inputs_npz(make(), INPUTS)


def test_crafted_files_are_otherwise_valid():
    """The same members without the hostile part load: the check, not a broken zip, refuses them."""
    good = zip_bytes("x.npy", npy_header((2, 4)) + np.arange(8, dtype="<f4").tobytes())
    assert read_inputs_npz(good, INPUTS).x.shape == (2, 4)


def npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_one_input_model_accepts_x_or_its_input_name():
    by_x = read_inputs_npz(npz(x=np.ones((3, 4), np.float32), y=np.arange(3)), INPUTS)
    assert by_x.rows == 3 and list(by_x.y) == [0, 1, 2]
    named = (TensorInfo("pixels", "float32", ("N", 4)),)
    assert read_inputs_npz(npz(pixels=np.ones((3, 4), np.float32)), named).x.shape == (3, 4)


def test_what_names_the_source_in_messages():
    with pytest.raises(SpecError, match=r"^--calib d\.npz: keys must be x"):
        read_inputs_npz(zip_bytes("z.npy", npy_header((1,)) + bytes(4)), INPUTS, what="--calib d.npz")


def test_integer_inputs_of_any_width_keep_their_type():
    """A uint8 image input takes integer data as uint8 and refuses floats (was: AttributeError, found by mypy)."""
    pixels = (TensorInfo("x", "uint8", ("N", 4)),)
    assert read_inputs_npz(npz(x=np.arange(8).reshape(2, 4)), pixels).x.dtype == np.uint8
    with pytest.raises(SpecError, match="must hold uint8 values"):
        read_inputs_npz(npz(x=np.ones((2, 4), np.float32)), pixels)
