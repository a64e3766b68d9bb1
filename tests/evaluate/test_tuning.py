"""qviz.evaluate.tuning: table <-> config, bulk edits, name patterns, history, Pareto mask, diffs (no streamlit)."""

import pytest

from qviz.config import PRESETS, LayerConfig
from qviz.evaluate import tuning
from qviz.quant import SpecError

W8A8 = PRESETS["w8a8"]


@pytest.fixture(scope="module")
def mobilenet(bundled):
    """digits_mobilenet: many layers, with the block.N / features.N names the patterns below match."""
    return bundled("digits_mobilenet")


def test_table_has_one_row_per_layer_and_reads_the_config(mobilenet):
    config = W8A8.with_layer(mobilenet.ids[2], LayerConfig.float())
    table = tuning.config_table(mobilenet.layers, config, selected=[mobilenet.ids[1]])
    assert table["layer"].tolist() == mobilenet.ids
    assert table["w_bits"].tolist() == [8, 8, 0] + [8] * (len(mobilenet.ids) - 3)
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
def test_row_edits_change_only_that_layer(mobilenet, edit, expect):
    table = tuning.config_table(mobilenet.layers, W8A8)
    config = tuning.apply_row_edits(W8A8, table, {"3": edit})
    assert set(config.layers) == {mobilenet.ids[3]} and expect(config.for_layer(mobilenet.ids[3]))
    assert config.default == W8A8.default


def test_edit_back_to_default_drops_the_override_and_sel_is_not_a_config_change(mobilenet):
    table = tuning.config_table(mobilenet.layers, W8A8)
    config = tuning.apply_row_edits(W8A8, table, {3: {"w_bits": 4}})
    back = tuning.apply_row_edits(config, tuning.config_table(mobilenet.layers, config), {3: {"w_bits": 8}})
    assert back == W8A8
    assert tuning.apply_row_edits(W8A8, table, {0: {"sel": True}}) == W8A8
    assert tuning.selected_rows(table, {0: {"sel": True}, 2: {"sel": True}}) == [mobilenet.ids[0], mobilenet.ids[2]]


def test_impossible_edit_is_a_spec_error_naming_the_layer(mobilenet):
    table = tuning.config_table(mobilenet.layers, W8A8)
    with pytest.raises(SpecError, match=r"layer .*weights"):
        tuning.apply_row_edits(W8A8, table, {1: {"w_bits": 1}})


@pytest.mark.parametrize(
    "pattern, matches",
    [
        ("block.3", lambda i: "block.3" in i),
        ("BLOCK.3", lambda i: "block.3" in i),
        ("*features.0*", lambda i: "features.0/" in i or i.endswith("features.0")),
        ("(", lambda i: False),  # regex syntax is plain text, never an error
        ("*Gemm", lambda i: i.endswith("Gemm")),
    ],
    ids=["substring", "case", "glob", "regex-char", "glob-suffix"],
)
def test_name_patterns(mobilenet, pattern, matches):
    expected = [i for i in mobilenet.ids if matches(i)]
    assert tuning.select_layers(mobilenet.layers, pattern=pattern) == expected


def test_bulk_edit_by_op_type_and_pattern(mobilenet):
    convs = tuning.select_layers(mobilenet.layers, op_type="Conv")
    config = tuning.bulk_edit(W8A8, mobilenet.layers, convs, {"w_bits": 4, "w_estimator": "mse"})
    assert all(config.for_layer(i).weights.bits == 4 for i in convs)
    assert all(config.for_layer(i).weights.bits == 8 for i in set(mobilenet.ids) - set(convs))
    assert tuning.bulk_edit(W8A8, mobilenet.layers, [], {"w_bits": 4}) == W8A8
    with pytest.raises(SpecError, match="bulk edit columns"):
        tuning.bulk_edit(W8A8, mobilenet.layers, convs, {"layer": "x"})


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


def test_config_diff_marks_exactly_the_changed_layers(mobilenet):
    b = W8A8.with_layer(mobilenet.ids[1], LayerConfig.float()).with_layer(mobilenet.ids[4], PRESETS["w4g32"].default)
    diff = tuning.config_diff(mobilenet.layers, W8A8, b)
    assert diff.loc[diff["changed"], "layer"].tolist() == [mobilenet.ids[1], mobilenet.ids[4]]
    assert diff["weights_b"][1] == "float" and diff["weights_a"][1].startswith("int8")


def test_sweep_matrix_leaves_unmeasured_cells_empty(mobilenet):
    recs = [
        {"layer": mobilenet.ids[0], "candidate": c, "damage": d} for c, d in zip(["w8", "w4"], [0.0, 0.1], strict=True)
    ]
    m = tuning.sweep_matrix(recs, mobilenet.ids[:2], ["w8", "w4"])
    assert m.loc[mobilenet.ids[0]].tolist() == [0.0, 0.1] and m.loc[mobilenet.ids[1]].isna().all()
    assert tuning.sweep_matrix([], mobilenet.ids[:2], ["w8"]).isna().all().all()
