"""The ImageNet sample in the app: the Model page opens on it with its card (lesson, parameters)."""

import pytest

from qviz.samples import load_sample
from qviz_dev.app_pages import metric, open_page, texts

SAMPLE_ID = "imagenet_efficientnet_lite0"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_model_page_shows_the_imagenet_card(lang):
    card = load_sample(SAMPLE_ID).card
    at = open_page("qviz/views/model.py", lang, state={"model_source": {"kind": "sample", "id": SAMPLE_ID}})
    assert not at.exception and not at.error
    assert metric(at, "sum_params") == f"{card['parameter_count']:,}"
    assert any(card["lesson"][lang] in s for s in texts(at))
