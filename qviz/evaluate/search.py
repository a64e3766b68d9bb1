"""Mixed-precision search: which bits each layer gets under a size or latency budget.

    >>> from qviz.evaluate import from_sample
    >>> from qviz.samples import load_sample
    >>> sample = load_sample("digits_mlp")
    >>> data = from_sample(sample, "calibration")
    >>> res = search(sample.model_bytes, data, Budget("bpw", 4.5), calib=sample.calibration.x)
    >>> res.best["assignment"]                     # res.best["config"]: the same, as config JSON
    {'/net/net.0/Gemm': 'w4', '/net/net.2/Gemm': 'w3', '/net/net.4/Gemm': 'w8'}
    >>> res.best["weight_bytes"], round(res.best["bits_per_weight"], 2), res.best["accuracy"]
    (8616, 4.05, 0.95)
    >>> len(res.evaluated), len(res.front)         # every config evaluated; the Pareto front of them
    (16, 1)

res.evaluated has the move that produced each config (and `on_path` for the moves applied);
res.front is the Pareto front of (metric, weight bytes, latency) over everything evaluated;
res.explanation says per layer what it got on the search path and why (its sensitivity per
saved bit).

Candidates (default: weights int 8, 6, 4, 3, 2 per channel, candidates.weight_candidate; a
tuple of bit widths picks others) are per-layer LayerConfigs {name: LayerConfig}; a candidate's weights replace the `base` config's weights of the
layer and its activations, when set, replace the base's (base default: float activations,
so the default search is weight-only; pass base=PRESETS["w8a8"] to keep uint8 activations).

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
     demotion is left, `max_evaluations` is reached or `cancel` is set.
Latency budgets: the path is the same size-driven one, each applied step is timed
(latency.config_latency); weight-only int8/int4 Conv layers run in float in onnxruntime, so
for real speed-ups search with base=PRESETS["w8a8"] (integer kernels) — 6/3/2-bit candidates
have no native form and are timed as simulated models (flagged `native_speedup` False).
`metric` and `proxy` are sweep metrics (accuracy, agreement, kl, sqnr_db); without labels
accuracy becomes agreement; they follow the outputs' kinds as the sweep does (sweep.resolve_metric:
no output with a class decision -> sqnr_db, said in `note`; `output_kind` overrides the kinds).
`best`: the evaluated config within the budget with the highest metric (accuracy with
labels, else -proxy), ties broken by fewer bytes. Cost: L*(B-1) sensitivity passes (shared
sessions, streamed layer by layer as in the sweep) + about verify evaluations per step; a step
changes one layer, so each evaluation rebuilds one segment's session and runs the model from
that segment on (session_cache.Runner), keeping at most `memory_budget_bytes` of tensors.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from qviz.config import LayerConfig, ModelConfig
from qviz.evaluate.accuracy import decision_accuracy
from qviz.evaluate.candidates import weight_candidate
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

    def __init__(
        self, runner, budget, cands, base, proxy, verify, max_evaluations, progress, cancel, latency_runs, fouts, kinds
    ):
        self.r, self.budget, self.base, self.proxy = runner, budget, base, proxy
        self.verify, self.max_evaluations, self.progress, self.cancel = verify, max_evaluations, progress, cancel
        self.latency_runs = latency_runs
        self.layers = runner.layers
        self.names = list(cands)
        self.cands = {x.id: self._order(x, cands) for x in self.layers}
        self.fouts, self.kinds, self.y = fouts, kinds, runner.data.labels
        self.baseline = {"accuracy": decision_accuracy(kinds, fouts, self.y)}
        self.rows: list[dict] = []
        self.sens: dict = {}
        self.cancelled = False

    def _order(self, layer, cands) -> list[tuple[str, LayerConfig, int]]:
        """(name, layer config, weight bytes) by bytes, largest first (ties: given order)."""
        items = []
        for name, c in cands.items():
            lc = merged(self.base, layer.id, c)
            spec = resolve_layer(layer, ModelConfig(default=lc)).weights
            items.append((name, lc, spec_bytes(layer.weight_shape, spec, np.dtype(layer.weight_dtype).itemsize)))
        return sorted(items, key=lambda t: -t[2])

    def stop(self) -> bool:
        if self.cancel is not None and is_cancelled(self.cancel):
            self.cancelled = True
        return self.cancelled

    def sensitivity(self) -> None:
        total = sum(len(c) for c in self.cands.values())
        for layer in self.layers:
            self.sens[layer.id] = []
            for name, lc, _ in self.cands[layer.id]:
                if self.stop():
                    return
                m = measure(self.r, ModelConfig().with_layer(layer.id, lc), self.fouts, self.y, self.kinds)
                self.sens[layer.id].append(damage(self.proxy, m, self.baseline))
                self._tick(f"sensitivity {layer.id} {name}", total)

    def _tick(self, label: str, total: int | None = None) -> None:
        if self.progress is not None:
            done = sum(len(v) for v in self.sens.values()) + len(self.rows)
            self.progress(done, max(done, total or done + 1), label)

    def config(self, idx: dict) -> ModelConfig:
        layers = {x.id: self.cands[x.id][idx[x.id]][1] for x in self.layers}
        return dataclasses.replace(self.base, layers={**dict(self.base.layers), **layers})

    def size(self, idx: dict) -> int:
        return sum(self.cands[x.id][idx[x.id]][2] for x in self.layers)

    def evaluate(self, idx: dict, move: str, step: int, latency: bool) -> dict:
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
        self._tick(f"step {step}: {move}")
        return row

    def meets(self, row: dict) -> bool:
        b = self.budget
        if b.kind == "bytes":
            return row["weight_bytes"] <= b.value
        if b.kind == "bpw":
            return row["bits_per_weight"] <= b.value
        return row["latency_ms"] is not None and row["latency_ms"] <= b.value

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
        self.taken: dict = {}
        step = 0
        while not self.meets(cur) and not self.stop() and len(self.rows) < self.max_evaluations:
            moves = self.moves(idx)
            if not moves:
                break
            step += 1
            cur, idx = self._step(idx, cur, moves[: self.verify], step, latency)

    def _step(self, idx, cur, moves, step, latency):
        """Evaluate the top moves for real; apply the one with the least measured cost per saved bit."""
        best = None
        for pred, _, lid in moves:
            trial = {**idx, lid: idx[lid] + 1}
            c = self.cands[lid]
            saved = 8 * (c[idx[lid]][2] - c[idx[lid] + 1][2])
            row = self.evaluate(
                trial, f"{lid}: {c[idx[lid]][0]} -> {c[idx[lid] + 1][0]}", step, latency and len(moves) == 1
            )
            real = max(row["damage"] - cur["damage"], 0.0) / saved
            if best is None or real < best[0]:
                best = (real, pred, lid, trial, row)
            if self.stop() or len(self.rows) >= self.max_evaluations:
                break
        assert best is not None  # moves is never empty: run() checks it and verify >= 1
        real, pred, lid, trial, row = best
        if latency and row["latency_ms"] is None:
            lat = config_latency(self.r.sim, self.config(trial), self.r.data.feeds[0], runs=self.latency_runs)
            row.update(latency_ms=lat.median_ms, native_speedup=lat.native_speedup)
        row["on_path"] = True
        self.taken[lid] = (step, real, pred)
        return row, trial


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
    max_evaluations: int = 400,
    progress=None,
    cancel=None,
    latency_runs: int = 20,
    output_kind=None,
    memory_budget_bytes: int | None = None,
) -> SearchResult:
    """Mixed-precision search (module doc). budget: Budget, or {"bytes": N} / {"bpw": x} / {"latency_ms": t};
    `memory_budget_bytes`: the most the Runner keeps of the model's tensors (default 1 GiB)."""
    t0 = time.perf_counter()
    budget = _as_budget(budget)
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
    s = _Search(
        runner,
        budget,
        cands,
        base or ModelConfig(),
        proxy,
        max(1, verify),
        max_evaluations,
        progress,
        cancel,
        latency_runs,
        fouts,
        kinds,
    )
    s.sensitivity()
    if not s.cancelled:
        s.run()
    evaluated = pd.DataFrame(s.rows)
    return SearchResult(
        dataclasses.asdict(budget),
        metric,
        evaluated,
        pareto_front(evaluated, metric),
        _best(evaluated, s, metric),
        explain(s),
        s.cancelled,
        time.perf_counter() - t0,
        "; ".join(dict.fromkeys(n for n in notes if n)),
        kinds,
    )


def _as_budget(budget) -> Budget:
    if isinstance(budget, Budget):
        return budget
    if isinstance(budget, dict) and len(budget) == 1:
        ((kind, value),) = budget.items()
        return Budget(kind, value)
    raise SpecError(
        f"budget must be a Budget or one of {{'bytes': N}}, {{'bpw': x}}, {{'latency_ms': t}}; got {budget!r}"
    )


def _best(df: pd.DataFrame, s: _Search, metric: str) -> dict | None:
    if df.empty:
        return None
    ok = df[[s.meets(r) for r in df.to_dict("records")]]
    if ok.empty:
        return None
    order = ok.assign(_s=scores(ok[metric], metric)).sort_values(
        ["_s", "weight_bytes", "step"], ascending=[False, True, True], kind="stable"
    )
    return order.drop(columns="_s").iloc[0].to_dict()


def explain(s: _Search) -> pd.DataFrame:
    """Per layer: the candidate it ended with and why (sensitivity per saved bit)."""
    path = [r for r in s.rows if r["on_path"]]
    final = path[-1]["assignment"] if path else {}
    rows = []
    for layer in s.layers:
        name = final.get(layer.id)
        if name is None:
            continue
        c = s.cands[layer.id]
        i = [n for n, _, _ in c].index(name)
        rows.append(_explain_row(s, layer, c, i))
    return pd.DataFrame(rows)


def _explain_row(s: _Search, layer, c, i: int) -> dict:
    sens = s.sens.get(layer.id, [])
    nxt = None
    if i + 1 < len(c) and len(sens) > i + 1 and c[i][2] > c[i + 1][2]:
        nxt = max(sens[i + 1] - sens[i], 0.0) / (8 * (c[i][2] - c[i + 1][2]))
    taken = getattr(s, "taken", {}).get(layer.id)
    if i == 0:
        why = f"kept at {c[0][0]}: never the cheapest demotion"
    else:
        assert taken is not None  # i > 0: the search lowered this layer, so it took a step for it
        why = f"lowered to {c[i][0]} (last at step {taken[0]}): measured {taken[1]:.3g} {s.proxy} per saved bit"
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
    }
