"""Images as model inputs: the preprocessing (values checked against a numpy re-computation from the
Pillow-resized image), labels from class folders, zips, hostile files, and the CLI end to end."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image

from qviz.evaluate.data import from_file
from qviz.model import load_model
from qviz.model.load import images as images_mod
from qviz.model.load.data_files import read_data_path
from qviz.model.load.images import read_image_folder, read_image_zip, shorter_side
from qviz.model.load.loader import TensorInfo
from qviz.model.load.preprocess import Preprocess, resolve_preprocess
from qviz.quant import SpecError
from qviz_dev import model_factory as mf
from qviz_dev.cli_helpers import assert_one_error_line, run_cli
from qviz_dev.data_factory import color_folder, color_model, encoded, noise, png_bomb, save, zip_folder, zip_of

NCHW = TensorInfo("x", "float32", ("N", 3, 16, 16))
NHWC = TensorInfo("x", "float32", ("N", 16, 16, 3))


def image_folder(root: Path) -> list[Path]:
    """Three class folders holding PNG, JPEG and WebP images of different sizes and aspect ratios."""
    specs = [("cat", "a.png", 40, 30), ("cat", "b.jpg", 23, 50), ("dog", "c.webp", 33, 33), ("eel", "d.png", 17, 64)]
    return [save(noise(w, h, i), root / folder / name) for i, (folder, name, w, h) in enumerate(specs)]


def expected(path: Path, p: Preprocess) -> np.ndarray:
    """The preprocessing redone by hand: Pillow decode + resize, numpy crop box, float32 normalization."""
    im = Image.open(path).convert("L" if p.channels == "L" else "RGB")
    h, w = p.size
    if p.resize is None:
        a = np.asarray(im.resize((w, h), Image.Resampling.BILINEAR), np.float32)
    else:
        iw, ih = im.size
        nw, nh = (p.resize, int(p.resize * ih / iw)) if iw <= ih else (int(p.resize * iw / ih), p.resize)
        big = np.asarray(im.resize((nw, nh), Image.Resampling.BILINEAR), np.float32)
        top, left = round((nh - h) / 2), round((nw - w) / 2)
        a = big[top : top + h, left : left + w]
    a = a.reshape(h, w, -1)
    if p.channels == "BGR":
        a = a[:, :, ::-1]
    a = (a * np.float32(p.scale) - np.array(p.mean, np.float32)) / np.array(p.std, np.float32)
    return a.transpose(2, 0, 1) if p.layout == "NCHW" else a


PREPROCESS = {
    "imagenet-nchw": (NCHW, "imagenet"),
    "unit-nhwc-bgr": (NHWC, '{"preset": "unit", "channels": "BGR"}'),
    "stretch-symmetric": (NCHW, '{"preset": "symmetric", "resize": null}'),
    "custom": (NCHW, '{"resize": 21, "scale": 0.5, "mean": "1, 2, 3", "std": [4, 5, 6], "resample": "bilinear"}'),
    "gray": (TensorInfo("x", "float32", ("N", 1, 16, 16)), "unit"),
}


@pytest.mark.parametrize("case", PREPROCESS, ids=list(PREPROCESS))
def test_tensor_values_equal_a_numpy_recomputation(tmp_path, case):
    info, spec = PREPROCESS[case]
    paths = image_folder(tmp_path)
    images = read_image_folder(tmp_path, info, spec)
    p = images.preprocess
    assert images.data.x.dtype == np.float32 and images.data.x.shape == (4, *p.row_shape())
    for i, path in enumerate(sorted(paths)):
        np.testing.assert_array_equal(images.data.x[i], expected(path, p))


def test_presets_and_inference():
    p = resolve_preprocess("imagenet", TensorInfo("x", "float32", ("N", 3, 224, 224)))
    assert (p.size, p.resize, p.layout, p.channels, p.scale) == ((224, 224), 256, "NCHW", "RGB", 1 / 255)
    assert (p.mean, p.std) == ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    p = resolve_preprocess(None, TensorInfo("x", "float32", (1, 320, 320, 3)))
    assert (p.layout, p.size, p.resize) == ("NHWC", (320, 320), 366)
    assert resolve_preprocess("unit", NCHW).to_dict() | {"scale": 0} == {
        "size": [16, 16],
        "resize": 16,
        "layout": "NCHW",
        "channels": "RGB",
        "scale": 0,
        "mean": [0.0] * 3,
        "std": [1.0] * 3,
        "resample": "bilinear",
    }
    sym = resolve_preprocess("symmetric", NCHW)
    assert (0 * sym.scale - sym.mean[0]) / sym.std[0] == -1 and (255 * sym.scale - sym.mean[0]) / sym.std[0] == 1
    assert resolve_preprocess(None, TensorInfo("x", "uint8", ("N", 3, 8, 8))).scale == 1.0  # raw for uint8 inputs
    assert resolve_preprocess(None, TensorInfo("x", "float32", ("N", "c", "h", "w"))).size == (224, 224)
    p = resolve_preprocess('{"size": [32, 48], "preset": "unit"}', NCHW)
    assert Preprocess.from_json(p.to_json()) == p and (p.size, p.resize) == ((32, 48), 48)
    assert shorter_side((40, 30), 20) == (26, 20) and shorter_side((23, 50), 16) == (16, 34)


@pytest.mark.parametrize(
    "spec, message",
    [
        ("nope", "preset"),
        ("{bad json", "not valid JSON"),
        ("[1, 2]", "or a JSON object"),
        ('{"sise": 3}', "unknown preprocess field"),
        ('{"resize": 8}', "at least the size"),
        ('{"mean": [1, 2]}', "mean must be 1 or 3"),
        ('{"std": 0}', "std must not be 0"),
        ('{"layout": "CHW"}', "layout must be one of"),
        ('{"size": 100000}', "size must be"),
        ('{"scale": "x"}', "scale must be a number"),
    ],
)
def test_bad_preprocessing_is_a_spec_error(spec, message):
    with pytest.raises(SpecError, match=message):
        resolve_preprocess(spec, NCHW)


def test_a_non_image_input_is_refused():
    with pytest.raises(SpecError, match="4-D input"):
        resolve_preprocess(None, TensorInfo("x", "float32", ("N", 4)))
    with pytest.raises(SpecError, match="does not look like images"):
        resolve_preprocess(None, TensorInfo("x", "float32", ("N", 5, 8, 7)))


def test_labels_from_sorted_folders_or_a_class_list(tmp_path):
    image_folder(tmp_path)
    images = read_image_folder(tmp_path, NCHW)
    assert images.data.y.tolist() == [0, 0, 1, 2] and images.classes == ("cat", "dog", "eel")
    images = read_image_folder(tmp_path, NCHW, classes=("eel", "dog", "cat", "fox"))
    assert images.data.y.tolist() == [2, 2, 1, 0] and "cat=2" in images.note()
    with pytest.raises(SpecError, match=r"folder\(s\) \['eel'\] are not in the class list"):
        read_image_folder(tmp_path, NCHW, classes=("cat", "dog"))
    save(noise(8, 8, 0), tmp_path / "top.png")
    with pytest.raises(SpecError, match="both at the top"):
        read_image_folder(tmp_path, NCHW)


def test_flat_folder_has_no_labels_and_junk_is_skipped(tmp_path):
    save(noise(20, 20, 1), tmp_path / "b.png")
    save(noise(20, 20, 2), tmp_path / "A.JPG".lower())
    (tmp_path / "notes.txt").write_text("not an image")
    save(noise(20, 20, 3), tmp_path / ".hidden" / "x.png")
    images = read_image_folder(tmp_path, NCHW)
    assert images.data.y is None and images.data.rows == 2 and "no labels" in images.note()


def test_zip_equals_the_folder_and_unwraps_one_top_folder(tmp_path):
    paths = image_folder(tmp_path / "data")
    files = {f"data/{p.relative_to(tmp_path / 'data').as_posix()}": p.read_bytes() for p in paths}
    files |= {"__MACOSX/data/cat/._a.png": b"junk", "data/.DS_Store": b"junk"}
    from_zip = read_image_zip(zip_of(files), NCHW)
    from_dir = read_image_folder(tmp_path / "data", NCHW)
    np.testing.assert_array_equal(from_zip.data.x, from_dir.data.x)
    assert from_zip.data.y.tolist() == from_dir.data.y.tolist() and from_zip.classes == ("cat", "dog", "eel")


@pytest.mark.security
@pytest.mark.parametrize("w, h", [(100_000, 100_000), (8000, 7000)], ids=["over-pillow-2x", "over-our-cap"])
def test_decompression_bomb_is_refused_from_its_header(w, h):
    with pytest.raises(SpecError, match=r"bomb"):
        read_image_zip(zip_of({"a/bomb.png": png_bomb(w, h)}), NCHW)
    assert Image.MAX_IMAGE_PIXELS != images_mod.MAX_IMAGE_PIXELS  # Pillow's global is restored


@pytest.mark.security
def test_total_pixels_file_sizes_count_and_tensor_are_capped(monkeypatch):
    data = zip_of({f"c{i % 2}/{i}.png": encoded(noise(30, 30, i)) for i in range(3)})
    monkeypatch.setattr(images_mod, "MAX_TOTAL_PIXELS", 2000)
    with pytest.raises(SpecError, match="over the limit for the total"):
        read_image_zip(data, NCHW)
    monkeypatch.undo()
    monkeypatch.setattr(images_mod, "MAX_IMAGES", 2)
    with pytest.raises(SpecError, match="3 images; the limit is 2"):
        read_image_zip(data, NCHW)
    monkeypatch.undo()
    monkeypatch.setattr(images_mod, "MAX_FILE_BYTES", 100)
    with pytest.raises(SpecError, match=r"c0/0\.png is [0-9,]+ bytes; the limit is 100 bytes"):
        read_image_zip(data, NCHW)
    monkeypatch.undo()
    with pytest.raises(SpecError, match="use fewer images"):
        read_image_zip(data, NCHW, max_bytes=2 * 3 * 16 * 16 * 4)
    thin = zip_of({"c/thin.png": encoded(noise(1, 3000, 0))})
    monkeypatch.setattr(images_mod, "MAX_RESIZED_PIXELS", 100_000)
    with pytest.raises(SpecError, match="too thin"):
        read_image_zip(thin, NCHW)


@pytest.mark.security
@pytest.mark.parametrize(
    "files, message",
    [
        ({"a/x.png": b"garbage"}, "not a readable PNG, JPEG or WebP"),
        ({"a/x.png": encoded(noise(8, 8, 0), "BMP")}, "not a readable PNG, JPEG or WebP"),  # other decoders are off
        ({"a/x.png": encoded(noise(8, 8, 0))[:60]}, "not a readable"),  # truncated
        ({"readme.txt": b"hello"}, "no images"),
    ],
    ids=["garbage", "bmp-renamed", "truncated", "no-images"],
)
def test_bad_image_files_are_spec_errors(files, message):
    with pytest.raises(SpecError, match=message):
        read_image_zip(zip_of(files), NCHW)


@pytest.mark.security
def test_bad_zips_are_spec_errors():
    with pytest.raises(SpecError, match=r"not a readable \.zip"):
        read_image_zip(b"PK\x03\x04 not really", NCHW)
    with pytest.raises(SpecError, match="unsupported compression"):
        read_image_zip(zip_of({"a/x.png": encoded(noise(8, 8, 0))}, zipfile.ZIP_BZIP2), NCHW)


def test_shape_mismatch_and_other_inputs_are_refused(tmp_path):
    image_folder(tmp_path)
    with pytest.raises(SpecError, match="set the size, layout or channels"):
        read_image_folder(tmp_path, NCHW, '{"size": 8}')
    with pytest.raises(SpecError, match="images feed a model with one input"):
        read_data_path(tmp_path, load_model(mf.to_bytes(mf.multi_input())).inputs)
    np.savez(tmp_path / "d.npz", x=np.zeros((1, 3, 16, 16), np.float32))
    with pytest.raises(SpecError, match="preprocessing applies to images"):
        read_data_path(tmp_path / "d.npz", (NCHW,), preprocess="unit")
    with pytest.raises(SpecError, match=r"data must be a \.npz, an image folder"):
        read_data_path(tmp_path / "cat" / "a.png", (NCHW,))


def test_uint8_input_gets_raw_pixels(tmp_path):
    paths = image_folder(tmp_path)
    images = read_image_folder(tmp_path, TensorInfo("x", "uint8", ("N", 16, 16, 3)))
    assert images.data.x.dtype == np.uint8 and images.preprocess.scale == 1.0
    p = images.preprocess
    np.testing.assert_array_equal(images.data.x[0], expected(sorted(paths)[0], p).astype(np.uint8))


def test_cli_evaluate_an_image_folder_end_to_end(capsys, tmp_path):
    model = tmp_path / "m.onnx"
    model.write_bytes(color_model())
    color_folder(tmp_path / "imgs")
    argv = ["evaluate", model, "--data", tmp_path / "imgs", "--calib", tmp_path / "imgs", "--preprocess", "imagenet"]
    code, out, err = run_cli(capsys, *argv, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["n"] == 9 and doc["float_accuracy"] == 1.0
    assert "9 images in 3 classes (0_red=0, 1_green=1, 2_blue=2)" in err and '"resize":256' in err
    # the same numbers as onnxruntime on the tensor the reader makes
    x = read_image_folder(tmp_path / "imgs", TensorInfo("x", "float32", ("N", 3, 224, 224)), "imagenet").data.x
    sess = ort.InferenceSession(model.read_bytes(), providers=["CPUExecutionProvider"])
    assert (sess.run(None, {"x": x})[0].argmax(1) == np.repeat([0, 1, 2], 3)).all()
    data = from_file(tmp_path / "imgs", model.read_bytes(), preprocess="imagenet")
    assert data.n == 9 and data.labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]


def test_cli_quantize_calibrates_on_an_image_zip(capsys, tmp_path):
    model = tmp_path / "m.onnx"
    model.write_bytes(color_model(32))
    color_folder(tmp_path / "imgs", n=1)
    zipped = tmp_path / "imgs.zip"
    zipped.write_bytes(zip_folder(tmp_path))
    out_model = tmp_path / "q.onnx"
    code, _, err = run_cli(
        capsys, "quantize", model, "--calib", zipped, "--preprocess", '{"preset": "unit"}', "--out", out_model
    )
    assert code == 0 and out_model.stat().st_size > 0 and "warning" not in err
    assert "3 images in 3 classes" in err and '"mean":[0.0,0.0,0.0]' in err


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--preprocess", '{"size": 8}'], "set the size, layout or channels"),
        (["--preprocess", "fancy"], "preprocess must be a preset"),
        (["--tokenizer", "tok.json"], "--tokenizer applies to text data"),
    ],
    ids=["size-mismatch", "bad-preset", "tokenizer-for-images"],
)
def test_cli_image_errors_are_one_line(capsys, tmp_path, extra, fragment):
    model = tmp_path / "m.onnx"
    model.write_bytes(color_model(32))
    color_folder(tmp_path / "imgs", n=1)
    assert_one_error_line(run_cli(capsys, "evaluate", model, "--data", tmp_path / "imgs", *extra), fragment)


def test_cli_preprocess_without_images_is_an_error(capsys, tmp_path):
    model = tmp_path / "m.onnx"
    model.write_bytes(color_model(32))
    np.savez(tmp_path / "d.npz", x=np.zeros((2, 3, 32, 32), np.float32))
    result = run_cli(capsys, "evaluate", model, "--data", tmp_path / "d.npz", "--preprocess", "unit")
    assert_one_error_line(result, "--preprocess applies to image data")
