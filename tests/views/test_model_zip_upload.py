"""The Model page takes a .zip of a model and its external data files (issue 17): read in a worker,
confined to the model's folder in the zip; the server loads the self-contained bytes it returns."""

from __future__ import annotations

import io
import zipfile

import onnx

from qviz_dev import model_factory as mf
from qviz_dev.app_pages import metric, open_page, upload
from qviz_dev.markdown_oracle import rendered_text


def zip_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def model_zip(tmp_path, location: str = "net.data") -> bytes:
    path = tmp_path / "net.onnx"
    onnx.save_model(mf.conv_net(), path, save_as_external_data=True, location="net.data", size_threshold=0)
    onnx_bytes = path.read_bytes().replace(b"net.data", location.encode())  # same length: the protobuf stays valid
    return zip_of({"net/net.onnx": onnx_bytes, "net/net.data": (tmp_path / "net.data").read_bytes()})


def test_a_zip_with_external_data_becomes_the_model(tmp_path):
    at = upload(open_page("qviz/views/model.py"), "model_upload_onnx", "net.zip", model_zip(tmp_path))
    assert not at.exception and not at.error
    assert at.session_state["model_source"]["kind"] == "upload"
    assert metric(at, "sum_params") == "490"


def test_a_zip_pointing_out_of_its_folder_is_a_short_error(tmp_path):
    at = upload(open_page("qviz/views/model.py"), "model_upload_onnx", "evil.zip", model_zip(tmp_path, "../x.bin"))
    assert not at.exception and len(at.error) == 1 and "leaves the model's folder" in rendered_text(at.error[0].value)
    assert at.session_state["model_source"]["kind"] == "sample"
