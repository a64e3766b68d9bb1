"""Output kinds: which measure applies to which output shape, and the numbers against onnxruntime.

Every model here has an output shape found on real models where the old metrics lied: (N, C, 1, 1)
logits, an (N, 1) sigmoid, an (N, T, C) sequence, a (1, 84, K) detection head, softmax probabilities.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from qviz.config import ModelConfig
from qviz.evaluate import evaluate, from_arrays, kl_softmax, make_runner, search, sweep, weight_candidate
from qviz.evaluate.output_kind import decide, decide_all, parse
from qviz.model import make_session
from qviz.model.simulate.simulator import Simulator
from qviz.quant import SpecError
from qviz.quant.metrics import sqnr_db
from qviz_dev import model_factory as mf
from qviz_dev import output_models as om

W2 = ModelConfig(default=weight_candidate(2))
N = 48


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def kl_rows(p, r, axis):
    return float(np.mean(np.sum(p * np.log(p / r), axis=axis)))


def setup(model, n=N, seed=0):
    """(Simulator, EvalData, float outputs, w2 outputs): the oracle is the simulated model in its own session."""
    x = mf.random_inputs(model, batch=n, seed=seed)
    sim = Simulator(mf.to_bytes(model), mf.random_inputs(model, batch=n, seed=seed + 1))
    f = make_session(mf.to_bytes(model), check=False).run(None, x)[0]
    q = make_session(sim.simulate(W2), check=False).run(None, x)[0]
    return sim, x, f.astype(np.float64), q.astype(np.float64)


# --- the rules ---------------------------------------------------------------------------------------

RNG = np.random.default_rng(0)
PROBS = softmax(RNG.standard_normal((4, 5, 7)), -1)


@pytest.mark.parametrize(
    "x, kind, axis, probabilities, positions",
    [
        (RNG.standard_normal((4, 10)), "classes", 1, False, 1),
        (RNG.standard_normal((4, 10, 1, 1)), "classes", 1, False, 1),
        (PROBS, "classes", 2, True, 5),
        (np.moveaxis(PROBS, 2, 1), "classes", 1, True, 5),
        (RNG.standard_normal((4, 5, 7)), "values", None, False, 1),
        (RNG.uniform(0, 300, (1, 84, 40)), "values", None, False, 1),
        (RNG.standard_normal((4, 1)), "binary", None, False, 1),
        (RNG.uniform(0, 1, (4, 1)), "binary", None, True, 1),
        (RNG.uniform(0, 1, (4,)), "binary", None, True, 1),
        (np.array([3, 1, 2]), "classes", None, False, 1),
        (np.float32(1.0), "values", None, False, 1),
    ],
    ids=[
        "NC",
        "NC11",
        "NTC-probs",
        "NCT-probs",
        "NTC-logits",
        "detection",
        "N1-logit",
        "N1-prob",
        "N-prob",
        "ids",
        "0d",
    ],
)
def test_auto_kind_from_shape_and_values(x, kind, axis, probabilities, positions):
    k = decide("y", x)
    assert (k.kind, k.axis, k.probabilities, k.positions) == (kind, axis, probabilities, positions)


def test_given_kinds_override_and_bad_ones_are_spec_errors():
    logits = RNG.standard_normal((4, 5, 7))
    assert decide("y", logits, "classes").axis == 2 and decide("y", logits, "classes:1").axis == 1
    assert decide("y", RNG.uniform(0, 1, (4, 3)), "binary:logits").threshold == 0.0
    assert decide("y", RNG.standard_normal((4, 10)), "values").kind == "values"
    kinds = decide_all(["a", "b"], [logits, logits], {"b": "classes"})
    assert [k.kind for k in kinds] == ["values", "classes"] and kinds[1].given
    for bad in ("class", "classes:x", "values:1", "binary:2", 3):
        with pytest.raises(SpecError, match="output_kind"):
            parse(bad)
    with pytest.raises(SpecError, match="no class axis"):
        decide("y", RNG.standard_normal((4, 1)), "classes")
    with pytest.raises(SpecError, match="class axis 0"):
        decide("y", logits, "classes:0")
    with pytest.raises(SpecError, match="unknown outputs"):
        decide_all(["a"], [logits], {"z": "values"})


# --- each real-model shape, against onnxruntime ----------------------------------------------------------


def test_conv_classifier_n_c_1_1_compares_the_class_axis():
    """SqueezeNet's (N, 1000, 1, 1): argmax over the last axis (size 1) made agreement 1 and KL 0."""
    model = om.conv_classifier(12)
    sim, x, f, q = setup(model)
    ev = evaluate(sim, W2, from_arrays(sim.loaded, x))
    want = float(np.mean(f.argmax(1) == q.argmax(1)))
    assert 0 < want < 1 and ev.fidelity["agreement"] == pytest.approx(want)
    assert ev.fidelity["kl"] == pytest.approx(kl_rows(softmax(f, 1), softmax(q, 1), 1), rel=1e-4)
    assert ev.confusion.shape == (12, 12) and ev.output_kinds[0].axis == 1


def test_sigmoid_output_is_a_yes_no_decision():
    """(N, 1) probabilities: thresholded at 0.5; KL of the two outcomes; sweep damage no longer 0."""
    model = om.sigmoid_head()
    sim, x, f, q = setup(model, n=64)
    y = (f[:, 0] > 0.5).astype(np.int64)
    y[:5] = 1 - y[:5]  # five wrong labels: the float model is not perfect
    ev = evaluate(sim, W2, from_arrays(sim.loaded, x, y))
    flips = float(np.mean((f > 0.5) == (q > 0.5)))
    bern = np.mean(f * np.log(f / q) + (1 - f) * np.log((1 - f) / (1 - q)))
    assert 0 < flips < 1 and ev.fidelity["agreement"] == pytest.approx(flips)
    assert ev.fidelity["kl"] == pytest.approx(bern, rel=1e-4)
    assert ev.float_accuracy == pytest.approx(59 / 64) and ev.accuracy == pytest.approx(np.mean((q[:, 0] > 0.5) == y))
    assert ev.confusion.shape == (2, 2) and ev.output_kinds[0].threshold == 0.5
    res = sweep(sim, from_arrays(sim.loaded, x), (8, 2), metric="agreement")
    assert res.metric == "agreement" and res.table.to_numpy().max() > 0
    assert sweep(sim, from_arrays(sim.loaded, x), (2,), metric="kl").table.to_numpy().max() > 0
    found = search(sim, from_arrays(sim.loaded, x), {"bpw": 3}, candidates=(8, 4, 2))  # proxy: KL of yes/no
    assert found.evaluated["damage"].max() > 0 and found.metric == "agreement"


def test_logit_output_thresholds_at_zero():
    model = om.logit_head()
    sim, x, f, q = setup(model, n=64)
    ev = evaluate(sim, W2, from_arrays(sim.loaded, x))
    assert ev.output_kinds[0].threshold == 0.0
    assert ev.fidelity["agreement"] == pytest.approx(np.mean((f > 0) == (q > 0)))
    p, r = 1 / (1 + np.exp(-f)), 1 / (1 + np.exp(-q))
    assert ev.fidelity["kl"] == pytest.approx(
        np.mean(p * np.log(p / r) + (1 - p) * np.log((1 - p) / (1 - r))), rel=1e-4
    )


def test_sequence_compares_every_position_with_per_position_labels():
    """(N, T, C) probabilities: every timestep counts (not timestep 0); labels (N, T) accepted."""
    model = om.sequence(t=6, c=7)
    sim, x, f, q = setup(model)
    labels = f.argmax(2)
    labels[:, 3] = 0  # wrong at one timestep
    ev = evaluate(sim, W2, from_arrays(sim.loaded, x, labels))
    want = float(np.mean(f.argmax(2) == q.argmax(2)))
    assert 0 < want < 1 and want != np.mean(f[:, 0].argmax(1) == q[:, 0].argmax(1))
    assert ev.fidelity["agreement"] == pytest.approx(want)
    assert ev.fidelity["kl"] == pytest.approx(kl_rows(f, q, 2), rel=1e-4)  # on the probabilities: no second softmax
    assert ev.float_accuracy == pytest.approx(np.mean(f.argmax(2) == labels))
    assert ev.accuracy == pytest.approx(np.mean(q.argmax(2) == labels))
    assert ev.per_class["count"].sum() == N * 6 and ev.output_kinds[0].positions == 6
    with pytest.raises(SpecError, match=r"labels y have shape \(48,\)"):
        evaluate(sim, W2, from_arrays(sim.loaded, x, labels[:, 0]))


def test_sequence_of_logits_is_values_unless_given():
    model = om.sequence(t=5, c=9, probs=False)
    sim, x, f, q = setup(model)
    data = from_arrays(sim.loaded, x)
    assert evaluate(sim, W2, data).fidelity["agreement"] is None
    ev = evaluate(make_runner(sim, data, output_kind="classes"), W2)
    assert ev.fidelity["agreement"] == pytest.approx(np.mean(f.argmax(2) == q.argmax(2)))
    assert ev.fidelity["kl"] == pytest.approx(kl_rows(softmax(f, 2), softmax(q, 2), 2), rel=1e-4)
    assert ev.output_kinds[0].given and "(given)" in ev.measure


def test_detection_head_has_no_agreement_or_kl():
    """(N, 84, K): no class decision; the old code showed agreement 0.0 at cosine 0.99."""
    model = om.detection_head(k=30)
    sim, x, f, q = setup(model, n=8)
    data = from_arrays(sim.loaded, x, np.zeros(8, np.int64))
    ev = evaluate(sim, W2, data)
    assert ev.fidelity["agreement"] is None and ev.fidelity["kl"] is None
    assert ev.fidelity["sqnr_db"] == pytest.approx(sqnr_db(f, q), abs=1e-3)
    assert ev.accuracy is None and ev.confusion is None and "labels not used" in ev.notes[0]
    assert "values" in ev.measure and json.loads(json.dumps(ev.to_dict(), allow_nan=False))["fidelity"]["kl"] is None
    res = sweep(sim, data, (8, 2))  # accuracy asked: SQNR-based damage, and a note saying why
    assert res.metric == "sqnr_db" and "needs a class decision" in res.note
    rec = res.records
    np.testing.assert_allclose(rec["damage"], 10 ** (-rec["sqnr_db"] / 10))
    assert rec["agreement"].isna().all()


def test_softmax_probabilities_get_no_second_softmax():
    model = om.softmax_classifier(10)
    sim, x, f, q = setup(model)
    ev = evaluate(sim, W2, from_arrays(sim.loaded, x))
    assert ev.output_kinds[0].probabilities
    assert ev.fidelity["kl"] == pytest.approx(kl_rows(f, q, 1), rel=1e-4)
    assert abs(ev.fidelity["kl"] - kl_softmax(f, q)) > 0.1 * ev.fidelity["kl"]


def test_class_ids_output_compares_ids_and_has_no_kl():
    model = om.argmax_classifier(10)
    sim, x, f, q = setup(model)
    data = from_arrays(sim.loaded, x, f.astype(np.int64))
    ev = evaluate(sim, W2, data)
    assert ev.fidelity["agreement"] == pytest.approx(np.mean(f == q)) and ev.fidelity["kl"] is None
    assert ev.float_accuracy == 1.0 and ev.accuracy == pytest.approx(np.mean(q == f)) and "class ids" in ev.measure
    res = sweep(sim, data, (2,), metric="kl")
    assert res.metric == "agreement" and "class ids" in res.note


def test_evaluate_output_kind_argument_overrides_the_runner():
    model = om.conv_classifier(12)
    sim, x, _, _ = setup(model)
    run = make_runner(sim, from_arrays(sim.loaded, x), output_kind="classes")
    ev = evaluate(run, W2, output_kind="values")
    assert ev.fidelity["agreement"] is None and ev.output_kinds[0].kind == "values"


# --- the confusion is bounded ------------------------------------------------------------------------------


def test_confusion_built_up_to_100_classes_unless_asked():
    model = om.logit_classifier(150)
    x = mf.random_inputs(model, batch=32, seed=0)
    sim = Simulator(mf.to_bytes(model), x)
    data = from_arrays(sim.loaded, x, np.arange(32) * 3)
    ev = evaluate(sim, W2, data)
    assert ev.confusion is None and ev.classes == 150 and len(ev.per_class) == 32
    d = ev.to_dict()
    assert d["per_class"] is None and d["confusion"] is None
    assert any("per-class table and confusion not listed" in n for n in d["notes"])
    asked = evaluate(sim, W2, data, confusion=True)
    assert asked.confusion.shape == (150, 150) and asked.confusion.sum() == 32
    d = asked.to_dict(per_class=True)
    assert len(d["per_class"]) == 32 and len(d["confusion"]) == 150
    small = evaluate(mf.to_bytes(om.logit_classifier(100)), W2, None)
    assert small.confusion.shape == (100, 100) and small.to_dict()["confusion"] is not None
