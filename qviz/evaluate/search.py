"""Mixed-precision search: which bits each layer gets under a size or latency budget.

    >>> from qviz.evaluate import from_sample
    >>> from qviz.samples import load_sample
    >>> sample = load_sample("digits_mlp")
    >>> data = from_sample(sample, "calibration")
    >>> res = search(sample.model_bytes, data, Budget("bpw", 4.5), calib=sample.calibration.x)
    >>> res.best["assignment"]                     # res.best["config"]: the same, as config JSON
    {'/net/net.0/Gemm': 'w4', '/net/net.2/Gemm': 'w4', '/net/net.4/Gemm': 'w4'}
    >>> res.best["weight_bytes"], round(res.best["bits_per_weight"], 2), res.best["accuracy"]
    (9320, 4.38, 0.95)
    >>> len(res.evaluated), len(res.front)         # every config evaluated; the Pareto front of them
    (7, 1)
    >>> sim = search(sample.model_bytes, data, Budget("bpw", 4.5), calib=sample.calibration.x, simulation_only=True)
    >>> sim.best["assignment"], sim.best["weight_bytes"], len(sim.evaluated)   # 3 bits: no onnxruntime form
    ({'/net/net.0/Gemm': 'w4', '/net/net.2/Gemm': 'w3', '/net/net.4/Gemm': 'w8'}, 8616, 16)
    >>> sim.explanation["simulation_only"].str.len().gt(0).tolist()        # which layer does not ship, why
    [False, True, False]

res.evaluated has the move that produced each config (and `on_path` for the moves applied);
res.front is the Pareto front of (metric, weight bytes, latency) over everything evaluated;
res.explanation says per layer what it got on the search path and why (its sensitivity per
saved bit).

Candidates (default: weights int 8, 6, 4, 3, 2 per channel, candidates.weight_candidate; a
tuple of bit widths picks others; of these only int8 and int4 ship, so only they are searched
unless simulation_only, see "Deployable" below) are per-layer LayerConfigs {name: LayerConfig};
a candidate's weights replace the `base` config's weights of the layer and its activations,
when set, replace the base's (base default: float activations, so the default search is
weight-only; pass base=PRESETS["w8a8"] to keep uint8 activations).

Strategy (HAWQ / AIMET-AMP style, deterministic):
  1. sensitivity: each layer alone at each candidate (others float), `proxy` damage
     (default kl, see sweep.damage) on the data: d[layer][candidate];
  2. start with every layer at its largest candidate; repeat: rank every one-step
     demotion (layer -> its next smaller candidate) by the predicted cost per saved bit
     (d[next] - d[current]) / (8 * saved bytes), evaluate the best `verify` of them for real
     (the whole config, on the data) and apply the one with the smallest *measured* proxy
     increase per saved bit (ties: graph order);
  3. stop when the budget holds (size budgets: predicted exactly; latency: measured on the
     deployed model, or the simulated one when a config has no native form), or when no
     demotion is left or `cancel` is set.
Bounded cost: at most `max_evaluations` full configs are evaluated (default: a quarter of the
L*B sensitivity passes, at least 24, so the search costs about 1.25 sweeps plus the segment
sessions those configs build), and the budget is still reached: while the demotions predicted to be left (n) times `verify` fit in what is
left of them (e), steps are verified as above; when only n fit, each step applies the
predicted cheapest demotion and evaluates the result once; when not even n fit, a step
applies ceil(n / e) predicted demotions at once. A 3-layer model keeps the verified path; a
121-layer one takes about 60 full evaluations instead of 3 per step.
Latency budgets: the path is the same size-driven one, each applied step is timed
(latency.config_latency); weight-only int8/int4 Conv layers run in float in onnxruntime, so
for real speed-ups search with base=PRESETS["w8a8"] (integer kernels) — 6/3/2-bit candidates
have no native form and are timed as simulated models (flagged `native_speedup` False).
`metric` and `proxy` are sweep metrics (accuracy, agreement, kl, sqnr_db); without labels
accuracy becomes agreement; they follow the outputs' kinds as the sweep does (sweep.resolve_metric:
no output with a class decision -> sqnr_db, said in `note`; `output_kind` overrides the kinds).
`best`: the evaluated config within the budget with the highest metric (accuracy with
labels, else -proxy), ties broken by fewer bytes; `explanation` describes that config (it may
be a verified alternative of the last step rather than the move applied).
Deployable: a candidate a layer cannot ship (no onnxruntime form: 6-, 3-, 2-bit weights, ...;
candidates.no_deploy_reason) is left out for that layer: the explanation's `not_searched`
column says which and why; `simulation_only=True` keeps them, and its `simulation_only` column
gives each layer's reason ("" when its candidate ships).
Cost: L*B sensitivity passes (shared sessions, streamed layer by layer as in the sweep) + at most max_evaluations full configs; a
step changes one layer, so each evaluation rebuilds one segment's session and runs the model
from that segment on (session_cache.Runner), keeping at most `memory_budget_bytes` of tensors.
Memory: the sensitivity's sessions (a layer's suffix, the float segments streaming its cuts)
are freed before the full configs run, so those hold one model's segment sessions (+ the one
being replaced) and the Runner's budget of tensors.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from qviz.config import LayerConfig, ModelConfig
from qviz.evaluate.accuracy import decision_accuracy
from qviz.evaluate.candidates import no_deploy_reason, weight_candidate
from qviz.evaluate.evaluation import make_runner, output_kinds
from qviz.evaluate.latency import config_latency
from qviz.evaluate.layer_error import is_cancelled
from qviz.evaluate.metric_names import scores
from qviz.evaluate.pareto import pareto_front
from qviz.evaluate.results import SearchResult
from qviz.evaluate.size import spec_bytes, weight_size
from qviz.evaluate.sweep import damage, measure, metric_note, resolve_metric
from qviz.model.simulate.resolve import resolve_layer
from qviz.quant.spec import SpecError

BUDGET_KINDS = ("bytes", "bpw", "latency_ms")
DEFAULT_BITS = (8, 6, 4, 3, 2)
MIN_EVALUATIONS = 24
EVALUATIONS_PER_CELL = 0.25  # default max_evaluations: a quarter of the sensitivity's L*B passes


@dataclass(frozen=True)
class Budget:
    """kind: bytes (total weight bytes), bpw (bits per weight) or latency_ms (median)."""

    kind: str
    value: float

    def __post_init__(self):
        if self.kind not in BUDGET_KINDS:
            raise SpecError(f"budget kind must be one of {', '.join(BUDGET_KINDS)}; got {self.kind!r}")
        if isinstance(self.value, bool) or not isinstance(self.value, (int, float)) or not self.value > 0:
            raise SpecError(f"budget {self.kind} must be a positive number; got {self.value!r}")


def default_candidates(bits=DEFAULT_BITS) -> dict[str, LayerConfig]:
    return {f"w{b}": weight_candidate(b) for b in bits}


def merged(base: ModelConfig, layer_id: str, cand: LayerConfig) -> LayerConfig:
    """The base layer config with the candidate's weights (and activations, when it has them)."""
    b = base.for_layer(layer_id)
    if cand.activations is None:
        return dataclasses.replace(b, weights=cand.weights, weights_axis=cand.weights_axis)
    return cand


class _Search:
    """State of one search run (kept in one object so each step stays a short method)."""

    def __init__(self, runner, budget, cands, base, proxy, opts: dict, fouts, kinds):
        self.r, self.budget, self.base, self.proxy = runner, budget, base, proxy
        self.verify, self.max_evaluations = opts["verify"], opts["max_evaluations"]
        self.progress, self.cancel, self.latency_runs = opts["progress"], opts["cancel"], opts["latency_runs"]
        self.simulation_only = opts["simulation_only"]
        self.names = list(cands)
        self.excluded: dict[str, str] = {}  # candidate name -> why it does not ship (first reason seen)
        self.sim_only: dict[tuple[str, str], str] = {}  # (layer id, candidate) -> why it does not ship
        self.cands = {x.id: self._order(x, cands) for x in runner.layers}
        self.layers = [x for x in runner.layers if self.cands[x.id]]  # layers with a candidate that ships
        self.fouts, self.kinds, self.y = fouts, kinds, runner.data.labels
        self.baseline = {"accuracy": decision_accuracy(kinds, fouts, self.y)}
        self.rows: list[dict] = []
        self.row_moves: list[list[tuple]] = []  # per row: (layer id, measured, predicted cost per bit)
        self.sens: dict = {}
        self.cancelled = False
        self._offset, self._params = 0, 1.0  # exact bytes - candidate bytes; weights counted (start row)

    def _order(self, layer, cands) -> list[tuple[str, LayerConfig, int]]:
        """(name, layer config, weight bytes) by bytes, largest first (ties: given order); the
        candidates that do not ship are left out unless simulation_only (module doc)."""
        items = []
        for name, c in cands.items():
            lc = merged(self.base, layer.id, c)
            why = no_deploy_reason(layer, lc)
            if why:
                self.excluded.setdefault(name, why)
                if not self.simulation_only:
                    continue
                self.sim_only[(layer.id, name)] = why
            spec = resolve_layer(layer, ModelConfig(default=lc)).weights
            items.append((name, lc, spec_bytes(layer.weight_shape, spec, np.dtype(layer.weight_dtype).itemsize)))
        return sorted(items, key=lambda t: -t[2])

    def stop(self) -> bool:
        if self.cancel is not None and is_cancelled(self.cancel):
            self.cancelled = True
        return self.cancelled

    def sensitivity(self) -> None:
        total = sum(len(self.cands[x.id]) for x in self.layers)
        for layer in self.layers:
            self.sens[layer.id] = []
            for name, lc, _ in self.cands[layer.id]:
                if self.stop():
                    return
                m = measure(self.r, ModelConfig().with_layer(layer.id, lc), self.fouts, self.y, self.kinds)
                self.sens[layer.id].append(damage(self.proxy, m, self.baseline))
                self._tick(f"sensitivity {layer.id} {name}", total)
        self.r.release_layer_sessions()  # full configs run on the segment chain

    def _tick(self, label: str, total: int | None = None) -> None:
        if self.progress is not None:
            done = sum(len(v) for v in self.sens.values()) + len(self.rows)
            self.progress(done, max(done, total or done + 1), label)

    def config(self, idx: dict) -> ModelConfig:
        layers = {x.id: self.cands[x.id][idx[x.id]][1] for x in self.layers}
        return dataclasses.replace(self.base, layers={**dict(self.base.layers), **layers})

    def size(self, idx: dict) -> int:
        return sum(self.cands[x.id][idx[x.id]][2] for x in self.layers)

    def evaluate(self, idx: dict, move: str, step: int, latency: bool, moved: list | None = None) -> dict:
        cfg = self.config(idx)
        m = measure(self.r, cfg, self.fouts, self.y, self.kinds)
        size = weight_size(self.r.sim.layers, self.r.sim.loaded.weights, cfg)
        lat = config_latency(self.r.sim, cfg, self.r.data.feeds[0], runs=self.latency_runs) if latency else None
        row = {
            "step": step,
            "move": move,
            "config": cfg.to_json(),
            "weight_bytes": size.weight_bytes,
            "bits_per_weight": size.bits_per_weight,
            "accuracy": m["accuracy"],
            "agreement": m["agreement"],
            "sqnr_db": m["sqnr_db"],
            "kl": m["kl"],
            "damage": damage(self.proxy, m, self.baseline),
            "latency_ms": lat.median_ms if lat else None,
            "native_speedup": lat.native_speedup if lat else None,
            "on_path": False,
            "assignment": {k: self.cands[k][v][0] for k, v in idx.items()},
        }
        self.rows.append(row)
        self.row_moves.append(moved or [])
        self._tick(f"step {step}: {move}")
        return row

    def meets(self, row: dict) -> bool:
        b = self.budget
        if b.kind == "bytes":
            return row["weight_bytes"] <= b.value
        if b.kind == "bpw":
            return row["bits_per_weight"] <= b.value
        return row["latency_ms"] is not None and row["latency_ms"] <= b.value

    def predicted_meets(self, idx: dict) -> bool:
        """Does `idx` meet a size budget? (Exact: the start row gave the bytes outside the
        candidates and the weights counted. A latency budget is never predicted.)"""
        total = self.size(idx) + self._offset
        if self.budget.kind == "bytes":
            return total <= self.budget.value
        return self.budget.kind == "bpw" and 8 * total / self._params <= self.budget.value

    def steps_left(self, idx: dict) -> int:
        """Predicted demotions until the budget holds (all those left when it is never predicted to)."""
        n = 0
        while not self.predicted_meets(idx):
            moves = self.moves(idx)
            if not moves:
                break
            idx = {**idx, moves[0][2]: idx[moves[0][2]] + 1}
            n += 1
        return n

    def moves(self, idx: dict) -> list[tuple[float, int, str]]:
        """(predicted cost per saved bit, graph position, layer id) of every one-step demotion."""
        out = []
        for pos, layer in enumerate(self.layers):
            i, c = idx[layer.id], self.cands[layer.id]
            if i + 1 < len(c) and c[i][2] > c[i + 1][2]:
                s = self.sens[layer.id]
                out.append((max(s[i + 1] - s[i], 0.0) / (8 * (c[i][2] - c[i + 1][2])), pos, layer.id))
        return sorted(out)

    def run(self) -> None:
        latency = self.budget.kind == "latency_ms"
        idx = {x.id: 0 for x in self.layers}
        cur = self.evaluate(idx, "start: every layer at its largest candidate", 0, latency)
        cur["on_path"] = True
        self._offset = cur["weight_bytes"] - self.size(idx)
        self._params = 8 * cur["weight_bytes"] / max(cur["bits_per_weight"], 1e-12)
        step = 0
        while not self.meets(cur) and not self.stop():
            moves, left = self.moves(idx), self.max_evaluations - len(self.rows)
            if not moves or left <= 0:
                break
            step += 1
            need = max(1, self.steps_left(idx))
            if need * min(self.verify, len(moves)) <= left:
                cur, idx = self._step(idx, cur, moves[: self.verify], step, latency)
            else:  # not enough evaluations left to verify: follow the prediction (module doc)
                cur, idx = self._jump(idx, cur, math.ceil(need / left), step, latency)

    def _demote(self, idx: dict, lid: str) -> tuple[dict, str, int]:
        """(idx with `lid` one candidate lower, "lid: w8 -> w4", bits saved)."""
        c, i = self.cands[lid], idx[lid]
        return {**idx, lid: i + 1}, f"{lid}: {c[i][0]} -> {c[i + 1][0]}", 8 * (c[i][2] - c[i + 1][2])

    def _step(self, idx, cur, moves, step, latency):
        """Evaluate the top moves for real; apply the one with the least measured cost per saved bit."""
        best = None
        for pred, _, lid in moves:
            trial, text, saved = self._demote(idx, lid)
            row = self.evaluate(trial, text, step, latency and len(moves) == 1)
            real = max(row["damage"] - cur["damage"], 0.0) / saved
            self.row_moves[-1] = [(lid, real, pred)]
            if best is None or real < best[0]:
                best = (real, trial, row)
            if self.stop() or len(self.rows) >= self.max_evaluations:
                break
        assert best is not None  # moves is never empty: run() checks it and verify >= 1
        _, trial, row = best
        if latency and row["latency_ms"] is None:
            lat = config_latency(self.r.sim, self.config(trial), self.r.data.feeds[0], runs=self.latency_runs)
            row.update(latency_ms=lat.median_ms, native_speedup=lat.native_speedup)
        row["on_path"] = True
        return row, trial

    def _jump(self, idx, cur, k: int, step: int, latency: bool):
        """Apply the k predicted cheapest demotions (fewer if the budget is predicted to hold
        before), evaluate the result once: on the path."""
        moved, texts = [], []
        for _ in range(k):
            moves = self.moves(idx)
            if not moves:
                break
            pred, _, lid = moves[0]
            idx, text, _ = self._demote(idx, lid)
            moved.append((lid, None, pred))
            texts.append(text)
            if self.predicted_meets(idx):
                break
        row = self.evaluate(idx, "; ".join(texts) + " (predicted)", step, latency, moved)
        row["on_path"] = True
        return row, idx


def search(
    model,
    data,
    budget,
    *,
    candidates=None,
    calib=None,
    base: ModelConfig | None = None,
    metric: str = "accuracy",
    proxy: str = "kl",
    verify: int = 3,
    max_evaluations: int | None = None,
    progress=None,
    cancel=None,
    latency_runs: int = 20,
    output_kind=None,
    memory_budget_bytes: int | None = None,
    simulation_only: bool = False,
) -> SearchResult:
    """Mixed-precision search (module doc). budget: Budget, or {"bytes": N} / {"bpw": x} / {"latency_ms": t};
    `memory_budget_bytes`: the most the Runner keeps of the model's tensors (default 1 GiB);
    `max_evaluations`: the most full configs evaluated (default: module doc); `simulation_only`: also search candidates
    that do not ship (module doc)."""
    t0 = time.perf_counter()
    budget = _as_budget(budget)
    if max_evaluations is not None and (
        isinstance(max_evaluations, bool) or not isinstance(max_evaluations, int) or max_evaluations < 1
    ):
        raise SpecError(f"max_evaluations must be a whole number, 1 or more; got {max_evaluations!r}")
    runner = make_runner(model, data, calib=calib, memory_budget_bytes=memory_budget_bytes)
    if not runner.layers:
        already = sum(x.quantized for x in runner.sim.layers)
        hint = (
            f" ({already} are already quantized: `qviz dequantize` writes the float model to search)" if already else ""
        )
        raise SpecError(f"the model has no quantizable float layers{hint}: nothing to search")
    labeled = runner.data.labels is not None
    fouts = runner.float_outputs()
    kinds = output_kinds(runner, fouts, output_kind)
    asked = (metric, proxy)
    metric, proxy = resolve_metric(metric, labeled, kinds), resolve_metric(proxy, labeled, kinds)
    notes = [metric_note(a, b, kinds) for a, b in zip(asked, (metric, proxy), strict=True)]
    cands = candidates if isinstance(candidates, dict) else default_candidates(tuple(candidates or DEFAULT_BITS))
    opts = {
        "verify": max(1, verify),
        "max_evaluations": max_evaluations,
        "progress": progress,
        "cancel": cancel,
        "latency_runs": latency_runs,
        "simulation_only": simulation_only,
    }
    s = _Search(runner, budget, cands, base or ModelConfig(), proxy, opts, fouts, kinds)
    if s.max_evaluations is None:
        cells = sum(len(s.cands[x.id]) for x in s.layers)
        s.max_evaluations = max(MIN_EVALUATIONS, math.ceil(EVALUATIONS_PER_CELL * cells))
    if not s.layers:
        raise SpecError(
            f"no candidate has a deployable form on any layer ({shipping_note(s)}); "
            "simulation_only=True (--simulation-only) searches them"
        )
    s.sensitivity()
    if not s.cancelled:
        s.run()
    evaluated = pd.DataFrame(s.rows)
    best = _best_index(evaluated, s, metric)
    return SearchResult(
        dataclasses.asdict(budget),
        metric,
        evaluated,
        pareto_front(evaluated, metric),
        None if best is None else evaluated.iloc[best].to_dict(),
        explain(s, best),
        s.cancelled,
        time.perf_counter() - t0,
        "; ".join(dict.fromkeys(n for n in notes if n)),
        kinds,
    )


def shipping_note(s: _Search, layer_id: str | None = None) -> str:
    """The candidates left out (of `layer_id`, else of any layer) because they do not ship, and
    why, grouped by what onnxruntime has: "w6, w3, w2: onnxruntime has int4 and int8 weights only..."."""
    if s.simulation_only:
        return ""
    names = [n for n in s.excluded if layer_id is None or all(n != c[0] for c in s.cands[layer_id])]
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(s.excluded[name].split(": ", 1)[-1], []).append(name)
    return "; ".join(f"{', '.join(group)}: {reason}" for reason, group in groups.items())


def _as_budget(budget) -> Budget:
    if isinstance(budget, Budget):
        return budget
    if isinstance(budget, dict) and len(budget) == 1:
        ((kind, value),) = budget.items()
        return Budget(kind, value)
    raise SpecError(
        f"budget must be a Budget or one of {{'bytes': N}}, {{'bpw': x}}, {{'latency_ms': t}}; got {budget!r}"
    )


def _best_index(df: pd.DataFrame, s: _Search, metric: str) -> int | None:
    """Position in `df` of the config within the budget with the best metric (fewer bytes, then
    earlier step, on ties); None when none meets the budget."""
    if df.empty:
        return None
    ok = df[[s.meets(r) for r in df.to_dict("records")]]
    if ok.empty:
        return None
    order = ok.assign(_s=scores(ok[metric], metric), _pos=np.arange(len(df))[ok.index]).sort_values(
        ["_s", "weight_bytes", "step"], ascending=[False, True, True], kind="stable"
    )
    return int(order["_pos"].iloc[0])


def _moves_to(s: _Search, best: int) -> dict[str, tuple]:
    """Per layer, the last move (step, measured, predicted) that made row `best`'s config: the
    path's moves before its step, then its own."""
    step = s.rows[best]["step"]
    out: dict[str, tuple] = {}
    for j, row in enumerate(s.rows):
        if (row["on_path"] and row["step"] < step) or j == best:
            for lid, real, pred in s.row_moves[j]:
                out[lid] = (row["step"], real, pred)
    return out


def explain(s: _Search, best: int | None = None) -> pd.DataFrame:
    """Per layer: the candidate it has in the best config (else the path's last) and why
    (sensitivity per saved bit)."""
    if best is None:
        path = [j for j, r in enumerate(s.rows) if r["on_path"]]
        best = path[-1] if path else None
    if best is None:
        return pd.DataFrame()
    final, taken = s.rows[best]["assignment"], _moves_to(s, best)
    rows = []
    for layer in s.layers:
        c = s.cands[layer.id]
        i = [n for n, _, _ in c].index(final[layer.id])
        rows.append(_explain_row(s, layer, c, i, taken.get(layer.id)))
    return pd.DataFrame(rows)


def _explain_row(s: _Search, layer, c, i: int, taken: tuple | None) -> dict:
    sens = s.sens.get(layer.id, [])
    nxt = None
    if i + 1 < len(c) and len(sens) > i + 1 and c[i][2] > c[i + 1][2]:
        nxt = max(sens[i + 1] - sens[i], 0.0) / (8 * (c[i][2] - c[i + 1][2]))
    if i == 0:
        why = f"kept at {c[0][0]}: never the cheapest demotion"
    else:
        assert taken is not None  # i > 0: a move on the way to this config lowered the layer
        step, real, pred = taken
        how = (
            f"measured {real:.3g} {s.proxy} per saved bit"
            if real is not None
            else f"predicted {pred:.3g} {s.proxy} per saved bit (not verified alone)"
        )
        why = f"lowered to {c[i][0]} (last at step {step}): {how}"
    if nxt is not None:
        why += f"; next ({c[i + 1][0]}) would cost {nxt:.3g} {s.proxy} per saved bit (alone)"
    return {
        "layer": layer.id,
        "candidate": c[i][0],
        "weight_bytes": c[i][2],
        "params": int(np.prod(layer.weight_shape)),
        "sensitivity": sens[i] if len(sens) > i else None,
        "next_cost_per_bit": nxt,
        "why": why,
        "simulation_only": s.sim_only.get((layer.id, c[i][0]), ""),
        "not_searched": shipping_note(s, layer.id),
    }
