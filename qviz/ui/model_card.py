"""What the Model page says about the model beside the numbers: what "parameters" counts, the
sample card's lesson and the sample's title, in the page's language.

# NOTE: "parameters" are the weights and biases of the quantizable layers (the numbers qviz
# quantizes, and what a sample card's parameter_count counts). Every other constant in the graph
# (Clip bounds, LayerNorm scales, shapes) is counted apart: MobileNet's 13 Clips store 26 scalars,
# which made the page say 67,028 against its card's 67,002.
"""

from __future__ import annotations

from qviz.ui import i18n
from qviz.ui.models import CurrentModel, sample_choices
from qviz.ui.text import lang, t


def parameter_counts(model: CurrentModel) -> tuple[int, int]:
    """(weights and biases of the layers, values of every other constant in the graph)."""
    layer_params = sum(layer.params for layer in model.layers)
    return layer_params, max(0, model.loaded.param_count - layer_params)


def sample_titles() -> dict[str, str]:
    """{sample id: title in the page's language} (key sample_title_<id>, else the card's title).
    A dict built now, not a format_func looking the language up later (see text.option_labels)."""
    return {
        s.id: t(f"sample_title_{s.id}") if f"sample_title_{s.id}" in i18n.TEXT else s.title for s in sample_choices()
    }


def display_name(model: CurrentModel) -> str:
    """The model's name as pages show it: a sample's translated title, an upload's file name."""
    return model.name if model.sample_id is None else sample_titles().get(model.sample_id, model.name)


def sample_lesson(model: CurrentModel) -> str | None:
    """The lesson of the sample card in the page's language; None for an upload."""
    if model.sample_id is None:
        return None
    card = next((s.card for s in sample_choices() if s.id == model.sample_id), {})
    lesson = card.get("lesson") or {}
    return lesson.get(lang()) or lesson.get(i18n.DEFAULT_LANGUAGE)
