"""The Model page's data upload through AppTest: an images .zip with the preprocessing card, a text file with
a tokenizer.json, bad files as messages; the decoding runs in a worker, never in the server."""

from __future__ import annotations

import pytest

from qviz.model.load import data_files, images, text_data
from qviz.ui import i18n
from qviz_dev.app_pages import by_label, open_page, texts, upload
from qviz_dev.data_factory import color_folder, color_model, text_model, tokenizer_json, zip_folder, zip_of


@pytest.fixture
def no_decoding_here(monkeypatch):
    """Reading images or text in this (the server's) process fails the test: the worker must do it."""

    def refuse(*args, **kwargs):
        raise AssertionError("decoded in the server process")

    for module, name in [(images, "read_images"), (data_files, "read_image_zip"), (data_files, "read_text")]:
        monkeypatch.setattr(module, name, refuse)
    monkeypatch.setattr(text_data, "read_text", refuse)


def image_page(tmp_path):
    at = upload(open_page("qviz/views/model.py"), "model_upload_onnx", "colors.onnx", color_model(32))
    assert not at.exception and not at.error
    return upload(at, "model_upload_npz", "colors.zip", zip_folder(color_folder(tmp_path / "imgs", n=2)))


def read_caption(at) -> str:
    prefix = i18n.translate("mp_data_read", "en", note="")
    return next(c for c in texts(at, ("caption",)) if c.startswith(prefix))


def test_images_zip_is_read_with_the_inferred_preprocessing(tmp_path, no_decoding_here):
    at = image_page(tmp_path)
    assert not at.exception and not at.error
    assert at.session_state["data_pp_preset"] == "imagenet" and at.session_state["data_pp_resize"] == 37
    data = at.session_state["model_data"]["data"]
    assert data.x.shape == (6, 3, 32, 32) and data.y.tolist() == [0, 0, 1, 1, 2, 2]
    assert i18n.translate("mp_data_npz", "en", rows=6) in texts(at, ("caption",))
    assert "6 images in 3 classes" in read_caption(at).replace("\\", "")


def test_changing_the_preset_reads_the_images_again(tmp_path):
    at = image_page(tmp_path)
    before = at.session_state["model_data"]["sha256"]
    at.selectbox(key="data_pp_preset").set_value("unit").run()
    assert not at.exception and not at.error
    assert at.session_state["data_pp_mean"] == "0, 0, 0" and at.session_state["data_pp_resize"] == 32
    data = at.session_state["model_data"]
    assert data["sha256"] != before and data["data"].x.min() >= 0 and data["data"].x.max() <= 1
    at.text_input(key="data_pp_classes").input("2_blue, 1_green, 0_red").run()
    assert at.session_state["model_data"]["data"].y.tolist() == [2, 2, 1, 1, 0, 0]


def test_impossible_fields_and_bad_zips_are_messages(tmp_path):
    at = image_page(tmp_path)
    at.number_input(key="data_pp_resize").set_value(10).run()  # smaller than the 32 x 32 crop
    assert not at.exception and "at least the size" in at.error[-1].value.replace("\\", "")
    at.number_input(key="data_pp_resize").set_value(0).run()  # 0: stretch
    assert not at.exception and not at.error
    bad = upload(at, "model_upload_npz", "junk.zip", zip_of({"a/x.png": b"not a png"}))
    assert not bad.exception and "not a readable PNG, JPEG or WebP" in bad.error[-1].value.replace("\\", "")


def test_text_file_waits_for_the_tokenizer_then_is_read(no_decoding_here):
    at = upload(open_page("qviz/views/model.py"), "model_upload_onnx", "text.onnx", text_model())
    at = upload(at, "model_upload_npz", "reviews.csv", b"good movie,pos\nbad plot,neg\nthe good,pos\n")
    assert not at.exception and not at.error
    assert i18n.translate("mp_need_tokenizer", "en") in texts(at, ("info",))
    at = upload(at, "model_upload_tokenizer", "tokenizer.json", tokenizer_json())
    assert not at.exception and not at.error
    data = at.session_state["model_data"]["data"]
    assert sorted(data.x) == ["attention_mask", "input_ids", "token_type_ids"] and data.x["input_ids"].shape == (3, 6)
    assert data.y.tolist() == [1, 0, 1] and "classes neg=0, pos=1" in read_caption(at).replace("\\", "")
    bad = upload(at, "model_upload_tokenizer", "tokenizer.json", b"{}")
    assert not bad.exception and "not a tokenizer" in bad.error[-1].value.replace("\\", "")


def test_images_for_a_two_input_model_is_a_message():
    at = upload(open_page("qviz/views/model.py"), "model_upload_onnx", "text.onnx", text_model())
    at = upload(at, "model_upload_npz", "imgs.zip", zip_of({"a/x.png": b"x"}))
    assert not at.exception and "images feed a model with one input" in at.error[-1].value.replace("\\", "")
    assert by_label(at.get("file_uploader"), "mp_upload_npz") is not None


@pytest.mark.security
def test_the_worker_refuses_a_bomb_and_unknown_options():
    """The upload path below the page: read_uploaded_data runs the readers' caps in a worker."""
    from qviz.model import load_model
    from qviz.quant import SpecError
    from qviz.worker import WorkerError, default_pool
    from qviz.worker.uploaded_data import read_uploaded_data
    from qviz_dev.data_factory import encoded, noise, png_bomb

    inputs = load_model(color_model(32)).summary()["inputs"]
    bomb = zip_of({"a/bomb.png": png_bomb(100_000, 100_000)})
    with pytest.raises(SpecError, match="decompression bomb"):
        read_uploaded_data("bomb.zip", bomb, inputs)
    with pytest.raises(WorkerError) as err:
        default_pool().call("read_data_upload", "a.zip", b"", inputs, {"code": "import os"})
    assert err.value.kind == "internal"
    ok = read_uploaded_data(
        "c.zip", zip_of({"a/0.png": encoded(noise(40, 40, 1))}), inputs, preprocess='{"preset": "unit"}'
    )
    assert ok.kind == "images" and ok.data.x.shape == (1, 3, 32, 32) and ok.data.y is None
