"""External tensor data (issue 17): a local .onnx loads the data files beside it, confined to its
folder; the size cap counts them before reading; bytes (uploads) keep refusing every reference."""

from __future__ import annotations

import io
import os
import stat
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from qviz.config import PRESETS
from qviz.evaluate.evaluation import evaluate
from qviz.model import ModelError, load_model
from qviz.model.load.loader import max_model_bytes
from qviz.model.load.model_zip import model_from_zip
from qviz_dev import model_factory as mf


def save_external(model: onnx.ModelProto, folder: Path, name: str = "net.onnx", **kwargs) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    model = onnx.ModelProto.FromString(model.SerializeToString())  # onnx.save_model changes the model it saves
    onnx.save_model(model, path, save_as_external_data=True, location="net.data", size_threshold=0, **kwargs)
    return path


def one_external(folder: Path, location: str, *, offset: int = 0, length: int | None = None, dims=(4,)) -> Path:
    """A model whose weight 'w' (float32 `dims`) points at `location`: x[N, 4] * w -> y."""
    w = numpy_helper.from_array(np.ones(dims, np.float32), "w")
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    w.external_data.add(key="location", value=location)
    w.external_data.add(key="offset", value=str(offset))
    w.external_data.add(key="length", value=str(length if length is not None else 4 * int(np.prod(dims))))
    model = mf.make_model(
        [helper.make_node("Mul", ["x", "w"], ["y"])], [mf.vinfo("x", ["N", 4])], [mf.vinfo("y", ["N", 4])], [w]
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "m.onnx"
    path.write_bytes(model.SerializeToString())
    return path


def weights_file(path: Path, n: int = 4) -> Path:
    path.write_bytes(np.arange(n, dtype=np.float32).tobytes())
    return path


def test_saved_with_external_data_loads_from_its_folder(tmp_path):
    model = mf.conv_net()
    path = save_external(model, tmp_path / "m")
    assert (tmp_path / "m" / "net.data").stat().st_size > 1000 and path.stat().st_size < 2000
    loaded = load_model(path)
    inline = load_model(mf.to_bytes(model))
    assert loaded.param_count == inline.param_count
    for name in inline.weights:
        np.testing.assert_array_equal(loaded.weights[name], inline.weights[name])
    assert "location" not in str(loaded.model.graph.initializer[0].external_data)
    assert load_model(loaded.model_bytes).sha256 == loaded.sha256  # the bytes are self-contained
    ev = evaluate(loaded, PRESETS["w8a8"])
    assert ev.fidelity == evaluate(inline, PRESETS["w8a8"]).fidelity


def test_constant_attributes_in_external_data_load_too(tmp_path):
    value = numpy_helper.from_array(mf.rand((4, 4), 3), "c")
    nodes = [helper.make_node("Constant", [], ["w"], value=value), helper.make_node("MatMul", ["x", "w"], ["y"])]
    model = mf.make_model(nodes, [mf.vinfo("x", ["N", 4])], [mf.vinfo("y", ["N", 4])])
    path = save_external(model, tmp_path, convert_attribute=True)
    stored = onnx.load_model(path, load_external_data=False).graph.node[0].attribute[0].t
    assert stored.data_location == TensorProto.EXTERNAL
    x = mf.rand((2, 4), 4)
    loaded = load_model(path)
    got = loaded.executor.session(loaded.model_bytes).run(None, {"x": x})[0]
    np.testing.assert_allclose(got, x @ numpy_helper.to_array(value), rtol=1e-6)


def test_bytes_still_refuse_external_references(tmp_path):
    path = save_external(mf.conv_net(), tmp_path)
    with pytest.raises(ModelError, match="external tensor data is not allowed"):
        load_model(path.read_bytes())


def test_a_file_next_to_the_model_in_a_subfolder_is_fine(tmp_path):
    weights_file((tmp_path / "weights").mkdir() or tmp_path / "weights" / "w.bin")
    loaded = load_model(one_external(tmp_path, "weights/w.bin"))
    np.testing.assert_array_equal(loaded.weights["w"], [0, 1, 2, 3])


def test_a_symlink_that_stays_inside_is_fine(tmp_path):
    weights_file(tmp_path / "real.bin")
    (tmp_path / "link.bin").symlink_to(tmp_path / "real.bin")
    np.testing.assert_array_equal(load_model(one_external(tmp_path, "link.bin")).weights["w"], [0, 1, 2, 3])


def test_offset_and_length_select_the_bytes(tmp_path):
    weights_file(tmp_path / "w.bin", n=10)
    loaded = load_model(one_external(tmp_path, "w.bin", offset=8))
    np.testing.assert_array_equal(loaded.weights["w"], [2, 3, 4, 5])


@pytest.fixture
def outside(tmp_path) -> Path:
    """A file next to (not inside) the model's folder tmp_path/m."""
    return weights_file(tmp_path / "secret.bin")


@pytest.mark.parametrize(
    "location, message",
    [
        ("../secret.bin", "'..' leaves the model's folder"),
        ("sub/../../secret.bin", "'..' leaves the model's folder"),
        ("..\\secret.bin", "'..' leaves the model's folder"),
        ("/etc/passwd", "an absolute path"),
        ("C:\\Windows\\win.ini", "an absolute path"),
        ("\\\\server\\share\\x", "an absolute path"),
        ("nothing.bin", "cannot open it"),
        ("", "without a location"),
    ],
    ids=["dotdot", "dotdot-inside", "dotdot-windows", "absolute", "drive", "unc", "missing", "empty"],
)
def test_hostile_locations_are_refused(tmp_path, outside, location, message):
    with pytest.raises(ModelError, match=message):
        load_model(one_external(tmp_path / "m", location))


def test_a_symlink_pointing_out_is_refused(tmp_path, outside):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "w.bin").symlink_to(outside)
    with pytest.raises(ModelError, match="resolves outside the model's folder"):
        load_model(one_external(tmp_path / "m", "w.bin"))


def test_a_symlinked_folder_pointing_out_is_refused(tmp_path, outside):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "sub").symlink_to(tmp_path)
    with pytest.raises(ModelError, match="resolves outside the model's folder"):
        load_model(one_external(tmp_path / "m", "sub/secret.bin"))


def test_a_hardlink_is_refused(tmp_path, outside):
    (tmp_path / "m").mkdir()
    os.link(outside, tmp_path / "m" / "w.bin")
    with pytest.raises(ModelError, match="2 hard links"):
        load_model(one_external(tmp_path / "m", "w.bin"))


def test_a_fifo_is_refused_without_blocking(tmp_path):
    (tmp_path / "m").mkdir()
    os.mkfifo(tmp_path / "m" / "w.bin")
    with pytest.raises(ModelError, match="not a regular file"):
        load_model(one_external(tmp_path / "m", "w.bin"))


@pytest.mark.parametrize(
    "offset, length, message",
    [
        (12, None, r"bytes 12\.\.28 are past its end \(16 bytes\)"),
        (2**62, None, "past its end"),
        (0, 8, "length 8 but dims"),
    ],
    ids=["offset-past-end", "huge-offset", "short-length"],
)
def test_offsets_and_lengths_are_checked_against_the_file(tmp_path, offset, length, message):
    weights_file(tmp_path / "w.bin")
    with pytest.raises(ModelError, match=message):
        load_model(one_external(tmp_path, "w.bin", offset=offset, length=length))


def test_the_size_cap_counts_declared_sizes_before_reading(tmp_path):
    weights_file(tmp_path / "w.bin")  # 16 bytes on disk; the tensor declares 2**28 floats (1 GiB)
    path = one_external(tmp_path, "w.bin", dims=(2**28,))
    with pytest.raises(ModelError, match=r"with its external data is 1024\.0 MiB; the limit is 200 MiB"):
        load_model(path)


def test_the_size_cap_is_configurable(tmp_path, monkeypatch):
    path = save_external(mf.gemm_stack(2, 512), tmp_path)  # ~2 MiB of weights in net.data
    with pytest.raises(ModelError, match="the limit is 1 MiB"):
        load_model(path, max_bytes=2**20)
    monkeypatch.setenv("QVIZ_MAX_MODEL_MB", "1")
    assert max_model_bytes() == 2**20
    with pytest.raises(ModelError, match="the limit is 1 MiB"):
        load_model(path)
    monkeypatch.setenv("QVIZ_MAX_MODEL_MB", "3")
    assert load_model(path).param_count > 500_000


@pytest.mark.parametrize("value", ["0", "-1", "2.5", "lots"])
def test_a_bad_cap_setting_is_a_clear_error(monkeypatch, value):
    monkeypatch.setenv("QVIZ_MAX_MODEL_MB", value)
    with pytest.raises(ModelError, match="QVIZ_MAX_MODEL_MB must be a whole number of MiB"):
        load_model(mf.to_bytes(mf.mlp()))


# ---- a .zip of a model and its data files (what the app's worker reads: qviz.model.load.model_zip) ----


def zip_of(files: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            z.writestr(info, target)
    return buf.getvalue()


def model_and_data(tmp_path) -> dict[str, bytes]:
    path = save_external(mf.conv_net(), tmp_path / "src")
    return {"net.onnx": path.read_bytes(), "net.data": (tmp_path / "src" / "net.data").read_bytes()}


def test_a_zip_of_model_and_data_loads_in_memory(tmp_path):
    files = model_and_data(tmp_path)
    data = model_from_zip(zip_of({f"model/{k}": v for k, v in files.items()}), max_bytes=2**20)
    loaded, inline = load_model(data), load_model(mf.to_bytes(mf.conv_net()))
    for name in inline.weights:
        np.testing.assert_array_equal(loaded.weights[name], inline.weights[name])


def one_external_bytes(location: str, offset: int = 0) -> bytes:
    folder = Path(tempfile.mkdtemp())
    return one_external(folder, location, offset=offset).read_bytes()


@pytest.mark.parametrize(
    "files, symlinks, message",
    [
        ({"a.onnx": b"", "b.onnx": b""}, None, "exactly one .onnx file; this one holds 2"),
        ({"w.bin": b""}, None, "exactly one .onnx file; this one holds 0"),
        ({"m/m.onnx": one_external_bytes("../w.bin"), "w.bin": bytes(16)}, None, "'..' leaves the model's folder"),
        ({"m.onnx": one_external_bytes("/w.bin"), "w.bin": bytes(16)}, None, "an absolute path"),
        ({"m.onnx": one_external_bytes("other.bin"), "w.bin": bytes(16)}, None, "no such file next to the model"),
        ({"m/m.onnx": one_external_bytes("w.bin"), "w.bin": bytes(16)}, None, "no such file next to the model"),
        ({"m.onnx": one_external_bytes("w.bin", offset=8), "w.bin": bytes(16)}, None, "past its end"),
        ({"m.onnx": one_external_bytes("w.bin")}, {"w.bin": "/etc/passwd"}, "a symlink in the .zip"),
    ],
    ids=["two-models", "no-model", "dotdot", "absolute", "missing", "outside-its-folder", "past-end", "symlink"],
)
def test_hostile_zips_are_refused(files, symlinks, message):
    with pytest.raises(ModelError, match=message):
        model_from_zip(zip_of(files, symlinks), max_bytes=2**20)


def test_a_zip_bomb_is_refused_from_its_directory():
    bomb = zip_of({"m.onnx": mf.to_bytes(mf.mlp()), "zeros.bin": bytes(4 * 2**20)})
    assert len(bomb) < 64 * 2**10
    with pytest.raises(ModelError, match=r"unpacks to 4\.0 MiB; the limit is 1 MiB"):
        model_from_zip(bomb, max_bytes=2**20)


def test_an_encrypted_or_broken_zip_is_refused():
    data = bytearray(zip_of({"m.onnx": mf.to_bytes(mf.mlp())}))
    for sig, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # set the "encrypted" flag bit in both headers
        data[data.find(sig) + at] |= 1
    with pytest.raises(ModelError, match="is encrypted"):
        model_from_zip(bytes(data), max_bytes=2**20)
    with pytest.raises(ModelError, match=r"not a readable \.zip"):
        model_from_zip(b"PK\x03\x04" + bytes(100), max_bytes=2**20)
