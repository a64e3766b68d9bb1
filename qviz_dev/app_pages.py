"""Helpers for the AppTest page tests (Model, Layer, Export): open a page, read what it shows."""

from __future__ import annotations

import json

from onnx import TensorProto, helper
from streamlit.testing.v1 import AppTest

from qviz.ui import i18n
from qviz_dev import REPO

APP = str(REPO / "app.py")
MAX_FIGURE_BYTES = 2 * 2**20


def open_page(page: str, lang: str = "en", state: dict | None = None, query: dict | None = None) -> AppTest:
    """The app with `state` seeded, switched to `page` (e.g. "qviz/views/model.py") and run."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["lang"] = lang
    for key, value in (state or {}).items():
        at.session_state[key] = value
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    at.switch_page(page)
    return at.run()


def labels(key: str) -> set[str]:
    return {i18n.translate(key, lang) for lang in i18n.LANGUAGES}


def metric(at: AppTest, key: str) -> str:
    return next(m.value for m in at.metric if m.label in labels(key))


def by_label(elements, key: str):
    return next(e for e in elements if e.label in labels(key))


def texts(
    at: AppTest, kinds=("title", "caption", "markdown", "info", "subheader", "error", "warning", "text")
) -> list[str]:
    return [str(e.value) for kind in kinds for e in at.get(kind)]


def figure_sizes(at: AppTest) -> list[int]:
    return [len(chart.proto.spec) for chart in at.get("plotly_chart")]


def figure(at: AppTest, index: int) -> dict:
    return json.loads(at.get("plotly_chart")[index].proto.spec)


def tiny_model(node_name: str = "fc", domain: str = "") -> bytes:
    """x[N, 4] -> Gemm(W[3, 4], transB) -> y; optionally a node from another domain."""
    w = helper.make_tensor("W", TensorProto.FLOAT, [3, 4], [0.1 * i - 0.5 for i in range(12)])
    node = helper.make_node("Gemm", ["x", "W"], ["y"], name=node_name, transB=1, domain=domain)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
        [w],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)
    return model.SerializeToString()


def upload(at: AppTest, key: str, name: str, data: bytes) -> AppTest:
    at.file_uploader(key=key).upload(name, data, "application/octet-stream")
    return at.run()
