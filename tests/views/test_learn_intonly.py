"""The Learn page's integer-only walkthrough and 'predict, then reveal' exercises, through AppTest."""

import re

import pytest
from streamlit.testing.v1 import AppTest

from qviz.lessons.exercises import EXERCISES, EXERCISES_BY_KEY, exercise_tensor, reveal
from qviz.ui import i18n
from qviz_dev.app_pages import APP


def new_app(lang: str = "en", sample: str = "digits_mlp") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["lang"] = lang
    at.session_state["model_source"] = {"kind": "sample", "id": sample}
    return at.run()


def badge(at: AppTest) -> str:
    return next(s.value for s in at.success if "QLinearMatMul" in s.value)


@pytest.mark.parametrize("lang", list(i18n.LANGUAGES))
def test_walkthrough_renders_with_the_bit_exact_badge(lang):
    at = new_app(lang)
    assert not at.exception
    labels = [e.label for e in at.expander]
    assert i18n.translate("io_header", lang) in labels and i18n.translate("ex_header", lang) in labels
    same, conv, n = re.search(r"(\d+)/(\d+).*?(\d+)/\2", badge(at)).group(1, 3, 2)
    assert same == n == conv == "128"
    assert badge(at).count(i18n.translate("yes", lang)) >= 1


def test_per_channel_and_another_image_stay_bit_exact():
    at = new_app()
    at.number_input(key="io_image").set_value(7)
    at.checkbox(key="io_per_channel").check()
    at.run()
    assert not at.exception and "128/128" in badge(at)


@pytest.mark.parametrize("sample, layer_index, n", [("digits_mlp", 1, 64), ("digits_transformer", 0, 192)])
def test_any_gemm_or_matmul_of_the_loaded_model_is_bit_exact(sample, layer_index, n):
    """The walkthrough runs on the loaded model's own layers (a transformer MatMul reads rows of a 3-D input)."""
    at = new_app(sample=sample)
    box = at.selectbox(key="io_layer")
    box.set_value(box.options[layer_index]).run()
    assert not at.exception and f"{n}/{n}" in badge(at)


def test_a_model_without_a_matmul_says_so():
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    from qviz_dev.app_pages import open_page, upload

    w = numpy_helper.from_array(np.ones((4, 3, 1, 1), np.float32), "w")
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="conv")
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4, 4, 4])],
        [w],
    )
    data = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10).SerializeToString()
    at = upload(open_page("qviz/views/model.py"), "model_upload_onnx", "conv.onnx", data)
    at.switch_page("qviz/views/learn.py")
    at.run()
    assert not at.exception and i18n.translate("io_no_layer", "en") in [x.value for x in at.info]


@pytest.mark.parametrize("key", [e.key for e in EXERCISES])
def test_exercise_reveals_the_computed_number_and_marks_the_answer(key):
    exercise = EXERCISES_BY_KEY[key]
    at = new_app()
    at.radio(key=f"ex_{key}_answer").set_value(0).run()
    at.button(key=f"ex_{key}_button").click().run()
    assert not at.exception
    shown = [m.value for m in [*at.success, *at.info] if m.value.startswith("Computed:")]
    assert len(shown) == 1
    value = float(re.search(r"Computed: ([-\d.]+)", shown[0]).group(1))
    if exercise.tensor == "normal":
        expected = reveal(exercise, exercise_tensor("normal"))
        assert value == pytest.approx(expected.value, abs=0.01)
    right = i18n.translate("ex_right", "en") in shown[0]
    correct = int(min(range(len(exercise.options)), key=lambda i: abs(exercise.options[i] - value)))
    assert right == (correct == 0)


def test_bits_exercise_right_answer_is_about_24_db():
    at = new_app()
    at.radio(key="ex_bits_8_to_4_answer").set_value(1).run()
    at.button(key="ex_bits_8_to_4_button").click().run()
    assert any(s.value.startswith("Computed: 2") and "you were right" in s.value for s in at.success)
    at.radio(key="ex_bits_8_to_4_answer").set_value(2).run()  # a new pick hides the answer again
    assert not any(m.value.startswith("Computed:") for m in [*at.success, *at.info])


def test_every_exercise_has_both_languages():
    for exercise in EXERCISES:
        for suffix in ("question", "explain"):
            assert set(i18n.TEXT[f"ex_{exercise.key}_{suffix}"]) == set(i18n.LANGUAGES)


@pytest.mark.parametrize(
    "key, lo, hi", [("bits_8_to_4", 22.0, 26.0), ("floor_vs_round", 3.5, 4.5)], ids=["six_db_per_bit", "floor_is_4x"]
)
def test_exercise_answers_follow_the_theory(key, lo, hi):
    result = reveal(EXERCISES_BY_KEY[key], exercise_tensor("normal"))
    assert lo < result.value < hi and EXERCISES_BY_KEY[key].options[result.correct] == pytest.approx(
        (lo + hi) / 2, abs=2
    )
