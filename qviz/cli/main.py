"""qviz command line: the same functions as the app, from a terminal.

    qviz inspect MODEL [--json]        MODEL: a .onnx path or a bundled sample id
    qviz quantize MODEL --out OUT.onnx [--preset NAME | --config CFG.json] [--deploy] [--calib DATA.npz]
    qviz export-config MODEL [--preset NAME | --config CFG.json] --ort-overrides OUT.json
    qviz evaluate MODEL [--preset NAME | --config CFG.json] [--data DATA.npz] [--json] [--per-class]
    qviz sweep MODEL [--bits 2,4,8] [--data DATA.npz] [--json | --csv OUT] [--memory-mb MB] [--simulation-only]
                   (evaluate, sweep, search: [--output-kind auto|classes|binary|values[:AXIS][:logits|:probabilities]])
    qviz search MODEL (--budget-bytes N | --budget-bpw X | --budget-latency-ms T) [--json] [--out CFG.json]
                   [--simulation-only] [--max-evaluations N]   (default: only candidates that deploy)
                   (sweep, search: --memory-mb MB, the most of the model's tensors kept between passes, default 1024)
    qviz dequantize MODEL --out FLOAT.onnx   an already-quantized QDQ model as float, to quantize again
    qviz check MODEL [--preset NAME | --config CFG.json] [--data DATA] [--calib DATA] [--json]
                                     the deployed model against the simulation, tensor by tensor (cli/check.py)
    qviz app [STREAMLIT OPTIONS...]    the app in the browser (qviz/cli/serve.py)

Every command taking MODEL also takes --max-model-mb MB (default QVIZ_MAX_MODEL_MB, else 200):
the cap on the model, its external data files (read from the model's folder) included.

--data / --calib take a .npz, an image folder or .zip (--preprocess, --classes) or a .txt/.csv
of text (--tokenizer, --seq-len): qviz/cli/data_args.py.

Adding a command: write `_add_<name>(sub)` that creates the subparser and sets
`func=<handler(args) -> int>`, and append it to `COMMANDS`. Handlers raise ValueError
(ModelError, SpecError...) for user errors; `main` turns any exception into one line
`qviz: error: ...` on stderr and exit code 2 (the traceback only with --debug).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path

from qviz.cli.check import add_check_options, run_check
from qviz.cli.data_args import add_data_options, check_data_options, read_data
from qviz.cli.serve import add_app

EXIT_ERROR = 2


class UsageError(Exception):
    """Bad command-line usage (argparse would otherwise print usage and exit itself)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage block
        raise UsageError(message)


def resolve_model(ref: str, max_model_mb: int | None = None):
    """Load MODEL: an existing path (its external data files beside it), else a bundled sample id
    (qviz.samples). `max_model_mb`: the size cap (default QVIZ_MAX_MODEL_MB, else 200)."""
    from qviz import samples
    from qviz.model import ModelError, load_model

    path = Path(ref)
    if path.exists():
        return load_model(path, max_bytes=None if max_model_mb is None else max_model_mb * 2**20)
    ids = [x.id for x in samples.list_samples()]
    if ref in ids:
        return load_model(samples.load_sample(ref).model_bytes)
    raise ModelError(f"no such file or bundled sample: {ref!r} (bundled samples: {', '.join(ids)})")


def model_args(p) -> None:
    """MODEL and its size cap: every command that takes a model has both."""
    p.add_argument("model", metavar="MODEL", help="path to a .onnx file (external data files beside it) or a sample id")
    p.add_argument(
        "--max-model-mb",
        type=_positive_int,
        metavar="MB",
        help="refuse models larger than this, external data included (default: QVIZ_MAX_MODEL_MB, else 200)",
    )


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of MiB (1 or more); got {text!r}")
    return int(text)


def _json_default(x):
    if hasattr(x, "item"):  # numpy scalars
        return x.item()
    if isinstance(x, tuple):
        return list(x)
    raise TypeError(f"not JSON-serializable: {type(x).__name__}")


def inspect_report(loaded) -> dict:
    """The JSON document `qviz inspect --json` prints: model summary + layers + weight stats."""
    from dataclasses import asdict

    from qviz.model import layer_table, weight_stats
    from qviz.model.load.prequantized import existing_quantization

    layers = layer_table(loaded)
    stats = weight_stats(loaded, layers).astype(object).where(lambda d: d.notna(), None)
    existing = {k: v.to_dict() for k, v in existing_quantization(loaded, layers).items()}
    return {
        "model": loaded.summary(),
        "layers": [asdict(x) for x in layers],
        "weight_stats": stats.to_dict("records"),
        "existing_quantization": existing,  # already-quantized layers: what the model stores (prequantized.py)
    }


def inspect_text(loaded) -> str:
    """The human-readable `qviz inspect` report: summary lines, then the layer table."""
    import pandas as pd

    from qviz.model import layer_table, layers_dataframe

    s = loaded.summary()
    lines = [
        f"model     sha256 {s['sha256'][:16]}...  {s['file_size']:,} bytes  IR {s['ir_version']}  opsets {s['opsets']}",
        f"params    {s['param_count']:,}",
    ]
    lines += [
        f"{kind[:-1]:9s} {t['name']}: {t['dtype']} {t['shape']}" for kind in ("inputs", "outputs") for t in s[kind]
    ]
    lines.append("ops       " + ", ".join(f"{k} x{v}" for k, v in sorted(s["op_counts"].items())))
    lines += [f"note      {n}" for n in loaded.notes]  # what loading normalized (qviz.model.load.normalize)
    lines += [f"warning   {w}" for w in s["warnings"]]
    layers = layer_table(loaded)
    if not layers:
        lines.append(
            "\nNo quantizable layers (Conv, ConvTranspose, Gemm, MatMul with a constant operand, LSTM/GRU, Attention)."
        )
        return "\n".join(lines)
    cols = ["id", "op_type", "weight_name", "weight_shape", "channel_axis", "params", "macs", "quantized"]
    cols += ["graph"] if any(x.graph for x in layers) else []  # layers inside If/Loop/Scan bodies
    with pd.option_context("display.width", 200, "display.max_rows", 10_000, "display.max_colwidth", 40):
        lines.append(f"\n{len(layers)} quantizable layers:\n" + layers_dataframe(layers)[cols].to_string(index=False))
    lines += _existing_quantization_lines(loaded, layers)
    return "\n".join(lines)


def _existing_quantization_lines(loaded, layers) -> list[str]:
    """The already-quantized layers and what the model stores for each (prequantized.py)."""
    from qviz.model.load.prequantized import existing_quantization, summary

    infos = existing_quantization(loaded, layers)
    if not infos:
        return []
    width = min(40, max(len(k) for k in infos))
    return [
        f"\n{summary(infos, len(layers))}",
        "(configs leave them as they are; `qviz dequantize MODEL --out FLOAT.onnx` writes the float model to quantize)",
        *(f"  {k[:width]:{width}s}  {v.describe()}" for k, v in infos.items()),
    ]


def cmd_inspect(args) -> int:
    loaded = resolve_model(args.model, args.max_model_mb)
    # NOTE: build the whole report before printing, so an error never leaves half a report.
    text = json.dumps(inspect_report(loaded), default=_json_default, indent=2) if args.json else inspect_text(loaded)
    print(text)
    return 0


def _add_inspect(sub) -> None:
    p = sub.add_parser("inspect", help="summarize a model and list its quantizable layers")
    model_args(p)
    p.add_argument("--json", action="store_true", help="print machine-readable JSON only")
    p.set_defaults(func=cmd_inspect)


def load_config(args):
    """The ModelConfig of --preset NAME or --config CFG.json (default preset w8a8)."""
    from qviz.config import ModelConfig, preset

    if args.config and args.preset:
        raise UsageError("give --preset or --config, not both")
    if args.config:
        config = ModelConfig.from_json(Path(args.config).read_text(encoding="utf-8"))
    else:
        config = preset(args.preset or "w8a8")
    return config.with_scope(args.scope) if getattr(args, "scope", None) else config


def load_calibration(args, loaded):
    """Calibration data: --calib NPZ, else the sample's calibration split, else None (the model
    layer then generates inputs; warned on stderr). The NPZ is read like `--data` and the app's
    upload (qviz.model.load.input_data.read_inputs_npz): "x" or the input name for a one-input model, else
    one array per input name; an optional "y" is checked and ignored; no other keys."""
    import numpy as np

    from qviz import samples

    check_data_options(args)
    if args.calib:  # any kind of data (qviz/cli/data_args.py); a .npz is read as before
        return read_data(args, loaded, "--calib", args.calib).x
    if not Path(args.model).exists() and args.model in samples.sample_ids():
        return np.asarray(samples.load_sample(args.model).calibration.x)
    print(
        "qviz: warning: no --calib data: activation ranges come from generated inputs "
        "(seeded normal values, dynamic dims = 1 or the first size the model runs on); pass --calib DATA.npz for real ranges",
        file=sys.stderr,
    )
    return None


def cmd_quantize(args) -> int:
    from qviz.model import layer_table
    from qviz.model.deploy.deployable import deploy, deploy_notes, deployable
    from qviz.model.simulate.simulator import Simulator
    from qviz.quant import SpecError

    loaded = resolve_model(args.model, args.max_model_mb)
    config = load_config(args)
    problems = deployable(config, layer_table(loaded), loaded.weights) if args.deploy else []
    if problems:  # before calibration: no warning, no work, one error line
        raise SpecError(f"{len(problems)} layer(s) have no onnxruntime form: " + "; ".join(problems))
    sim = Simulator(loaded, load_calibration(args, loaded))
    data = deploy(loaded, config, simulator=sim) if args.deploy else sim.simulate(config)
    Path(args.out).write_bytes(data)
    kind = "deployable" if args.deploy else "simulated"
    print(f"wrote {kind} model {args.out} ({len(data):,} bytes, {len(sim.layers)} layers)", file=sys.stderr)
    notes = [*sim.config_notes(config), *(f"layer {k!r}: {v}" for k, v in sim.notes.items())]
    notes += deploy_notes(config, sim.layers, loaded.model) if args.deploy else []
    for note in notes:  # what the written model does not do as asked, and why
        print(f"qviz: note: {note}", file=sys.stderr)
    if args.deploy:
        _print_kernel_report(data)
    return 0


def _print_kernel_report(data: bytes) -> None:
    """One stderr line: how many layers run integer kernels, and which quantized ones fell back."""
    from qviz.model.deploy.kernels import integer_ops_report

    report = integer_ops_report(data)
    fallback = [k for k, v in report.items() if v == "float fallback"]
    n_int = sum(v == "integer" for v in report.values())
    tail = f"; float fallback: {', '.join(fallback)}" if fallback else ""
    print(f"onnxruntime integer kernels: {n_int}/{len(report)} layers{tail}", file=sys.stderr)


def cmd_export_config(args) -> int:
    from qviz.model.deploy.ort_overrides import to_ort_overrides

    loaded = resolve_model(args.model, args.max_model_mb)
    overrides = to_ort_overrides(loaded, load_config(args))
    Path(args.ort_overrides).write_text(json.dumps(overrides, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    for note in overrides["notes"]:
        print(f"qviz: note: {note}", file=sys.stderr)
    return 0


def _config_args(p) -> None:
    model_args(p)
    p.add_argument("--preset", metavar="NAME", help="fp32, fp16, w8a8 (default), w8, w4g32, w4a8")
    p.add_argument("--config", metavar="CFG.json", help="a qviz config JSON (as the app downloads)")
    p.add_argument(
        "--scope",
        choices=("graph", "layers"),
        help="activations quantized: 'graph' = every tensor the deployed int8 model quantizes (w8a8's default), "
        "'layers' = the layers' inputs only (simulation only)",
    )


def _add_quantize(sub) -> None:
    p = sub.add_parser("quantize", help="write the simulated (default) or deployable quantized model")
    _config_args(p)
    p.add_argument("--out", metavar="OUT.onnx", required=True, help="where to write the model")
    p.add_argument("--deploy", action="store_true", help="write what onnxruntime runs natively (QDQ int8...)")
    p.add_argument(
        "--calib",
        metavar="PATH",
        help="calibration inputs: a .npz ('x' or one array per input name; optional 'y'), an image folder or .zip, "
        "or a .txt/.csv of text",
    )
    add_data_options(p)
    p.set_defaults(func=cmd_quantize)


def _add_export_config(sub) -> None:
    p = sub.add_parser("export-config", help="write the config as onnxruntime quantize_static overrides")
    _config_args(p)
    p.add_argument("--ort-overrides", metavar="OUT.json", required=True, help="where to write the JSON")
    p.set_defaults(func=cmd_export_config)


# ----- evaluate / sweep / search (qviz.evaluate) -----


def _progress(label: str):
    """A progress callback drawing a one-line bar on stderr, or None when stderr is not a terminal."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int, what: str) -> None:
        filled = int(30 * done / max(total, 1))
        end = "\n" if done >= total else ""
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total} {what[:40]:40s}{end}")
        sys.stderr.flush()

    return show


def load_eval_data(args, loaded, split: str = "test"):
    """--data NPZ (x or input names, optional y), else the sample's `split`, else generated inputs."""
    from qviz.evaluate import from_arrays, from_sample, generated

    check_data_options(args)
    if args.data:  # a .npz, an image folder or .zip, a .txt/.csv (qviz/cli/data_args.py)
        data = read_data(args, loaded, "--data", args.data)
        return from_arrays(loaded, data.x, data.y, f"file {args.data}")
    from qviz import samples

    if not Path(args.model).exists() and args.model in samples.sample_ids():
        return from_sample(samples.load_sample(args.model), split)
    print(
        "qviz: warning: no --data: generated inputs (seeded normal values, no labels): fidelity only", file=sys.stderr
    )
    return generated(loaded)


def _runner(args, split: str = "test"):
    from qviz.evaluate import make_runner
    from qviz.model.simulate.simulator import Simulator

    loaded = resolve_model(args.model, args.max_model_mb)
    data = load_eval_data(args, loaded, split)
    sim = Simulator(loaded, load_calibration(args, loaded))
    return make_runner(sim, data, output_kind=args.output_kind, memory_budget_bytes=_memory_budget(args))


def _memory_budget(args) -> int | None:
    """--memory-mb in bytes (sweep, search), None for the default (qviz.evaluate.session_cache)."""
    mb = getattr(args, "memory_mb", None)
    if mb is not None and mb < 0:
        raise UsageError(f"--memory-mb must be 0 or more; got {mb}")
    return None if mb is None else mb * 2**20


def _memory_arg(p) -> None:
    p.add_argument(
        "--memory-mb",
        type=int,
        metavar="MB",
        help="the most of the model's tensors kept between passes (default 1024); what is dropped is computed again",
    )


def _fmt(x, digits: int = 4) -> str:
    return "n/a" if x is None else (f"{x:.{digits}f}" if isinstance(x, float) else str(x))


def _g(x) -> str:
    """3 significant digits, or n/a (a KL that does not apply: output_kind.py)."""
    return "n/a" if x is None else f"{x:.3g}"


def cmd_evaluate(args) -> int:
    from qviz.evaluate import evaluate

    ev = evaluate(_runner(args), load_config(args), confusion=True if args.per_class else None)
    if args.json:
        print(json.dumps(ev.to_dict(per_class=True if args.per_class else None), indent=2, allow_nan=False))
        return 0
    f = ev.fidelity
    print(f"data      {ev.source}: {ev.n} samples")
    print(f"measure   {ev.measure}")
    print(f"accuracy  float {_fmt(ev.float_accuracy)}  quantized {_fmt(ev.accuracy)}  drop {_fmt(ev.accuracy_drop)}")
    print(
        f"fidelity  agreement {_fmt(f['agreement'])}  sqnr {f['sqnr_db']:.2f} dB  cosine {f['cosine']:.6f}  kl {_g(f['kl'])}"
    )
    for note in ev.notes:
        print(f"note      {note}")
    print(
        f"size      {ev.size.weight_bytes:,} weight bytes  {ev.size.bits_per_weight:.2f} bits/weight  ({ev.size.params:,} weights)"
    )
    return 0


def _bits(text: str) -> tuple[int, ...]:
    try:
        bits = tuple(int(b) for b in text.split(","))
    except ValueError:
        raise UsageError(f"--bits must be comma-separated integers like 2,4,8; got {text!r}") from None
    if not bits or any(not 2 <= b <= 16 for b in bits):
        raise UsageError(f"--bits must be integers in 2..16; got {text!r}")
    return bits


def cmd_sweep(args) -> int:
    from qviz.evaluate import sweep
    from qviz.model.deploy.ort_overrides import csv_cell

    bits = _bits(args.bits)
    res = sweep(
        _runner(args),
        candidates=bits,
        metric=args.metric,
        progress=_progress("sweep"),
        simulation_only=args.simulation_only,
    )
    if res.note:
        print(f"qviz: note: {res.note}", file=sys.stderr)
    if args.csv:  # layer ids come from the model: no cell may start a spreadsheet formula
        res.records.map(csv_cell).to_csv(args.csv, index=False)
        print(f"wrote {len(res.records)} rows to {args.csv}", file=sys.stderr)
    if args.json:
        print(json.dumps(res.to_dict(), indent=2, allow_nan=False))
    elif not args.csv:
        print(f"damage ({res.metric}; bigger = worse), only that layer quantized:")
        print(res.table.to_string(float_format=lambda v: f"{v:.4g}"))
    return 0


def _budget(args):
    from qviz.evaluate import Budget

    if args.budget_bytes is not None:
        return Budget("bytes", args.budget_bytes)
    if args.budget_bpw is not None:
        return Budget("bpw", args.budget_bpw)
    return Budget("latency_ms", args.budget_latency_ms)


def cmd_search(args) -> int:
    from qviz.evaluate import search

    budget = _budget(args)
    if args.max_evaluations is not None and args.max_evaluations < 1:
        raise UsageError(f"--max-evaluations must be 1 or more; got {args.max_evaluations}")
    res = search(
        _runner(args, "calibration"),
        None,
        budget,
        progress=_progress("search"),
        max_evaluations=args.max_evaluations,
        simulation_only=args.simulation_only,
    )
    if res.note:
        print(f"qviz: note: {res.note}", file=sys.stderr)
    if res.best is None:
        smallest = int(res.evaluated["weight_bytes"].min()) if len(res.evaluated) else 0
        raise ValueError(
            f"no evaluated configuration meets the budget ({budget.kind} {budget.value}); "
            f"the smallest reached {smallest:,} weight bytes"
            + ("" if args.simulation_only else " (--simulation-only also tries weights that do not deploy: 3, 2 bits)")
        )
    if args.out:
        Path(args.out).write_text(res.best["config"] + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(res.to_dict(), indent=2, allow_nan=False))
        return 0
    b = res.best
    print(
        f"best      {b['weight_bytes']:,} weight bytes  {b['bits_per_weight']:.2f} bits/weight  "
        f"{res.metric} {_fmt(b[res.metric])}  kl {_g(b['kl'])}  ({len(res.evaluated)} configs evaluated, {res.seconds:.1f} s)"
    )
    print(res.explanation[["layer", "candidate", "why"]].to_string(index=False))
    for row in res.explanation[res.explanation["simulation_only"] != ""].to_dict("records"):
        print(f"simulation only: {row['layer']} ({row['candidate']}): {row['simulation_only']}")
    for why in dict.fromkeys(w for w in res.explanation["not_searched"] if w):
        print(f"not searched (no deployable form; --simulation-only tries them): {why}")
    return 0


def _data_args(p) -> None:
    p.add_argument(
        "--data",
        metavar="PATH",
        help="a .npz (inputs 'x' or one array per input name, optional labels 'y'), an image folder or .zip "
        "(labels from class folders), or a .txt/.csv of text (text,label rows)",
    )
    p.add_argument(
        "--calib",
        metavar="PATH",
        help="calibration inputs: a .npz ('x' or one array per input name; optional 'y'), an image folder or .zip, "
        "or a .txt/.csv of text",
    )
    add_data_options(p)
    p.add_argument(
        "--output-kind",
        metavar="KIND",
        help="how outputs are compared: auto (default), classes, binary or values, optionally :AXIS (classes) "
        "and :logits or :probabilities, e.g. classes:2:logits (qviz.evaluate.output_kind)",
    )


def _add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="accuracy / fidelity / size of a config on data")
    _config_args(p)
    _data_args(p)
    p.add_argument("--json", action="store_true", help="print machine-readable JSON only")
    p.add_argument(
        "--per-class",
        action="store_true",
        help="build and print the per-class table and the confusion at any class count (default: up to 100 classes)",
    )
    p.set_defaults(func=cmd_evaluate)


def _add_sweep(sub) -> None:
    from qviz.evaluate.metric_names import RANKING_METRICS

    p = sub.add_parser("sweep", help="per-layer sensitivity: each layer alone at each bit width")
    model_args(p)
    p.add_argument(
        "--bits", default="8,4", metavar="B,B", help="bit widths (weights-only and activations-only), default 8,4"
    )
    p.add_argument("--metric", default="accuracy", choices=RANKING_METRICS)
    _data_args(p)
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print machine-readable JSON only")
    out.add_argument("--csv", metavar="OUT.csv", help="write every cell with every metric as CSV")
    _memory_arg(p)
    _simulation_only_arg(p)
    p.set_defaults(func=cmd_sweep)


def _add_search(sub) -> None:
    p = sub.add_parser("search", help="mixed-precision search under a size or latency budget")
    model_args(p)
    budget = p.add_mutually_exclusive_group(required=True)
    budget.add_argument("--budget-bytes", type=int, metavar="N", help="total weight bytes")
    budget.add_argument("--budget-bpw", type=float, metavar="X", help="bits per weight")
    budget.add_argument("--budget-latency-ms", type=float, metavar="T", help="median latency of one batch (ms)")
    _data_args(p)
    p.add_argument("--json", action="store_true", help="print machine-readable JSON only")
    p.add_argument("--out", metavar="CFG.json", help="write the best config (qviz config JSON)")
    _memory_arg(p)
    _simulation_only_arg(p)
    p.add_argument(
        "--max-evaluations",
        type=int,
        metavar="N",
        help="the most full configs evaluated (default: a quarter of layers x candidates, at least 24); "
        "past what verifying each step needs, steps follow the per-layer sensitivities",
    )
    p.set_defaults(func=cmd_search)


def _simulation_only_arg(p) -> None:
    p.add_argument(
        "--simulation-only",
        action="store_true",
        help="also try candidates with no deployable onnxruntime form (6-, 3-, 2-bit weights...): "
        "simulated only, the result names them",
    )


def cmd_dequantize(args) -> int:
    from qviz.model.load.dequantize import dequantize_model
    from qviz.model.safety import ModelError

    loaded = resolve_model(args.model, args.max_model_mb)
    out, report = dequantize_model(loaded.model)
    if not report["weights"] and not report["activation_pairs"]:
        raise ModelError("the model has no DequantizeLinear weights and no QuantizeLinear/DequantizeLinear pairs")
    data = out.SerializeToString()
    Path(args.out).write_bytes(data)
    print(
        f"wrote float model {args.out} ({len(data):,} bytes): {report['weights']} DequantizeLinear weights folded, "
        f"{report['activation_pairs']} activation QuantizeLinear/DequantizeLinear pairs removed",
        file=sys.stderr,
    )
    return 0


def _add_dequantize(sub) -> None:
    p = sub.add_parser("dequantize", help="write the float model of an already-quantized (QDQ) model")
    model_args(p)
    p.add_argument("--out", metavar="OUT.onnx", required=True, help="where to write the float model")
    p.set_defaults(func=cmd_dequantize)


def cmd_check(args) -> int:
    loaded = resolve_model(args.model, args.max_model_mb)
    config = load_config(args)
    return run_check(args, loaded, config, load_eval_data(args, loaded), load_calibration(args, loaded))


def _add_check(sub) -> None:
    p = sub.add_parser("check", help="compare the deployed model with the simulation, tensor by tensor")
    _config_args(p)
    _data_args(p)
    add_check_options(p)
    p.set_defaults(func=cmd_check)


COMMANDS = [
    _add_inspect,
    _add_quantize,
    _add_export_config,
    _add_evaluate,
    _add_sweep,
    _add_search,
    _add_dequantize,
    _add_check,
    add_app,
]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="qviz", description="See, teach and tune neural-network quantization.")
    parser.add_argument("--debug", action="store_true", help="show the traceback on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for add in COMMANDS:
        add(sub)
    return parser


def _error(message: str) -> int:
    text = " ".join(str(message).split()) or "unexpected error"
    print(f"qviz: error: {text}", file=sys.stderr)
    return EXIT_ERROR


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 2 error). Never lets a traceback escape."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv  # accepted anywhere on the line, not only before COMMAND
    argv = [a for a in argv if a != "--debug"]
    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            return _error("missing COMMAND (try: qviz inspect MODEL)")
        return args.func(args)
    except UsageError as e:
        return _error(str(e))
    except BrokenPipeError:  # `qviz inspect m --json | head`: the reader left, stay quiet
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - stops a second error at exit
        return 0
    except (ValueError, OSError) as e:  # ModelError, SpecError, unreadable files
        if debug:
            traceback.print_exc()
        return _error(str(e))
    except SystemExit as e:  # --help
        return e.code if isinstance(e.code, int) else 0
    except BaseException as e:  # noqa: BLE001 - the contract is: never a traceback
        if debug:
            traceback.print_exc()
        if isinstance(e, KeyboardInterrupt):
            return _error("interrupted")
        return _error(f"unexpected {type(e).__name__}: {e}")


if __name__ == "__main__":
    sys.exit(main())
