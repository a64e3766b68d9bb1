"""The Export page's HTML report (issue 15 item 12): accuracy, size, trade-offs, readable headers, rounded numbers."""

import re

from qviz.config import PRESETS
from qviz.ui import i18n
from qviz_dev.app_pages import by_label
from tests.views.test_export import download, export_page, media  # noqa: F401 - media is a fixture


def test_report_has_accuracy_size_and_readable_columns(media):  # noqa: F811 - the fixture
    at = export_page(PRESETS["w8a8"])
    by_label(at.button, "exp_build_report").click().run()
    text = download(at, media, "export_dl_report").decode()
    tables = text[text.index("<table") :]  # the summary and the tables (plotly.js comes before them)
    assert i18n.translate("rep_accuracy") in tables and "%" in tables
    assert i18n.translate("rep_weight_size") in tables and "bits/weight" in tables
    assert i18n.translate("col_weight_sqnr_db") in tables and i18n.translate("col_op_type") in tables
    assert "<th>op_type</th>" not in tables and "<th>weight_sqnr_db</th>" not in tables
    tables = tables[: tables.index("config.json")]
    assert not re.search(r">-?\d+\.\d{5,}<", tables)  # no 6-decimal floats in a cell


def test_report_lists_the_evaluated_configs(media):  # noqa: F811 - the fixture
    import hashlib

    from qviz.evaluate import evaluate, from_sample
    from qviz.evaluate.tuning import history_entry
    from qviz.samples import load_sample
    from qviz.ui.scoring import HISTORY_KEY
    from qviz_dev.app_pages import open_page

    sample = load_sample("digits_cnn")
    ev = evaluate(sample.model_bytes, PRESETS["w4g32"], from_sample(sample), calib=sample.calibration.x)
    scope = f"{hashlib.sha256(sample.model_bytes).hexdigest()}/sample:digits_cnn"
    at = open_page(
        "qviz/views/export.py",
        state={
            "model_source": {"kind": "sample", "id": "digits_cnn"},
            "model_config": PRESETS["w8a8"].to_json(),
            HISTORY_KEY: [history_entry(scope, "my w4 try", ev)],
        },
    )
    by_label(at.button, "exp_build_report").click().run()
    text = download(at, media, "export_dl_report").decode()
    assert i18n.translate("rep_tradeoffs") in text and "my w4 try" in text
    assert i18n.translate("rep_col_bpw") in text and "<th>bits_per_weight</th>" not in text
