"""qviz command line: the same functions as the app, from a terminal.

    qviz inspect MODEL [--json]        MODEL: a .onnx path or a bundled sample id
    qviz quantize MODEL --out OUT.onnx [--preset NAME | --config CFG.json] [--deploy] [--calib DATA.npz]
    qviz export-config MODEL [--preset NAME | --config CFG.json] --ort-overrides OUT.json
    qviz evaluate MODEL [--preset NAME | --config CFG.json] [--data DATA.npz] [--json]
    qviz sweep MODEL [--bits 2,4,8] [--data DATA.npz] [--json | --csv OUT]
    qviz search MODEL (--budget-bytes N | --budget-bpw X | --budget-latency-ms T) [--json] [--out CFG.json]
    qviz app [STREAMLIT OPTIONS...]    the app in the browser (qviz/cli/serve.py)

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

from qviz.cli.serve import add_app

EXIT_ERROR = 2


class UsageError(Exception):
    """Bad command-line usage (argparse would otherwise print usage and exit itself)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage block
        raise UsageError(message)


def resolve_model(ref: str):
    """Load MODEL: an existing path, else a bundled sample id (qviz.samples)."""
    from qviz import samples
    from qviz.model import ModelError, load_model

    path = Path(ref)
    if path.exists():
        return load_model(path)
    ids = [x.id for x in samples.list_samples()]
    if ref in ids:
        return load_model(samples.load_sample(ref).model_bytes)
    raise ModelError(f"no such file or bundled sample: {ref!r} (bundled samples: {', '.join(ids)})")


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

    layers = layer_table(loaded)
    stats = weight_stats(loaded, layers).astype(object).where(lambda d: d.notna(), None)
    return {"model": loaded.summary(), "layers": [asdict(x) for x in layers], "weight_stats": stats.to_dict("records")}


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
    lines += [f"warning   {w}" for w in s["warnings"]]
    layers = layer_table(loaded)
    if not layers:
        lines.append(
            "\nNo quantizable layers (Conv, ConvTranspose, Gemm, MatMul with a constant operand, LSTM/GRU, Attention)."
        )
        return "\n".join(lines)
    cols = ["id", "op_type", "weight_name", "weight_shape", "channel_axis", "params", "macs", "quantized"]
    with pd.option_context("display.width", 200, "display.max_rows", 10_000, "display.max_colwidth", 40):
        lines.append(f"\n{len(layers)} quantizable layers:\n" + layers_dataframe(layers)[cols].to_string(index=False))
    return "\n".join(lines)


def cmd_inspect(args) -> int:
    loaded = resolve_model(args.model)
    # NOTE: build the whole report before printing, so an error never leaves half a report.
    text = json.dumps(inspect_report(loaded), default=_json_default, indent=2) if args.json else inspect_text(loaded)
    print(text)
    return 0


def _add_inspect(sub) -> None:
    p = sub.add_parser("inspect", help="summarize a model and list its quantizable layers")
    p.add_argument("model", metavar="MODEL", help="path to a .onnx file or a bundled sample id")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON only")
    p.set_defaults(func=cmd_inspect)


def load_config(args):
    """The ModelConfig of --preset NAME or --config CFG.json (default preset w8a8)."""
    from qviz.config import ModelConfig, preset

    if args.config and args.preset:
        raise UsageError("give --preset or --config, not both")
    if args.config:
        return ModelConfig.from_json(Path(args.config).read_text(encoding="utf-8"))
    return preset(args.preset or "w8a8")


def load_calibration(args, loaded):
    """Calibration data: --calib NPZ, else the sample's calibration split, else None (the model
    layer then generates inputs; warned on stderr). The NPZ is read like `--data` and the app's
    upload (qviz.model.load.input_data.read_inputs_npz): "x" or the input name for a one-input model, else
    one array per input name; an optional "y" is checked and ignored; no other keys."""
    import numpy as np

    from qviz import samples
    from qviz.evaluate.data import read_npz_file
    from qviz.model.load.input_data import read_inputs_npz

    if args.calib:
        return read_inputs_npz(read_npz_file(args.calib), loaded.inputs, what=f"--calib {args.calib}").x
    if not Path(args.model).exists() and args.model in samples.sample_ids():
        return np.asarray(samples.load_sample(args.model).calibration.x)
    print(
        "qviz: warning: no --calib data: activation ranges come from generated inputs "
        "(seeded normal values, dynamic dims = 1); pass --calib DATA.npz for real ranges",
        file=sys.stderr,
    )
    return None


def cmd_quantize(args) -> int:
    from qviz.model import layer_table
    from qviz.model.deploy.deployable import deploy, deployable
    from qviz.model.simulate.simulator import Simulator
    from qviz.quant import SpecError

    loaded = resolve_model(args.model)
    config = load_config(args)
    problems = deployable(config, layer_table(loaded), loaded.weights) if args.deploy else []
    if problems:  # before calibration: no warning, no work, one error line
        raise SpecError(f"{len(problems)} layer(s) have no onnxruntime form: " + "; ".join(problems))
    sim = Simulator(loaded, load_calibration(args, loaded))
    data = deploy(loaded, config, simulator=sim) if args.deploy else sim.simulate(config)
    Path(args.out).write_bytes(data)
    kind = "deployable" if args.deploy else "simulated"
    print(f"wrote {kind} model {args.out} ({len(data):,} bytes, {len(sim.layers)} layers)", file=sys.stderr)
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

    loaded = resolve_model(args.model)
    overrides = to_ort_overrides(loaded, load_config(args))
    Path(args.ort_overrides).write_text(json.dumps(overrides, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    for note in overrides["notes"]:
        print(f"qviz: note: {note}", file=sys.stderr)
    return 0


def _config_args(p) -> None:
    p.add_argument("model", metavar="MODEL", help="path to a .onnx file or a bundled sample id")
    p.add_argument("--preset", metavar="NAME", help="fp32, fp16, w8a8 (default), w8, w4g32, w4a8")
    p.add_argument("--config", metavar="CFG.json", help="a qviz config JSON (as the app downloads)")


def _add_quantize(sub) -> None:
    p = sub.add_parser("quantize", help="write the simulated (default) or deployable quantized model")
    _config_args(p)
    p.add_argument("--out", metavar="OUT.onnx", required=True, help="where to write the model")
    p.add_argument("--deploy", action="store_true", help="write what onnxruntime runs natively (QDQ int8...)")
    p.add_argument(
        "--calib",
        metavar="DATA.npz",
        help="calibration inputs: 'x' (one-input model) or one array per input name; optional 'y'; no other keys",
    )
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
    from qviz.evaluate import from_npz, from_sample, generated

    if args.data:
        return from_npz(args.data, loaded)
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

    loaded = resolve_model(args.model)
    data = load_eval_data(args, loaded, split)
    return make_runner(Simulator(loaded, load_calibration(args, loaded)), data)


def _fmt(x, digits: int = 4) -> str:
    return "n/a" if x is None else (f"{x:.{digits}f}" if isinstance(x, float) else str(x))


def cmd_evaluate(args) -> int:
    from qviz.evaluate import evaluate

    ev = evaluate(_runner(args), load_config(args))
    if args.json:
        print(json.dumps(ev.to_dict(), indent=2, allow_nan=False))
        return 0
    f = ev.fidelity
    print(f"data      {ev.source}: {ev.n} samples")
    print(f"accuracy  float {_fmt(ev.float_accuracy)}  quantized {_fmt(ev.accuracy)}  drop {_fmt(ev.accuracy_drop)}")
    print(
        f"fidelity  agreement {f['agreement']:.4f}  sqnr {f['sqnr_db']:.2f} dB  cosine {f['cosine']:.6f}  kl {f['kl']:.3g}"
    )
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
    res = sweep(_runner(args), candidates=bits, metric=args.metric, progress=_progress("sweep"))
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
    res = search(_runner(args, "calibration"), None, budget, progress=_progress("search"))
    if res.best is None:
        smallest = int(res.evaluated["weight_bytes"].min()) if len(res.evaluated) else 0
        raise ValueError(
            f"no evaluated configuration meets the budget ({budget.kind} {budget.value}); "
            f"the smallest reached {smallest:,} weight bytes"
        )
    if args.out:
        Path(args.out).write_text(res.best["config"] + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(res.to_dict(), indent=2, allow_nan=False))
        return 0
    b = res.best
    print(
        f"best      {b['weight_bytes']:,} weight bytes  {b['bits_per_weight']:.2f} bits/weight  "
        f"{res.metric} {_fmt(b[res.metric])}  kl {b['kl']:.3g}  ({len(res.evaluated)} configs evaluated, {res.seconds:.1f} s)"
    )
    print(res.explanation[["layer", "candidate", "why"]].to_string(index=False))
    return 0


def _data_args(p) -> None:
    p.add_argument(
        "--data",
        metavar="DATA.npz",
        help="inputs 'x' (one-input model) or one array per input name, optional labels 'y'; no other keys",
    )
    p.add_argument(
        "--calib",
        metavar="DATA.npz",
        help="calibration inputs: 'x' (one-input model) or one array per input name; optional 'y'; no other keys",
    )


def _add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="accuracy / fidelity / size of a config on data")
    _config_args(p)
    _data_args(p)
    p.add_argument("--json", action="store_true", help="print machine-readable JSON only")
    p.set_defaults(func=cmd_evaluate)


def _add_sweep(sub) -> None:
    from qviz.evaluate.metric_names import RANKING_METRICS

    p = sub.add_parser("sweep", help="per-layer sensitivity: each layer alone at each bit width")
    p.add_argument("model", metavar="MODEL", help="path to a .onnx file or a bundled sample id")
    p.add_argument(
        "--bits", default="8,4", metavar="B,B", help="bit widths (weights-only and activations-only), default 8,4"
    )
    p.add_argument("--metric", default="accuracy", choices=RANKING_METRICS)
    _data_args(p)
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print machine-readable JSON only")
    out.add_argument("--csv", metavar="OUT.csv", help="write every cell with every metric as CSV")
    p.set_defaults(func=cmd_sweep)


def _add_search(sub) -> None:
    p = sub.add_parser("search", help="mixed-precision search under a size or latency budget")
    p.add_argument("model", metavar="MODEL", help="path to a .onnx file or a bundled sample id")
    budget = p.add_mutually_exclusive_group(required=True)
    budget.add_argument("--budget-bytes", type=int, metavar="N", help="total weight bytes")
    budget.add_argument("--budget-bpw", type=float, metavar="X", help="bits per weight")
    budget.add_argument("--budget-latency-ms", type=float, metavar="T", help="median latency of one batch (ms)")
    _data_args(p)
    p.add_argument("--json", action="store_true", help="print machine-readable JSON only")
    p.add_argument("--out", metavar="CFG.json", help="write the best config (qviz config JSON)")
    p.set_defaults(func=cmd_search)


COMMANDS = [_add_inspect, _add_quantize, _add_export_config, _add_evaluate, _add_sweep, _add_search, add_app]


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
