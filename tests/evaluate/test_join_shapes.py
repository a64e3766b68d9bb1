"""EvalData.join on outputs whose shape follows the input values (issue 12's runtime bombs on the
Model page): a short ModelError, not numpy's ValueError as a generic error page."""

import numpy as np
import pytest

from qviz.evaluate.data import EvalData
from qviz.model import ModelError


def test_outputs_that_do_not_join_are_a_model_error():
    data = EvalData(feeds=[{}, {}], labels=None, source="t", rows=(2, 2))
    with pytest.raises(ModelError, match="do not join across batches"):
        data.join([[np.zeros((2, 3))], [np.zeros((2, 5))]])


def test_outputs_of_different_ranks_are_a_model_error():
    data = EvalData(feeds=[{}, {}], labels=None, source="t", rows=(2, 2))
    with pytest.raises(ModelError, match="different shapes"):
        data.join([[np.zeros(())], [np.zeros((2,))]])


def test_matching_outputs_still_join():
    data = EvalData(feeds=[{}, {}], labels=None, source="t", rows=(2, 2), pad=1)
    assert data.join([[np.zeros((2, 3))], [np.ones((2, 3))]])[0].shape == (3, 3)
