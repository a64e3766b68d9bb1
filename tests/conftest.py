"""Session-wide fixtures, and the markers each folder's tests get.

Collection does no work: a bundled sample is read the first time a test asks for it (the
`bundled` fixture) and then shared by the whole session. Treat what it returns as read-only.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import pytest

from qviz_dev.code_rules import CODE_RULES, RULES_KEY, ToolRun

TESTS = Path(__file__).resolve().parent
FOLDER_MARKERS = {"e2e": "browser", "security": "security"}


def pytest_collection_finish(session):
    """Start the code rules this session selected (test_code_rules_hold) now, in the background."""
    selected = [
        item.callspec.params["rule"]
        for item in session.items
        if getattr(item, "originalname", None) == "test_code_rules_hold"  # doctest items have no originalname
    ]
    session.config.stash[RULES_KEY] = {rule: ToolRun(CODE_RULES[rule]) for rule in selected}


def pytest_collection_modifyitems(items):
    """tests/e2e/* are `browser` tests, tests/security/* are `security` tests (see pyproject markers)."""
    for item in items:
        if not item.path.is_relative_to(TESTS):
            continue
        marker = FOLDER_MARKERS.get(item.path.relative_to(TESTS).parts[0])
        if marker:
            item.add_marker(marker)


class BundledSample:
    """A bundled sample (qviz.samples) and what tests derive from it, each computed once on first use.

    sample: the qviz.samples.Sample; model: its LoadedModel; layers: its layer table; ids: the layer
    ids in graph order; test_data: the test split as EvalData; calib: the calibration inputs.
    """

    def __init__(self, sample_id: str):
        from qviz.samples import load_sample

        self.id = sample_id
        self.sample = load_sample(sample_id)

    @cached_property
    def model(self):
        from qviz.model import load_model

        return load_model(self.sample.model_bytes)

    @cached_property
    def layers(self) -> list:
        from qviz.model import layer_table

        return layer_table(self.model)

    @cached_property
    def ids(self) -> list[str]:
        return [x.id for x in self.layers]

    @cached_property
    def test_data(self):
        from qviz.evaluate import from_sample

        return from_sample(self.sample, "test")

    @property
    def calib(self):
        return self.sample.calibration.x

    def __repr__(self) -> str:
        return f"BundledSample({self.id!r})"


@pytest.fixture(scope="session")
def bundled():
    """bundled(sample_id) -> BundledSample, loaded once per session (qviz.samples.DEFAULT_SAMPLE if no id)."""
    cache: dict[str, BundledSample] = {}

    def get(sample_id: str | None = None) -> BundledSample:
        if sample_id is None:
            from qviz.samples import DEFAULT_SAMPLE

            sample_id = DEFAULT_SAMPLE
        if sample_id not in cache:
            cache[sample_id] = BundledSample(sample_id)
        return cache[sample_id]

    return get


@pytest.fixture(scope="session")
def digits_mlp(bundled) -> BundledSample:
    """The small MLP most page tests run on (3 layers: fast to evaluate, sweep and search)."""
    return bundled("digits_mlp")
