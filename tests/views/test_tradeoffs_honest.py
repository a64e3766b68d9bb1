"""Trade-offs (issue 15 item 7): the drawn front is the front of what is plotted, quality in percent,
"not measured" instead of None, what each latency timed, named configs, an fp32 baseline point, MiB."""

import pytest

from qviz.config import PRESETS
from qviz.evaluate import evaluate, tuning
from qviz.evaluate.pareto import pareto_mask
from qviz.ui import i18n
from qviz_dev.app_pages import figure, open_page, texts

NAMES = ["w8a8", "w4g32", "w8"]


def scope(mlp) -> str:
    return f"{mlp.model.sha256}/sample:digits_mlp"


@pytest.fixture(scope="module")
def history(digits_mlp) -> list:
    """w8a8, w4g32, w8 evaluated (no fp32: the page adds its baseline)."""
    out: list = []
    for name in NAMES:
        ev = evaluate(digits_mlp.model, PRESETS[name], digits_mlp.test_data, calib=digits_mlp.calib)
        out = tuning.add_to_history(out, tuning.history_entry(scope(digits_mlp), name, ev))
    return out


def page(history, lang="en", **extra):
    state = {
        "model_source": {"kind": "sample", "id": "digits_mlp"},
        "model_config": PRESETS["w8a8"].to_json(),
        "tune_history": [dict(h) for h in history],
        **extra,
    }
    at = open_page("qviz/views/tradeoffs.py", lang, state)
    assert not at.exception and not at.error and "[[" not in "\n".join(texts(at))
    return at


def rows(at) -> list[dict]:
    return at.dataframe[0].value.to_dict("records")


def test_an_fp32_baseline_point_is_added(history):
    at = page(history)
    labels = [h["label"] for h in at.session_state["tune_history"]]
    assert len(labels) == len(NAMES) + 1
    fp32 = [h for h in at.session_state["tune_history"] if h["config"] == PRESETS["fp32"].to_json()]
    assert len(fp32) == 1 and fp32[0]["label"] == i18n.translate("to_baseline", "en")


def test_accuracy_is_in_percent_and_latency_not_measured_is_said(history):
    at = page(history)
    points = figure(at, 0)["data"][0]
    df = tuning.history_frame(at.session_state["tune_history"], scope_of(at))
    assert decode(points["y"]) == pytest.approx((df["accuracy"] * 100).tolist())
    assert "%" in figure(at, 0)["layout"]["yaxis"]["title"]["text"]
    table = rows(at)
    acc_col = next(c for c in table[0] if c.startswith("accuracy"))
    assert table[0][acc_col] == pytest.approx(df["accuracy"][0] * 100, abs=0.005)  # shown to 2 decimals
    lat_col = i18n.translate("to_latency", "en")
    assert {r[lat_col] for r in table} == {i18n.translate("to_not_measured", "en")}
    assert "None" not in str(table)


def scope_of(at) -> str:
    return at.session_state["tune_history"][0]["model"]


def decode(values):
    """A plotly array as a list (plotly 7 stores numeric arrays base64-encoded)."""
    import base64

    import numpy as np

    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return list(values)


def test_the_drawn_front_is_the_front_of_the_plotted_axes(history):
    timed = [dict(h) for h in history]
    # w4g32 is the smallest; make w8 (bigger than w4g32, same-ish accuracy) the fastest by far:
    for h, ms in zip(timed, [5.0, 40.0, 1.0], strict=True):
        h.update(latency_ms=ms, latency_model="deployed" if ms < 10 else "simulated")
    at = page(timed)
    df = tuning.history_frame(at.session_state["tune_history"], scope_of(at))
    plotted = pareto_mask(df.drop(columns="latency_ms"), "accuracy")  # accuracy and size only
    data = figure(at, 0)["data"]
    line = next(d for d in data if d.get("mode") == "lines")
    on_line = sorted(decode(line["x"]))
    sizes = df["weight_bytes"] / 1024
    assert on_line == pytest.approx(sorted(sizes[plotted].tolist()))
    with_latency = pareto_mask(df, "accuracy")
    faster = data[-1]  # points on the front only once latency counts: their own trace
    assert len(decode(faster["x"])) == int((with_latency & ~plotted).sum()) > 0


def test_each_latency_says_what_was_timed(history):
    timed = [dict(h) for h in history]
    for h, kind in zip(timed, ["deployed", "simulated", "deployed"], strict=True):
        h.update(latency_ms=6.5, latency_model=kind)
    at = page(timed)
    col = i18n.translate("to_latency_of", "en")
    kinds = {r[col] for r in rows(at) if r[i18n.translate("to_label", "en")] == "w4g32"}
    assert kinds == {i18n.translate("to_timed_simulated", "en")}
    assert any(i18n.translate("to_latency_note", "en")[:40] in s for s in texts(at))


def test_a_config_can_be_named(history):
    at = page(history)
    at.text_input(key="trade_name").set_value("my small one").run()
    at.button(key="trade_name_btn").click().run()
    assert "my small one" in [r[i18n.translate("to_label", "en")] for r in rows(at)]
    assert any("my small one" in t for t in figure(at, 0)["data"][0]["hovertext"])


def test_sizes_above_a_mib_are_in_mib(history):
    big = [dict(h, weight_bytes=h["weight_bytes"] * 200) for h in history]  # 10 MB-ish weights
    at = page(big)
    assert "MiB" in figure(at, 0)["layout"]["xaxis"]["title"]["text"]
    assert any("MiB" in c for c in rows(at)[0])


def test_measured_latency_says_integer_kernels_or_float_fallback(history):
    at = page(history)
    at.button(key="trade_measure").click().run()
    assert not at.exception and not at.error
    label, col = i18n.translate("to_label", "en"), i18n.translate("to_latency_of", "en")
    kinds = {r[label]: r[col] for r in rows(at)}
    assert kinds["w8a8"] == i18n.translate("to_timed_deployed_integer", "en")
    assert kinds["w4g32"] == i18n.translate("to_timed_deployed_float", "en")  # weight-only: DequantizeLinear
    assert kinds[i18n.translate("to_baseline", "en")] == i18n.translate("to_timed_float", "en")
