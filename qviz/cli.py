"""qviz command line: the same functions as the app, from a terminal.

    qviz inspect MODEL [--json]        MODEL: a .onnx path or a bundled sample id

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

EXIT_ERROR = 2


class UsageError(Exception):
    """Bad command-line usage (argparse would otherwise print usage and exit itself)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage block
        raise UsageError(message)


def resolve_model(ref: str):
    """Load MODEL: an existing path, else a bundled sample id (qviz.samples, if present)."""
    from qviz.model import ModelError, load_model

    path = Path(ref)
    if path.exists():
        return load_model(path)
    samples = _samples_module()
    if samples is not None and ref in samples.list_samples():
        return load_model(samples.load_sample(ref).model_bytes)
    raise ModelError(f"no such file or bundled sample: {ref!r}")


def _samples_module():
    try:
        import qviz.samples as samples
    except ModuleNotFoundError as e:
        if e.name != "qviz.samples":
            raise
        return None
    return samples


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


def _print_inspect_text(loaded, out) -> None:
    import pandas as pd

    from qviz.model import layer_table, layers_dataframe

    s = loaded.summary()
    print(f"model     sha256 {s['sha256'][:16]}...  {s['file_size']:,} bytes  IR {s['ir_version']}  opsets {s['opsets']}", file=out)
    print(f"params    {s['param_count']:,}", file=out)
    for kind in ("inputs", "outputs"):
        for t in s[kind]:
            print(f"{kind[:-1]:9s} {t['name']}: {t['dtype']} {t['shape']}", file=out)
    print("ops       " + ", ".join(f"{k} x{v}" for k, v in sorted(s["op_counts"].items())), file=out)
    for w in s["warnings"]:
        print(f"warning   {w}", file=out)
    layers = layer_table(loaded)
    if not layers:
        print("\nNo quantizable layers (Conv, ConvTranspose, Gemm, MatMul with a constant operand, LSTM/GRU, Attention).", file=out)
        return
    cols = ["id", "op_type", "weight_name", "weight_shape", "channel_axis", "params", "macs", "quantized"]
    with pd.option_context("display.width", 200, "display.max_rows", 10_000, "display.max_colwidth", 40):
        print(f"\n{len(layers)} quantizable layers:\n" + layers_dataframe(layers)[cols].to_string(index=False), file=out)


def cmd_inspect(args) -> int:
    loaded = resolve_model(args.model)
    if args.json:
        json.dump(inspect_report(loaded), sys.stdout, default=_json_default, indent=2)
        sys.stdout.write("\n")
    else:
        _print_inspect_text(loaded, sys.stdout)
    return 0


def _add_inspect(sub) -> None:
    p = sub.add_parser("inspect", help="summarize a model and list its quantizable layers")
    p.add_argument("model", metavar="MODEL", help="path to a .onnx file or a bundled sample id")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON only")
    p.set_defaults(func=cmd_inspect)


COMMANDS = [_add_inspect]


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
