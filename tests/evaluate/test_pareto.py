"""One Pareto front for the Trade-offs page and the search (qviz.evaluate.pareto)."""

import math

import numpy as np
import pandas as pd
import pytest

from qviz.evaluate import pareto_front, pareto_mask, tuning


def history(acc, size, lat) -> pd.DataFrame:
    """A Trade-offs history (tuning.history_frame) of configs "0", "1", ... with these numbers."""
    entries = []
    for i, (a, s, t) in enumerate(zip(acc, size, lat, strict=True)):
        entries.append(
            {
                "model": "m",
                "label": str(i),
                "config": str(i),
                "accuracy": a,
                "float_accuracy": 1.0,
                "agreement": a,
                "sqnr_db": 30.0,
                "kl": 1 - a,
                "weight_bytes": int(s),
                "bits_per_weight": 8.0,
                "latency_ms": t,
                "latency_model": None,
            }
        )
    return tuning.history_frame(entries, "m")


def brute_front(score, size, lat) -> list[bool]:
    """Dominance written out pair by pair: latency counts only where both configs have it."""

    def beats(j, i):
        timed = not (math.isnan(lat[i]) or math.isnan(lat[j]))
        no_worse = score[j] >= score[i] and size[j] <= size[i] and (not timed or lat[j] <= lat[i])
        better = score[j] > score[i] or size[j] < size[i] or (timed and lat[j] < lat[i])
        return no_worse and better

    return [not any(beats(j, i) for j in range(len(score))) for i in range(len(score))]


@pytest.mark.parametrize("timed", ["none", "all", "some"])
def test_pareto_mask_equals_brute_force(timed):
    rng = np.random.default_rng(0)
    acc, size, lat = rng.integers(0, 5, 30) / 5, rng.integers(1, 8, 30) * 100, rng.integers(1, 5, 30) * 1.0
    if timed == "none":
        lat[:] = np.nan
    elif timed == "some":
        lat[rng.random(30) < 0.5] = np.nan
    df = history(acc, size, [None if math.isnan(x) else x for x in lat])
    expected = brute_front(acc, size, lat)
    assert pareto_mask(df, "accuracy").tolist() == expected
    assert pareto_mask(df, "kl").tolist() == expected  # kl = 1 - accuracy here, lower is better: same front


@pytest.mark.parametrize("timed", ["none", "all", "some"])
def test_search_front_and_tradeoffs_front_agree(timed):
    """The search's front (pareto_front) is exactly the configs the Trade-offs page marks (pareto_mask)."""
    rng = np.random.default_rng(1)
    acc, size, lat = rng.integers(0, 4, 25) / 4, rng.integers(1, 6, 25) * 100, rng.integers(1, 4, 25) * 1.0
    lat_values = {"none": [None] * 25, "all": list(lat), "some": [x if i % 2 else None for i, x in enumerate(lat)]}
    df = history(acc, size, lat_values[timed])
    marked = set(df.loc[pareto_mask(df, "accuracy"), "config"])
    assert set(pareto_front(df, "accuracy")["config"]) == marked
    assert marked  # a non-empty history always has a front


def test_an_untimed_config_neither_wins_nor_loses_on_latency():
    df = history([0.9, 0.9], [100, 100], [None, 1.0])
    assert pareto_mask(df, "accuracy").tolist() == [True, True]
    df = history([0.9, 0.9], [100, 100], [2.0, 1.0])
    assert pareto_mask(df, "accuracy").tolist() == [False, True]
