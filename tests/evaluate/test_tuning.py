"""qviz.evaluate.tuning: table <-> config, bulk edits, name patterns, history, Pareto mask, diffs (no streamlit)."""

import numpy as np
import pandas as pd
import pytest

from qviz.evaluate import tuning
from qviz.config import LayerConfig, PRESETS
from qviz.model import layer_table, load_model
from qviz.quant import SpecError
from qviz.samples import load_sample

LAYERS = layer_table(load_model(load_sample("digits_mobilenet").model_bytes))
IDS = [x.id for x in LAYERS]
W8A8 = PRESETS["w8a8"]


def test_table_has_one_row_per_layer_and_reads_the_config():
    config = W8A8.with_layer(IDS[2], LayerConfig.float())
    table = tuning.config_table(LAYERS, config, selected=[IDS[1]])
    assert table["layer"].tolist() == IDS
    assert table["w_bits"].tolist() == [8, 8, 0] + [8] * (len(IDS) - 3)
    assert table["a_bits"][2] == 0 and table["sel"].tolist()[:3] == [False, True, False]


@pytest.mark.parametrize(
    "edit, expect",
    [
        ({"w_bits": 4}, lambda lc: lc.weights.bits == 4 and lc.activations.bits == 8),
        ({"w_bits": 0}, lambda lc: lc.weights is None),
        ({"a_bits": 0, "w_estimator": "mse"}, lambda lc: lc.activations is None and lc.weights.estimator == "mse"),
        (
            {"w_granularity": "tensor", "w_rounding": "floor"},
            lambda lc: (lc.weights.granularity, lc.weights.rounding) == ("tensor", "floor"),
        ),
    ],
    ids=["w4", "weights-float", "act-float-mse", "tensor-floor"],
)
def test_row_edits_change_only_that_layer(edit, expect):
    table = tuning.config_table(LAYERS, W8A8)
    config = tuning.apply_row_edits(W8A8, table, {"3": edit})
    assert set(config.layers) == {IDS[3]} and expect(config.for_layer(IDS[3]))
    assert config.default == W8A8.default


def test_edit_back_to_default_drops_the_override_and_sel_is_not_a_config_change():
    table = tuning.config_table(LAYERS, W8A8)
    config = tuning.apply_row_edits(W8A8, table, {3: {"w_bits": 4}})
    back = tuning.apply_row_edits(config, tuning.config_table(LAYERS, config), {3: {"w_bits": 8}})
    assert back == W8A8
    assert tuning.apply_row_edits(W8A8, table, {0: {"sel": True}}) == W8A8
    assert tuning.selected_rows(table, {0: {"sel": True}, 2: {"sel": True}}) == [IDS[0], IDS[2]]


def test_impossible_edit_is_a_spec_error_naming_the_layer():
    table = tuning.config_table(LAYERS, W8A8)
    with pytest.raises(SpecError, match="layer .*weights"):
        tuning.apply_row_edits(W8A8, table, {1: {"w_bits": 1}})


@pytest.mark.parametrize(
    "pattern, expected",
    [
        ("block.3", [i for i in IDS if "block.3" in i]),
        ("BLOCK.3", [i for i in IDS if "block.3" in i]),
        ("*features.0*", [i for i in IDS if "features.0/" in i or i.endswith("features.0")]),
        ("(", []),  # regex syntax is plain text, never an error
        ("*Gemm", [i for i in IDS if i.endswith("Gemm")]),
    ],
    ids=["substring", "case", "glob", "regex-char", "glob-suffix"],
)
def test_name_patterns(pattern, expected):
    assert tuning.select_layers(LAYERS, pattern=pattern) == expected


def test_bulk_edit_by_op_type_and_pattern():
    convs = tuning.select_layers(LAYERS, op_type="Conv")
    config = tuning.bulk_edit(W8A8, LAYERS, convs, {"w_bits": 4, "w_estimator": "mse"})
    assert all(config.for_layer(i).weights.bits == 4 for i in convs)
    assert all(config.for_layer(i).weights.bits == 8 for i in set(IDS) - set(convs))
    assert tuning.bulk_edit(W8A8, LAYERS, [], {"w_bits": 4}) == W8A8
    with pytest.raises(SpecError, match="bulk edit columns"):
        tuning.bulk_edit(W8A8, LAYERS, convs, {"layer": "x"})


def entry(config_text: str, acc: float, size: int, lat=None, label="x") -> dict:
    return {
        "model": "m",
        "label": label,
        "config": config_text,
        "accuracy": acc,
        "float_accuracy": 1.0,
        "agreement": acc,
        "sqnr_db": 30.0,
        "kl": 1 - acc,
        "weight_bytes": size,
        "bits_per_weight": 8.0,
        "latency_ms": lat,
        "latency_model": None,
    }


def test_history_replaces_the_same_config_and_keeps_its_label_and_latency():
    h = tuning.add_to_history([], entry("a", 0.9, 100, lat=2.0, label="first"))
    h = tuning.add_to_history(h, entry("b", 0.8, 50))
    h = tuning.add_to_history(h, entry("a", 0.9, 100, label="again"))
    assert [e["config"] for e in h] == ["a", "b"]
    assert (h[0]["label"], h[0]["latency_ms"]) == ("first", 2.0)
    assert len(tuning.history_frame(h, "m")) == 2 and tuning.history_frame(h, "other").empty


def brute_front(score, costs):
    n = len(score)
    return [
        not any(
            all(c[j] <= c[i] for c in costs)
            and score[j] >= score[i]
            and (score[j] > score[i] or any(c[j] < c[i] for c in costs))
            for j in range(n)
        )
        for i in range(n)
    ]


@pytest.mark.parametrize("with_latency", [False, True], ids=["size", "size+latency"])
def test_pareto_mask_equals_brute_force(with_latency):
    rng = np.random.default_rng(0)
    acc, size, lat = rng.integers(0, 5, 30) / 5, rng.integers(1, 8, 30) * 100, rng.integers(1, 5, 30) * 1.0
    df = pd.DataFrame(
        [entry(str(i), a, s, l if with_latency else None) for i, (a, s, l) in enumerate(zip(acc, size, lat))]
    )
    costs = [size, lat] if with_latency else [size]
    assert tuning.pareto_mask(df, "accuracy").tolist() == brute_front(acc, costs)
    kl = tuning.pareto_mask(df, "kl")  # lower kl = higher accuracy here: same front
    assert kl.tolist() == brute_front(acc, costs)


def test_config_diff_marks_exactly_the_changed_layers():
    b = W8A8.with_layer(IDS[1], LayerConfig.float()).with_layer(IDS[4], PRESETS["w4g32"].default)
    diff = tuning.config_diff(LAYERS, W8A8, b)
    assert diff.loc[diff["changed"], "layer"].tolist() == [IDS[1], IDS[4]]
    assert diff["weights_b"][1] == "float" and diff["weights_a"][1].startswith("int8")


def test_sweep_matrix_leaves_unmeasured_cells_empty():
    recs = [{"layer": IDS[0], "candidate": c, "damage": d} for c, d in zip(["w8", "w4"], [0.0, 0.1])]
    m = tuning.sweep_matrix(recs, IDS[:2], ["w8", "w4"])
    assert m.loc[IDS[0]].tolist() == [0.0, 0.1] and m.loc[IDS[1]].isna().all()
    assert tuning.sweep_matrix([], IDS[:2], ["w8"]).isna().all().all()
