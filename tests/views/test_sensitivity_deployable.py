"""The Sensitivity page proposes only what deploys; a checkbox asks for simulation-only candidates,
and the result names the layers that would not ship."""

import base64

import numpy as np

from qviz_dev.app_pages import figure, open_page, texts

STATE = {"model_source": {"kind": "sample", "id": "digits_mlp"}}
PAGE = "qviz/views/sensitivity.py"


def heat_columns(at) -> list:
    return list(figure(at, 0)["data"][0]["x"])


def _z(at) -> np.ndarray:
    z = figure(at, 0)["data"][0]["z"]
    if isinstance(z, dict):
        return np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"])
    return np.asarray(z, dtype=float)


def sweep_with(sim_only: bool):
    at = open_page(PAGE, "en", STATE)
    at.multiselect(key="sens_bits").set_value([8, 2])
    at.checkbox(key="sens_sim_only").set_value(sim_only)
    at.button(key="sens_run").click()
    return at.run()


def test_sweep_leaves_out_what_does_not_deploy_unless_ticked():
    at = sweep_with(False)
    assert not at.exception and heat_columns(at) == ["w8"] and not np.isnan(_z(at)).any()
    assert any("w2 not measured" in x for x in texts(at))
    assert heat_columns(sweep_with(True)) == ["w8", "w2"]


def search_with(sim_only: bool):
    at = open_page(PAGE, "en", STATE)
    at.selectbox(key="sens_budget_kind").set_value("bpw")
    at.number_input(key="sens_budget_bpw").set_value(4.5)
    at.checkbox(key="sens_search_sim_only").set_value(sim_only)
    at.button(key="sens_search_run").click()
    return at.run()


def test_search_proposes_what_deploys_and_names_simulation_only_layers():
    at = search_with(False)
    table = at.dataframe[0].value
    assert not at.exception and set(table.iloc[:, 1]) <= {"w8", "w4"}
    assert any("Not searched (no deployable form): w6, w3, w2" in x for x in texts(at))
    at = search_with(True)
    table = at.dataframe[0].value
    low = table[table.iloc[:, 1].isin(["w6", "w3", "w2"])]
    assert not low.empty and all("onnxruntime" in why for why in low.iloc[:, 4])
