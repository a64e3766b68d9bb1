"""The Sensitivity page: the per-layer sweep (one layer per step) and the mixed-precision search.

Session-state keys:
    sens_sweep     {"model", "layers", "candidates", "records", "status": running|stopped|done, ...}
    sens_search    {content key: SearchResult} of this session's searches

# NOTE: why no thread: the sweep runs in the script run, one layer (all its candidates) per
# step; after each step the records go into session state and the progress bar moves. A
# click on Stop makes Streamlit stop this run at its next st call (the progress update) and
# rerun: the stop callback marks the sweep stopped, and the layers done so far are kept.
# Each layer's cells are cached by content, so Resume / a repeated sweep costs nothing.
"""

from __future__ import annotations

import json

import streamlit as st

from qviz.config import ModelConfig
from qviz.evaluate import Budget, candidates_from_bits, default_candidates, make_runner, search, sweep, tuning
from qviz.evaluate.candidates import no_deploy_reason
from qviz.model.simulate.simulator import Simulator
from qviz.ui.models import CurrentModel
from qviz.ui.scoring import evaluation, memory_budget, output_kind, record, runner
from qviz.ui.state import parse_config, set_config
from qviz.ui.text import t

SWEEP_KEY = "sens_sweep"
SEARCH_KEY = "sens_search"


def sweep_candidates(bits, modes, layers=None, simulation_only: bool = True) -> list[str]:
    """Candidate names of a sweep; with `layers` and not `simulation_only`, only those that
    deploy on at least one of them (candidates.no_deploy_reason)."""
    cands = candidates_from_bits(tuple(bits), tuple(modes))
    if simulation_only or layers is None:
        return list(cands)
    return [n for n, lc in cands.items() if any(not no_deploy_reason(x, lc) for x in layers)]


def start_sweep(model: CurrentModel, bits, modes, pattern: str, metric: str, simulation_only: bool = False) -> None:
    """Button callback: a new sweep over the layers matching `pattern` (all when empty);
    candidates that do not deploy are measured only with `simulation_only` (sweep.py)."""
    ids = tuning.select_layers(model.layers, pattern=pattern or None)
    st.session_state[SWEEP_KEY] = {
        "model": model.scope,
        "layers": ids,
        "bits": list(bits),
        "modes": list(modes),
        "candidates": sweep_candidates(bits, modes, [x for x in model.layers if x.id in ids], simulation_only),
        "metric": metric,
        "simulation_only": simulation_only,
        "records": [],
        "status": "running" if ids else "done",
    }


def stop_sweep() -> None:
    state = st.session_state.get(SWEEP_KEY)
    if state and state["status"] == "running":
        state["status"] = "stopped"


def resume_sweep() -> None:
    state = st.session_state.get(SWEEP_KEY)
    if state:
        state["status"] = "running"


def sweep_state(model: CurrentModel) -> dict | None:
    state = st.session_state.get(SWEEP_KEY)
    return state if state and state["model"] == model.scope else None


@st.cache_data(max_entries=1024, show_spinner=False)
def _sweep_layer(
    model_sha: str,
    data_key: str,
    layer_id: str,
    bits: tuple,
    modes: tuple,
    metric: str,
    simulation_only: bool,
    kind: str | None,
    _model: CurrentModel,
):
    run, lock = runner(_model)
    with lock:
        cands = candidates_from_bits(bits, modes)
        res = sweep(
            run, candidates=cands, metric=metric, layers=[layer_id], simulation_only=simulation_only, output_kind=kind
        )
    return res.records.to_dict("records"), res.metric, res.note


def sweep_step(model: CurrentModel, state: dict) -> bool:
    """Sweep the next layer not done yet; False when nothing is left."""
    done = {r["layer"] for r in state["records"]}
    todo = [x for x in state["layers"] if x not in done]
    if not todo:
        state["status"] = "done"
        return False
    sim_only = state.get("simulation_only", False)
    recs, used, note = _sweep_layer(
        model.sha256,
        model.data_key,
        todo[0],
        tuple(state["bits"]),
        tuple(state["modes"]),
        state["metric"],
        sim_only,
        output_kind(),
        model,
    )
    state["records"] = state["records"] + recs
    state["used_metric"] = used
    state["notes"] = list(dict.fromkeys([*state.get("notes", []), *([note] if note else [])]))
    if not recs:  # no candidate deploys on this layer: marked done with a float row
        state["records"] = state["records"] + [{"layer": todo[0], "candidate": None, "damage": None}]
    return True


def sweep_progress(state: dict) -> float:
    done = len({r["layer"] for r in state["records"]})
    return done / max(1, len(state["layers"]))


def sweep_table(state: dict):
    """Layers x the sweep's candidates (those that deploy on one of its layers at least, unless
    it measured simulation-only candidates) of damage."""
    records = [r for r in state["records"] if r["candidate"] is not None]
    return tuning.sweep_matrix(records, state["layers"], state["candidates"])


def _search_key(model: CurrentModel, budget: Budget, bits, base: ModelConfig, simulation_only: bool) -> str:
    return json.dumps(
        [
            *(model.sha256, model.data_key, budget.kind, budget.value, list(bits)),
            *(base.to_json(), simulation_only, output_kind()),
        ]
    )


def search_result(model: CurrentModel, budget: Budget, bits, base: ModelConfig, simulation_only: bool = False):
    """A search already run in this session with these inputs, or None."""
    return st.session_state.get(SEARCH_KEY, {}).get(_search_key(model, budget, bits, base, simulation_only))


def run_search(
    model: CurrentModel, budget: Budget, bits, base: ModelConfig, progress=None, simulation_only: bool = False
):
    """qviz.evaluate.search (weights candidates int<bits> per channel on top of `base`; only those
    that deploy unless `simulation_only`), kept per session."""
    # NOTE: a search runs for seconds: on the shared Runner it would hold the lock every other
    # student's evaluation of this model waits on. It gets a private Runner and Simulator instead.
    shared = runner(model)[0]
    run = make_runner(
        Simulator(model.loaded, model.simulator.calib), shared.data, memory_budget_bytes=memory_budget(model)
    )
    cands = default_candidates(tuple(bits))
    res = search(
        run,
        None,
        budget,
        candidates=cands,
        base=base,
        progress=progress,
        simulation_only=simulation_only,
        output_kind=output_kind(),
    )
    st.session_state.setdefault(SEARCH_KEY, {})[_search_key(model, budget, bits, base, simulation_only)] = res
    return res


def apply_search(model: CurrentModel, config_text: str) -> None:
    """Button callback: make the search's best config the current one (and record it in the history)."""
    config = parse_config(config_text)
    set_config(config)
    record(model, evaluation(model, config), t("sn_search_label"))
