"""The Learn page's integer-only walkthrough and 'predict, then reveal' exercises, through AppTest."""

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from qviz import i18n
from qviz.lessons.exercises import EXERCISES, EXERCISES_BY_KEY, exercise_tensor, reveal

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def new_app(lang: str = "en") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["lang"] = lang
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
    at.radio(key="ex_bits_8_to_4_answer").set_value(2).run()    # a new pick hides the answer again
    assert not any(m.value.startswith("Computed:") for m in [*at.success, *at.info])


def test_every_exercise_has_both_languages():
    for exercise in EXERCISES:
        for suffix in ("question", "explain"):
            assert set(i18n.TEXT[f"ex_{exercise.key}_{suffix}"]) == set(i18n.LANGUAGES)


@pytest.mark.parametrize("key, lo, hi", [("bits_8_to_4", 22.0, 26.0), ("floor_vs_round", 3.5, 4.5)],
                         ids=["six_db_per_bit", "floor_is_4x"])
def test_exercise_answers_follow_the_theory(key, lo, hi):
    result = reveal(EXERCISES_BY_KEY[key], exercise_tensor("normal"))
    assert lo < result.value < hi and EXERCISES_BY_KEY[key].options[result.correct] == pytest.approx((lo + hi) / 2, abs=2)
