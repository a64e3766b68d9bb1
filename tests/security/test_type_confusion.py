"""An attribute declared one type but carrying another is refused; its tensor is never decoded.

The hole (issue 12, item 1): a `Constant` whose `value` is declared FLOAT or UNDEFINED but whose
`.t` is an EXTERNAL tensor passed every check that trusted the declared type, and
`numpy_helper.to_array` then read `secret.txt` from the working directory: `qviz inspect
model.onnx --json` printed that file's bytes as weight statistics.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from onnx import AttributeProto, helper

from qviz.model import ModelError, load_model, make_session, safety
from qviz_dev import hostile_models as hm
from qviz_dev.cli_helpers import assert_one_error_line, run_cli

CANARY = "CANARY-5e1f-type-confused"
# The floats the canary's first 16 bytes decode to: what a leak prints as min/max/mean.
LEAKED = np.frombuffer(CANARY.encode()[:16], np.float32)


@pytest.fixture
def secret_folder(tmp_path, monkeypatch) -> Path:
    """cwd holding secret.txt (and sub/ so that sub/../secret.txt resolves) with the canary."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "secret.txt").write_text(CANARY * 8)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _no_leak(text: str) -> None:
    assert CANARY not in text
    for value in LEAKED:  # the decoded floats, as json or repr would print them
        assert f"{value:.6g}" not in text and repr(float(value)) not in text


@pytest.mark.parametrize("location", hm.CONFUSED_LOCATIONS)
@pytest.mark.parametrize("case", list(hm.TYPE_CONFUSED))
def test_loader_refuses_type_confused_attribute(case, location, secret_folder):
    data = hm.mf.to_bytes(hm.TYPE_CONFUSED[case](location))
    for load in (load_model, make_session):
        with pytest.raises(ModelError, match=r"is declared \w+ but carries field 't'|is declared INT but") as err:
            load(data)
        _no_leak(str(err.value))


@pytest.mark.parametrize("location", hm.CONFUSED_LOCATIONS)
@pytest.mark.parametrize("declared", ["constant_float", "constant_undefined"])
def test_cli_inspect_in_a_folder_with_the_secret_prints_no_byte_of_it(declared, location, secret_folder, capsys):
    (secret_folder / "model.onnx").write_bytes(hm.mf.to_bytes(hm.TYPE_CONFUSED[declared](location)))
    result = run_cli(capsys, "inspect", "model.onnx", "--json")
    _no_leak(result[1] + result[2])
    assert_one_error_line(result, "")
    # a path's external data is resolved by qviz (confined to the folder, no '..'), then the
    # attribute, its tensor now inline, is still refused for its type
    assert "is declared" in result[2] or "'..' leaves the model's folder" in result[2]


def test_the_walk_finds_tensors_whatever_the_declared_type():
    """Defense in depth: even without the type check, every carried tensor is visited."""
    model = hm.type_confused_subgraph("secret.txt")
    model_f = hm.type_confused_constant("secret.txt", AttributeProto.FLOAT)
    places = [where for where, _ in safety.iter_tensors(model)] + [where for where, _ in safety.iter_tensors(model_f)]
    assert "initializer 'h'" in places
    assert any(re.match(r"attribute 'value' of node 'confused'", p) for p in places)


def test_matching_types_pass_and_mismatches_are_named():
    ok = helper.make_node("LeakyRelu", ["x"], ["y"], alpha=0.1)
    assert safety.carried_fields(ok.attribute[0]) == ["f"]
    bad = hm.mf.no_layers()
    attr = helper.make_attribute("alpha", 0.1)
    attr.type = AttributeProto.INT  # declared INT, carries f
    bad.graph.node[0].attribute.append(attr)
    with pytest.raises(ModelError, match=r"attribute 'alpha' of node .* is declared INT but carries field 'f'"):
        safety.check_attribute_types(bad)


def test_safe_decoder_refuses_external_tensors(secret_folder):
    t = hm.mf.set_external(hm.mf.init("w", np.zeros(4, np.float32)), "secret.txt")
    with pytest.raises(ModelError, match="external data"):
        safety.inline_array(t)


def test_only_the_safe_decoder_calls_onnx_to_array():
    """Every decode of a TensorProto in qviz/ goes through safety.inline_array (which refuses
    external tensors), so nothing reads a location the walk has not cleared."""
    root = Path(__file__).resolve().parents[2] / "qviz"
    calls = [
        f"{path.relative_to(root)}:{n}"
        for path in root.rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\bto_array\(|load_external_data|convert_model_from_external_data", line)
        and not line.lstrip().startswith((">>>", "#"))
    ]
    assert calls == ["model/safety.py:" + str(_line_of_safe_call())]


def _line_of_safe_call() -> int:
    text = (Path(safety.__file__)).read_text().splitlines()
    return next(n for n, line in enumerate(text, 1) if "return onnx.numpy_helper.to_array(t)" in line)
