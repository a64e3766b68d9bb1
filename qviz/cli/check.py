"""`qviz check MODEL`: the deployed model against the simulation, per tensor and end to end.

    qviz check MODEL [--preset NAME | --config CFG.json] [--data PATH] [--calib PATH] [--json]
                     [--reduce-range auto|on|off] [--all]

Prints one row per quantized tensor (worst first; failing rows only unless --all): pass/fail,
the largest difference in quantization steps, how many elements differ by more than one step,
the reason (qviz.model.deploy.tensor_check); then the end-to-end measures of the simulated and the
deployed model against the float model (qviz.evaluate.deploy_check). Exit 0 when the check ran,
whatever it found (the table says pass/fail); 2 with one error line when it could not run.
"""

from __future__ import annotations

import json

REDUCE_RANGE = {"auto": None, "on": True, "off": False}


def add_check_options(p) -> None:
    """The options of `check` besides the model, config and data ones (qviz.cli.main adds those)."""
    p.add_argument(
        "--reduce-range",
        choices=sorted(REDUCE_RANGE),
        default="auto",
        help="7-bit weight codes in the deployed model: auto (x86 without VNNI), on, off",
    )
    p.add_argument("--all", action="store_true", help="list passing tensors too (default: failing ones only)")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON only")


def run_check(args, loaded, config, data, calib) -> int:
    """Build both models, compare them, print the report (module doc)."""
    from qviz.evaluate.deploy_check import deploy_check
    from qviz.model.simulate.simulator import Simulator

    sim = Simulator(loaded, calib)
    result = deploy_check(sim, config, data, reduce_range=REDUCE_RANGE[args.reduce_range], output_kind=args.output_kind)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, allow_nan=False))
        return 0
    print(check_text(result, show_all=args.all))
    return 0


def check_text(result, show_all: bool = False) -> str:
    """The human-readable report: summary line, tensor table, end-to-end lines, notes."""
    import pandas as pd

    table = result.table()
    failed = table[~table["passed"]]
    lines = [
        f"data      {result.source}: {result.n} samples",
        f"tensors   {result.passed}/{len(table)} pass (max difference <= 1 quantization step, same grid)"
        f"  reduce_range {'on' if result.reduce_range else 'off'}",
    ]
    causes = result.causes()
    if causes:
        lines.append("causes    " + "; ".join(f"{k} x{v}" for k, v in causes.items()))
    shown = table if show_all else failed
    if len(shown):
        with pd.option_context("display.width", 220, "display.max_rows", 10_000, "display.max_colwidth", 70):
            lines.append(shown.assign(passed=shown["passed"].map({True: "pass", False: "FAIL"})).to_string(index=False))
    for way in ("simulated", "deployed"):
        lines.append(f"{way:9s} " + _end_to_end(result.end_to_end[way]))
    lines += [f"note      {n}" for n in result.notes]
    return "\n".join(lines)


def _end_to_end(m: dict) -> str:
    parts = []
    if m.get("accuracy") is not None:
        parts.append(f"accuracy {m['accuracy']:.4f} (float {m['float_accuracy']:.4f})")
    if m.get("agreement") is not None:
        parts.append(f"agreement {m['agreement']:.4f}")
    parts.append(f"sqnr {m['sqnr_db']:.2f} dB")
    return "  ".join(parts)
