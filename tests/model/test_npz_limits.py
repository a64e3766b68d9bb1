"""The server's limits on an accepted .npz: decoded bytes and rows are checked from the .npy
headers before any array is decoded (issue 12, item 3: a 245 KB file of zeros declared 240 MiB)."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from qviz.evaluate.data import from_npz
from qviz.model import TensorInfo, load_model
from qviz.model.load import input_data
from qviz.model.load.input_data import NpzLimits, read_inputs_npz
from qviz.quant import SpecError
from qviz_dev import model_factory as mf

DYNAMIC = (TensorInfo("x", "float32", ("N", 16)),)
FIXED_BATCH_1 = (TensorInfo("x", "float32", (1, 4)),)


def inflating_npz(rows: int, cols: int = 16) -> bytes:
    """An .npz of float32 zeros [rows, cols], deflated and written in chunks: 3.9 M rows are
    about 250 KB on the wire and 240 MiB decoded, and the test never holds the 240 MiB."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z, z.open("x.npy", "w", force_zip64=True) as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (rows, cols)})
        chunk = bytes(2**20)
        left = rows * cols * 4
        while left:
            f.write(chunk[: min(left, len(chunk))])
            left -= min(left, len(chunk))
    return buf.getvalue()


def npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


@pytest.fixture
def no_decoding(monkeypatch):
    """Any np.load in the reader fails the test: a refused file must be refused unread."""

    def refuse(*a, **k):
        raise AssertionError("the .npz was decoded before its limits were checked")

    monkeypatch.setattr(input_data.np, "load", refuse)


def test_inflating_npz_is_refused_from_its_headers(no_decoding):
    data = inflating_npz(3_900_000)
    assert len(data) < 400_000  # what the attacker uploads
    with pytest.raises(SpecError, match=r"3,900,000 rows; the server takes at most 5,000 \(QVIZ_MAX_ROWS\)"):
        read_inputs_npz(data, DYNAMIC)


def test_many_rows_for_a_fixed_batch_model_are_refused(no_decoding):
    """A batch-1 model fed 200k rows ran 200k sessions per Tune: the rows count, not the batch."""
    with pytest.raises(SpecError, match="200,000 rows"):
        read_inputs_npz(inflating_npz(200_000, 4), FIXED_BATCH_1)


def test_decoded_bytes_are_capped_in_the_fed_dtype(no_decoding):
    """uint8 pixels fed to a float32 input take 4 bytes each once decoded."""
    inputs = (TensorInfo("x", "float32", ("N", 2**20)),)
    pixels = npz(x=np.zeros((20, 2**20), np.uint8))  # 20 MiB stored, 80 MiB fed
    with pytest.raises(SpecError, match=r"80 MiB once decoded; the server takes at most 64 MiB \(QVIZ_MAX_NPZ_MB\)"):
        read_inputs_npz(pixels, inputs)


def test_labels_count_as_rows(no_decoding):
    data = npz(x=np.zeros((3, 16), np.float32), y=np.zeros(6000, np.int64))
    with pytest.raises(SpecError, match="6,000 rows"):
        read_inputs_npz(data, DYNAMIC)


def test_limits_are_configurable(monkeypatch):
    monkeypatch.setenv("QVIZ_MAX_ROWS", "10")
    assert read_inputs_npz(npz(x=np.ones((10, 16), np.float32)), DYNAMIC).rows == 10
    with pytest.raises(SpecError, match=r"11 rows; the server takes at most 10"):
        read_inputs_npz(npz(x=np.ones((11, 16), np.float32)), DYNAMIC)
    monkeypatch.setenv("QVIZ_MAX_ROWS", "ten")
    with pytest.raises(SpecError, match="QVIZ_MAX_ROWS must be a whole number"):
        read_inputs_npz(npz(x=np.ones((2, 16), np.float32)), DYNAMIC)


def test_explicit_limits_win_over_the_environment():
    small = NpzLimits(decoded_bytes=2**20, rows=100)
    with pytest.raises(SpecError, match="101 rows"):
        read_inputs_npz(npz(x=np.ones((101, 16), np.float32)), DYNAMIC, limits=small)


def test_from_npz_on_the_command_line_has_the_same_limits(tmp_path, monkeypatch):
    path = tmp_path / "data.npz"
    path.write_bytes(inflating_npz(3_900_000))
    model = load_model(mf.to_bytes(mf.mlp()))
    with pytest.raises(SpecError, match=f"{path}: 3,900,000 rows"):
        from_npz(path, model)
